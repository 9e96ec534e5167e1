// The diagram's state, with no DOM: nodes, edges and the hops seen so far. Reads only the wire
// types of serverless_lab/tracing/schema.py (HopMessage, v 1) and selectors.py (Graph, v 1).

export const STATUSES = ["ok", "error", "throttled", "retried", "filtered-out", "sent-to-DLQ"];
const SERVICES = ["s3", "dynamodb", "lambda", "sqs", "sns", "logs", "sts", "events", "apigateway"];

export function edgeKey(from, to) {
  return `${from}→${to}`;
}

// "arn:aws:s3:::photos" → "s3"; "service:sts" → "sts"; "client" → "client".
export function serviceOf(nodeId) {
  if (nodeId === "client" || nodeId === "browser") return nodeId;
  if (nodeId.startsWith("service:")) return nodeId.slice("service:".length);
  const service = nodeId.split(":")[2] || "";
  return SERVICES.includes(service) ? service : "other";
}

// The short name a student recognises: the bucket, table, function, queue or topic name.
export function labelOf(nodeId) {
  if (nodeId === "client") return "Your code";
  if (nodeId === "browser") return "Browser";
  if (nodeId.startsWith("service:")) return nodeId.slice("service:".length).toUpperCase();
  const resource = nodeId.split(":").slice(5).join(":");
  if (resource.startsWith("table/")) return resource.slice("table/".length);
  if (resource.startsWith("function:")) return resource.slice("function:".length);
  if (resource.startsWith("log-group:")) return resource.slice("log-group:".length);
  return resource || nodeId;
}

export function statusOf(hop) {
  return STATUSES.includes(hop.status) ? hop.status : "error";
}

// `focus` (service names, e.g. ["s3"]): a lesson's diagram of one service. Its graph comes
// focused from the server; hops that touch none of those services are skipped.
export function createModel(graph = { nodes: [], edges: [] }, { focus = [] } = {}) {
  const state = { nodes: new Map(), edges: new Map(), hops: [], seen: new Set(), lastSeq: 0, focus: new Set(focus) };
  for (const node of graph.nodes || []) {
    state.nodes.set(node.id, { id: node.id, label: node.label || labelOf(node.id), service: node.service || serviceOf(node.id) });
  }
  for (const edge of graph.edges || []) addEdge(state, edge.from_node, edge.to_node, edge.label || "", false);
  return state;
}

function addNode(state, id) {
  if (state.nodes.has(id)) return false;
  state.nodes.set(id, { id, label: labelOf(id), service: serviceOf(id) });
  return true;
}

function addEdge(state, from, to, label, observed) {
  const key = edgeKey(from, to);
  if (state.edges.has(key)) return false;
  state.edges.set(key, { key, from, to, label, observed });
  return true;
}

// Apply one hop message. Returns what the view should do, or null for a duplicate or a message
// that is not a hop (a reconnect's catch-up can overlap the live stream).
export function applyHop(state, hop, { maxHops = 500 } = {}) {
  if (!hop || hop.type !== "trace.hop" || hop.v !== 1 || state.seen.has(hop.seq)) return null;
  state.lastSeq = Math.max(state.lastSeq, hop.seq);
  if (!inFocus(state, hop)) return null;
  state.seen.add(hop.seq);
  const addedNodes = [hop.from_node, hop.to_node].filter((id) => addNode(state, id));
  const addedEdge = addEdge(state, hop.from_node, hop.to_node, "", true);
  state.hops.push(hop);
  state.hops.sort((a, b) => a.seq - b.seq);
  while (state.hops.length > maxHops) state.seen.delete(state.hops.shift().seq);
  return {
    hop,
    edge: edgeKey(hop.from_node, hop.to_node),
    status: statusOf(hop),
    topologyChanged: addedNodes.length > 0 || addedEdge,
  };
}

export function inFocus(state, hop) {
  if (!state.focus || state.focus.size === 0) return true;
  return state.focus.has(serviceOf(hop.from_node)) || state.focus.has(serviceOf(hop.to_node));
}

// The catch-up URL's query after the newest hop this page has seen.
export function catchUpQuery(state) {
  return `after=${state.lastSeq}`;
}

// Replay: when (ms after pressing play) each hop of a trace fires at `speed`x. Gaps keep their
// proportions, but no gap is shorter than minGapMs (so hops stay distinguishable) or longer
// than maxGapMs (so a long wait does not look like nothing happens).
export function replaySchedule(hops, speed = 1, { minGapMs = 250, maxGapMs = 3000 } = {}) {
  const ordered = [...hops].sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at) || a.seq - b.seq);
  const schedule = [];
  let at = 0;
  let previous = null;
  for (const hop of ordered) {
    if (previous !== null) {
      const gap = (Date.parse(hop.started_at) - Date.parse(previous.started_at)) / Math.max(speed, 0.01);
      at += Math.min(Math.max(gap, minGapMs / Math.max(speed, 0.01)), maxGapMs);
    }
    schedule.push({ at, hop });
    previous = hop;
  }
  return schedule;
}

export const STATUS_COLOURS = {
  ok: "#16a34a",
  error: "#dc2626",
  throttled: "#d97706",
  retried: "#7c3aed",
  "filtered-out": "#64748b",
  "sent-to-DLQ": "#be185d",
};

// A plotly figure (data + layout) of a trace's hops as a waterfall: one bar per hop, starting
// at its offset from the trace's first hop and as long as its duration, like X-Ray's timeline.
export function waterfallFigure(hops) {
  const ordered = [...hops].sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at) || a.seq - b.seq);
  const origin = ordered.length ? Date.parse(ordered[0].started_at) : 0;
  const labels = ordered.map((hop, index) => `${index + 1}. ${hop.action} → ${labelOf(hop.to_node)}`);
  const data = [
    {
      type: "bar",
      orientation: "h",
      y: labels,
      base: ordered.map((hop) => Date.parse(hop.started_at) - origin),
      x: ordered.map((hop) => Math.max(hop.duration_ms, 0.5)),
      marker: { color: ordered.map((hop) => STATUS_COLOURS[statusOf(hop)]) },
      text: ordered.map((hop) => `${hop.duration_ms.toFixed(1)} ms · ${hop.status}`),
      textposition: "outside",
      hovertemplate: "%{y}<br>starts at %{base:.1f} ms<br>%{text}<extra></extra>",
    },
  ];
  const layout = {
    xaxis: { title: { text: "ms since the trace began" }, rangemode: "tozero", zeroline: true },
    yaxis: { autorange: "reversed", automargin: true },
    margin: { l: 10, r: 80, t: 10, b: 50 },
    height: Math.max(160, 48 + ordered.length * 34),
    bargap: 0.35,
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
  };
  return { data, layout };
}

// Services whose resources the server's graph lists: a node of theirs missing from a fresh graph
// was deleted. Nodes of other services exist only because hops reached them, so they stay.
const GRAPHED = new Set(["s3", "dynamodb", "lambda", "sqs", "sns"]);

function topology(state) {
  return [...state.nodes.keys(), ...state.edges.keys()].sort().join("|");
}

// A fresh graph from the server (resources or integrations changed) replaces the configured
// nodes and edges; an observed edge stays unless one of its ends was deleted. Returns whether
// the topology changed (then the view lays out again).
export function mergeGraph(state, graph) {
  const before = topology(state);
  const fresh = createModel(graph);
  const deleted = (id) => !fresh.nodes.has(id) && GRAPHED.has(serviceOf(id));
  for (const edge of state.edges.values()) {
    if (!edge.observed || fresh.edges.has(edge.key) || deleted(edge.from) || deleted(edge.to)) continue;
    for (const end of [edge.from, edge.to]) if (!fresh.nodes.has(end)) fresh.nodes.set(end, state.nodes.get(end));
    fresh.edges.set(edge.key, edge);
  }
  state.nodes = fresh.nodes;
  state.edges = fresh.edges;
  return topology(state) !== before;
}

// Dragged positions, kept per sandbox (and focus) in the browser's localStorage: the text
// stored is {"<node id>": [x, y]}. Anything malformed reads as nothing saved.
export function positionsKey(sandboxId, focus = []) {
  return `lab.diagram.positions.${sandboxId}.${[...focus].sort().join(",") || "all"}`;
}

export function parsePositions(text) {
  const positions = new Map();
  let saved = null;
  try {
    saved = JSON.parse(text || "null");
  } catch {
    return positions;
  }
  if (!saved || typeof saved !== "object" || Array.isArray(saved)) return positions;
  for (const [id, point] of Object.entries(saved)) {
    if (Array.isArray(point) && point.length === 2 && point.every(Number.isFinite)) positions.set(id, { x: point[0], y: point[1] });
  }
  return positions;
}

export function serializePositions(positions, ids) {
  const saved = {};
  for (const id of ids) {
    const point = positions.get(id);
    if (point) saved[id] = [Math.round(point.x), Math.round(point.y)];
  }
  return JSON.stringify(saved);
}

// Operations after which the server's graph may differ (a resource or an integration changed).
export function changesTopology(action) {
  const operation = action.split(":")[1] || "";
  return /^(Create|Delete|Put.*Notification|Subscribe|Unsubscribe|Update.*EventSource|TagResource$)/.test(operation);
}
