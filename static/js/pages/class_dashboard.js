// Class dashboard: draws the Plotly figures the server built (lessons/selectors.py::_class_figures).
function start() {
  const source = document.getElementById("class-figures");
  if (!source || !window.Plotly) return;
  const figures = JSON.parse(source.textContent);
  for (const [name, figure] of Object.entries(figures)) {
    const target = document.getElementById(`chart-${name}`);
    if (target) window.Plotly.newPlot(target, figure.data, figure.layout, { displayModeBar: false, responsive: true });
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
