// SQS queue page: draws the depth chart from the figure the depth panel carries (json_script),
// and redraws it each time htmx swaps in a fresh panel (every few seconds while the page is open).

function draw() {
  const source = document.getElementById("depth-figure");
  const target = document.getElementById("depth-chart");
  if (!source || !target || !window.Plotly) return;
  const figure = JSON.parse(source.textContent);
  window.Plotly.react(target, figure.data, figure.layout, { displayModeBar: false, responsive: true });
}

document.body.addEventListener("htmx:afterSettle", (event) => {
  if (event.detail.elt && event.detail.elt.id === "depth-panel") draw();
});
// Plotly is loaded with `defer`, like this module; both run before DOMContentLoaded, in order.
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
else draw();
