/* The roster page: the solver's objective-over-time chart, and editing or locking a cell of the grid.
   An edit is posted to the server, which checks it against the rules and answers with what it did or why not. */
(function () {
  "use strict";
  var chart = null;

  function drawChart() {
    var data = document.getElementById("solve-progress-data");
    var canvas = document.getElementById("solve-chart");
    if (!data || !canvas || typeof Chart === "undefined") { return; }
    var points = JSON.parse(data.textContent);
    if (chart) { chart.destroy(); }
    chart = new Chart(canvas, {
      type: "line",
      data: {
        labels: points.seconds.map(function (s) { return s.toFixed(1) + " s"; }),
        datasets: [
          { label: "Cost of the best roster", data: points.objective, borderColor: "#1f6feb", tension: 0 },
          { label: "Lower bound", data: points.bound, borderColor: "#8a8f98", borderDash: [4, 4], tension: 0 }
        ]
      },
      options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { y: { beginAtZero: false } } }
    });
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(url, fields) {
    var body = new URLSearchParams(fields);
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded" }
    });
  }

  function setupGrid() {
    var grid = document.getElementById("roster-grid");
    var editor = document.getElementById("cell-editor");
    if (!grid || !editor || grid.dataset.editable !== "1") { return; }
    var current = null;
    var select = document.getElementById("cell-editor-shift");
    var lockButton = document.getElementById("cell-editor-lock");
    var result = document.getElementById("cell-result");

    function open(cell) {
      current = cell;
      document.getElementById("cell-editor-title").textContent = cell.getAttribute("aria-label");
      select.value = cell.dataset.code;
      select.disabled = cell.dataset.locked === "1";
      document.getElementById("cell-editor-save").disabled = cell.dataset.locked === "1";
      lockButton.textContent = cell.dataset.locked === "1" ? "Unlock" : "Lock";
      editor.hidden = false;
      select.focus();
    }

    function show(response) {
      return response.text().then(function (html) {
        result.outerHTML = html;
        result = document.getElementById("cell-result");
        return response.ok;
      });
    }

    grid.addEventListener("click", function (event) {
      var cell = event.target.closest("td.cell");
      if (cell) { open(cell); }
    });
    grid.addEventListener("keydown", function (event) {
      var cell = event.target.closest("td.cell");
      if (cell && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); open(cell); }
    });
    document.getElementById("cell-editor-close").addEventListener("click", function () {
      editor.hidden = true;
      if (current) { current.focus(); }
    });
    document.getElementById("cell-editor-save").addEventListener("click", function () {
      if (!current) { return; }
      var cell = current;
      var code = select.value;
      post(grid.dataset.cellUrl, { staff: cell.dataset.staff, day: cell.dataset.day, shift: code }).then(show).then(function (ok) {
        if (ok) {
          cell.dataset.code = code;
          cell.textContent = code;
          cell.setAttribute("aria-label", cell.getAttribute("aria-label").replace(/: [^,]*$/, ": " + (code || "off")));
          editor.hidden = true;
        }
      });
    });
    lockButton.addEventListener("click", function () {
      if (!current) { return; }
      var lock = current.dataset.locked === "1" ? "0" : "1";
      post(grid.dataset.lockUrl, { staff: current.dataset.staff, day: current.dataset.day, lock: lock }).then(function (response) {
        if (response.ok) { window.location.reload(); } else { show(response); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { drawChart(); setupGrid(); });
  document.addEventListener("htmx:afterSwap", drawChart);
})();
