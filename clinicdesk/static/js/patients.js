// Patient pages: arrow keys move between the record's tabs (they are links, so Enter opens one),
// and the face sheet's Print button. No inline script: the CSP allows only files from 'self'.
(function () {
  "use strict";
  var tablist = document.querySelector("[role=tablist]");
  if (tablist) {
    tablist.addEventListener("keydown", function (event) {
      var tabs = Array.prototype.slice.call(tablist.querySelectorAll("[role=tab]"));
      var index = tabs.indexOf(document.activeElement);
      if (index < 0) { return; }
      var next = null;
      if (event.key === "ArrowRight") { next = tabs[(index + 1) % tabs.length]; }
      if (event.key === "ArrowLeft") { next = tabs[(index - 1 + tabs.length) % tabs.length]; }
      if (event.key === "Home") { next = tabs[0]; }
      if (event.key === "End") { next = tabs[tabs.length - 1]; }
      if (next) { event.preventDefault(); next.focus(); }
      if (event.key === " ") { event.preventDefault(); document.activeElement.click(); }
    });
  }
  // After a refused submit, start at the first field that needs fixing rather than the first field.
  var firstError = document.querySelector(".has-error input, .has-error select, .has-error textarea");
  if (firstError) { firstError.focus(); }
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
