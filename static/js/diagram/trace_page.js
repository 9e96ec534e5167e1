// The trace page: the trace's hops on the diagram, a replay at a chosen speed, and a plotly
// waterfall of their timing (figure built by model.waterfallFigure).
import { mountDiagram } from "./index.js";
import { replaySchedule, waterfallFigure } from "./model.js";

const hops = JSON.parse(document.getElementById("trace-hops").textContent);
const root = document.getElementById("trace-diagram");
const diagram = await mountDiagram(root);
for (const hop of hops) diagram.show(hop, { animate: false });

const figure = waterfallFigure(hops);
window.Plotly.newPlot("trace-waterfall", figure.data, figure.layout, { displayModeBar: false, responsive: true });

let timers = [];
document.getElementById("replay-controls").addEventListener("submit", (event) => {
  event.preventDefault();
  for (const timer of timers) window.clearTimeout(timer);
  const speed = Number(document.getElementById("replay-speed").value);
  timers = replaySchedule(hops, speed).map(({ at, hop }) => window.setTimeout(() => diagram.replay(hop), at));
});
