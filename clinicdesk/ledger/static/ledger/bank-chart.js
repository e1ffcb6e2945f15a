// A bank account's book balance at each month's end over the last twelve months.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("bank-chart-data").textContent);
  const canvas = document.getElementById("bank-chart");
  if (!canvas || typeof Chart === "undefined") return;
  new Chart(canvas, {
    type: "line",
    data: {
      labels: data.labels,
      datasets: [{ label: "Book balance at month end", data: data.balance.map(Number), borderColor: "#4a7bb7", fill: false }],
    },
    options: { animation: false },
  });
  canvas.dataset.ready = "true";
})();
