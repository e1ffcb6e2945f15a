// Budget against actual: the month-by-month expenses as bars (actual) over a line (budget).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("budget-chart-data").textContent);
  const canvas = document.getElementById("budget-chart");
  if (!canvas || typeof Chart === "undefined") return;
  new Chart(canvas, {
    data: {
      labels: data.labels,
      datasets: [
        { type: "bar", label: "Actual expenses", data: data.actual.map(Number), backgroundColor: "#4a7bb7" },
        { type: "line", label: "Budgeted expenses", data: data.budget.map(Number), borderColor: "#c0504d", fill: false },
      ],
    },
    options: { animation: false, scales: { y: { beginAtZero: true } } },
  });
  canvas.dataset.ready = "true";
})();
