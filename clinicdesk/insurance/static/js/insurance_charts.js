// The payer scorecard's chart: figures come from the page's JSON (amounts as strings), drawn by Chart.js.
document.addEventListener("DOMContentLoaded", () => {
  const data = document.getElementById("scorecard-data");
  const canvas = document.getElementById("scorecard-chart");
  if (!data || !canvas || typeof Chart === "undefined") return;
  const figures = JSON.parse(data.textContent);
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: figures.labels,
      datasets: [
        { label: "Billed", data: figures.billed.map(Number), backgroundColor: "#6c757d" },
        { label: "Allowed", data: figures.allowed.map(Number), backgroundColor: "#0b5cad" },
        { label: "Paid", data: figures.paid.map(Number), backgroundColor: "#2e8540" },
      ],
    },
    options: { animation: false, responsive: true, scales: { y: { beginAtZero: true } } },
  });
});
