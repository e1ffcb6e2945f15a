// The flow board: htmx re-draws the board every 30 s and after each button. A refused change (400/409) comes back
// as the board with the reason on it, so it is drawn like any other answer; a refresh that lands anywhere but the
// board (the session ended and the server sent the sign-in page) reloads the page instead of drawing it inside.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "flow-board") { return; }
    var xhr = event.detail.xhr;
    if (xhr.responseURL && xhr.responseURL.indexOf("/schedule/flow") === -1) {
      event.detail.shouldSwap = false;
      window.location.reload();
      return;
    }
    if (xhr.status === 400 || xhr.status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
