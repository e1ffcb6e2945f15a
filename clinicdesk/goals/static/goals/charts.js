// Goals: each card's figure by month as bars, with its target as a line; on an objective, each key result's daily
// history as a line. The data come in one JSON script ({canvas id: {labels, values, target}}).
(function () {
  "use strict";
  const source = document.getElementById("goals-charts");
  if (!source || typeof Chart === "undefined") return;
  const charts = JSON.parse(source.textContent);
  Object.entries(charts).forEach(function ([id, data]) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    const values = data.values.map(function (v) { return v === null ? null : Number(v); });
    const datasets = [{
      type: canvas.dataset.kind === "line" ? "line" : "bar", label: canvas.getAttribute("aria-label"),
      data: values, backgroundColor: "#4a7bb7", borderColor: "#4a7bb7",
    }];
    if (data.target !== null && data.target !== undefined) {
      datasets.push({ type: "line", label: "Target", data: values.map(function () { return Number(data.target); }),
        borderColor: "#c0504d", borderDash: [6, 4], pointRadius: 0, fill: false });
    }
    new Chart(canvas, { data: { labels: data.labels, datasets: datasets },
      options: { animation: false, plugins: { legend: { display: false } } } });
    canvas.dataset.ready = "true";
  });
})();
