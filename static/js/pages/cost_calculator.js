// Cost calculator on the "What is Serverless" lesson: Lambda's bill against always-on servers.
// Pure maths first (testable with node --test), then the DOM and the Plotly chart. No network.

export const PRICE_PER_MILLION_REQUESTS = 0.2;
export const PRICE_PER_GB_SECOND = 0.0000166667;
export const FREE_REQUESTS = 1_000_000;
export const FREE_GB_SECONDS = 400_000;
const SECONDS_PER_MONTH = 30 * 24 * 3600;
const PEAK_TO_AVERAGE = 3;

export function lambdaMonthlyCost({ requests, durationMs, memoryMb }) {
  const gbSeconds = requests * (durationMs / 1000) * (memoryMb / 1024);
  const requestCost = (Math.max(0, requests - FREE_REQUESTS) / 1_000_000) * PRICE_PER_MILLION_REQUESTS;
  const computeCost = Math.max(0, gbSeconds - FREE_GB_SECONDS) * PRICE_PER_GB_SECOND;
  return requestCost + computeCost;
}

export function serverMonthlyCost({ requests, serverCost, capacity }) {
  const peakPerSecond = (requests / SECONDS_PER_MONTH) * PEAK_TO_AVERAGE;
  return Math.max(1, Math.ceil(peakPerSecond / capacity)) * serverCost;
}

export function trafficLevels() {
  const levels = [];
  for (let exponent = 4; exponent <= 10; exponent += 0.1) levels.push(Math.round(10 ** exponent));
  return levels;
}

const money = (value) => {
  const digits = value > 0 && value < 10 ? 2 : 0;
  return `$${value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
};

function readInputs(form) {
  const number = (name, fallback) => {
    const value = Number(form.elements[name].value);
    return Number.isFinite(value) && value >= 0 ? value : fallback;
  };
  return {
    requests: number("requests", 0),
    durationMs: Math.max(1, number("duration", 100)),
    memoryMb: Math.min(10240, Math.max(128, number("memory", 128))),
    serverCost: number("server", 0),
    capacity: Math.max(1, number("capacity", 1)),
  };
}

function render(form, summary, chart) {
  const inputs = readInputs(form);
  const lambda = lambdaMonthlyCost(inputs);
  const server = serverMonthlyCost(inputs);
  const cheaper = lambda <= server ? "Lambda is cheaper" : "the servers are cheaper";
  const free = lambda === 0 ? " (all inside the free tier)" : "";
  summary.textContent = `At ${inputs.requests.toLocaleString("en-US")} requests a month: Lambda ${money(lambda)}${free}, servers ${money(server)}, so ${cheaper}.`;
  if (!window.Plotly) return;
  const x = trafficLevels();
  const traces = [
    { x, y: x.map((requests) => lambdaMonthlyCost({ ...inputs, requests })), name: "Lambda", mode: "lines" },
    { x, y: x.map((requests) => serverMonthlyCost({ ...inputs, requests })), name: "Always-on servers", mode: "lines", line: { shape: "hv" } },
    { x: [inputs.requests], y: [lambda], name: "Your traffic", mode: "markers", marker: { size: 10 } },
  ];
  const layout = {
    margin: { t: 10, r: 10, b: 50, l: 60 },
    xaxis: { type: "log", title: { text: "Requests per month" } },
    yaxis: { type: "log", title: { text: "Dollars per month" } },
    legend: { orientation: "h", y: -0.25 },
    height: 340,
  };
  window.Plotly.react(chart, traces, layout, { displayModeBar: false, responsive: true });
}

function start() {
  const form = document.getElementById("cost-form");
  const summary = document.getElementById("cost-summary");
  const chart = document.getElementById("cost-chart");
  if (!form || !summary || !chart) return;
  form.addEventListener("input", () => render(form, summary, chart));
  form.addEventListener("submit", (event) => event.preventDefault());
  render(form, summary, chart);
}

if (typeof document !== "undefined") {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}
