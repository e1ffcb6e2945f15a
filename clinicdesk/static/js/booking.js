// Online booking page: choosing a kind of visit or a provider shows the free times at once (the button
// does the same without JavaScript).
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-auto-submit]");
    if (!form) { return; }
    form.addEventListener("change", function (event) {
      if (event.target.tagName === "SELECT" && form.querySelector("select[name=type]").value) {
        form.submit();
      }
    });
  });
})();
