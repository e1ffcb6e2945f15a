// The budget grid: arrow keys move between cells like a spreadsheet (Tab and Shift+Tab work as usual).
(function () {
  "use strict";
  const table = document.getElementById("budget-grid");
  if (!table) return;
  table.addEventListener("keydown", function (event) {
    const input = event.target;
    if (input.tagName !== "INPUT") return;
    const cell = input.closest("td");
    const row = cell.parentElement;
    const column = Array.prototype.indexOf.call(row.children, cell);
    let target = null;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const next = event.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
      target = next && next.children[column] && next.children[column].querySelector("input");
    } else if ((event.key === "ArrowRight" && input.selectionStart === input.value.length) ||
               (event.key === "ArrowLeft" && input.selectionStart === 0)) {
      const next = event.key === "ArrowRight" ? cell.nextElementSibling : cell.previousElementSibling;
      target = next && next.querySelector("input");
    }
    if (target) {
      event.preventDefault();
      target.focus();
      target.select();
    }
  });
})();
