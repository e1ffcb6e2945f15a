// Colour the appointment-type swatches from their data-color attribute (no inline styles under the CSP).
(function () {
  "use strict";
  var COLOR = /^#[0-9a-fA-F]{6}$/;
  function paint() {
    Array.prototype.forEach.call(document.querySelectorAll(".swatch[data-color]"), function (swatch) {
      var color = swatch.getAttribute("data-color");
      if (COLOR.test(color)) { swatch.style.backgroundColor = color; }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", paint); } else { paint(); }
})();
