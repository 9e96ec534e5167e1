// The DynamoDB latency page: draws the server-built plotly figure (p50/p99 per operation).
const target = document.getElementById("latency-chart");
const source = document.getElementById("latency-figure");

function draw() {
  const figure = JSON.parse(source.textContent);
  window.Plotly.newPlot(target, figure.data, figure.layout, { displayModeBar: false, responsive: true });
}

if (target && source) {
  if (window.Plotly) draw();
  else window.addEventListener("load", draw, { once: true });
}
