// clinicdesk page behaviour: the patient search shortcut, arrow keys in suggestions, CSRF for htmx, idle warning.
(function () {
  "use strict";
  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) { event.detail.headers["X-CSRFToken"] = token; }
  });

  var box = document.getElementById("patient-search-box");
  var list = document.getElementById("patient-suggestions");
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    var typing = tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable;
    if (box && !typing && (event.key === "/" || (event.key === "k" && (event.ctrlKey || event.metaKey)))) {
      event.preventDefault();
      box.focus();
      box.select();
    }
    if (box && event.key === "Escape" && list && (document.activeElement === box || list.contains(document.activeElement))) {
      list.innerHTML = "";
      box.focus();
    }
  });
  if (box && list) {
    box.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        var first = list.querySelector("a");
        if (first) { event.preventDefault(); first.focus(); }
      }
    });
    list.addEventListener("keydown", function (event) {
      var links = Array.prototype.slice.call(list.querySelectorAll("a"));
      var index = links.indexOf(document.activeElement);
      if (event.key === "ArrowDown" && index < links.length - 1) { event.preventDefault(); links[index + 1].focus(); }
      if (event.key === "ArrowUp") { event.preventDefault(); (index > 0 ? links[index - 1] : box).focus(); }
    });
  }

  // Warn a minute before the idle timeout signs the user out; the server enforces it either way.
  var minutes = parseInt(document.body.getAttribute("data-idle-minutes") || "0", 10);
  if (minutes > 0) {
    var warnAt = Math.max(minutes - 1, 0.5) * 60 * 1000;
    var timer = null;
    var reset = function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(function () {
        document.title = "Still there? · " + document.title.replace(/^Still there\? · /, "");
      }, warnAt);
    };
    ["keydown", "click"].forEach(function (name) { document.addEventListener(name, reset, { passive: true }); });
    reset();
  }
})();
