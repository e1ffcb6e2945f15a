// Training compliance by department: percentages from the page's JSON, drawn by Chart.js.
document.addEventListener("DOMContentLoaded", () => {
  const data = document.getElementById("training-compliance-data");
  const canvas = document.getElementById("training-compliance-chart");
  if (!data || !canvas || typeof Chart === "undefined") return;
  const figures = JSON.parse(data.textContent);
  canvas.chart = new Chart(canvas, {
    type: "bar",
    data: {
      labels: figures.labels,
      datasets: [{ label: "Compliant (%)", data: figures.percent.map(Number), backgroundColor: "#2e8540" }],
    },
    options: { animation: false, responsive: true, scales: { y: { beginAtZero: true, max: 100 } } },
  });
});
