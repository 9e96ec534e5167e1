// Lambda monitoring tab: draws the plotly figures the server computed (json_script #monitoring-figures)
// and redraws them in place each time htmx swaps in fresh #monitoring-data (it polls every 3 s).

const CHARTS = ["invocations", "sources", "duration", "concurrency", "cold"];
const CONFIG = { responsive: true, displayModeBar: false };

function draw() {
  const source = document.getElementById("monitoring-figures");
  if (!source || !window.Plotly) return;
  const figures = JSON.parse(source.textContent);
  for (const name of CHARTS) {
    const target = document.getElementById(`chart-${name}`);
    if (target && figures[name]) window.Plotly.react(target, figures[name].data, figures[name].layout, CONFIG);
  }
}

draw();
document.body.addEventListener("htmx:afterSettle", draw);
