// The charges-against-payments chart: figures come from the page's JSON (strings of cents), drawn by Chart.js.
document.addEventListener("DOMContentLoaded", () => {
  const data = document.getElementById("charges-payments-data");
  const canvas = document.getElementById("charges-payments-chart");
  if (!data || !canvas || typeof Chart === "undefined") return;
  const figures = JSON.parse(data.textContent);
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: figures.labels,
      datasets: [
        { label: "Charges", data: figures.charges.map(Number), backgroundColor: "#0b5cad" },
        { label: "Payments", data: figures.payments.map(Number), backgroundColor: "#2e8540" },
      ],
    },
    options: { animation: false, responsive: true, scales: { y: { beginAtZero: true } } },
  });
});
