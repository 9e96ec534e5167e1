// Auto-scaling demo: draws the burst's figure (built by lessons/selectors.py::scaling_figure) when
// the htmx result fragment arrives. The figure comes in through json_script, never string-built.

function draw(root) {
  const chart = root.querySelector?.("[data-scaling-chart]");
  const source = document.getElementById("scaling-figure");
  if (!chart || !source || !window.Plotly) return;
  const figure = JSON.parse(source.textContent);
  window.Plotly.newPlot(chart, figure.data, figure.layout, { displayModeBar: false, responsive: true });
}

document.addEventListener("htmx:load", (event) => draw(event.detail.elt));
