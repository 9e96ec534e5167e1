// The SVG view of the diagram model: nodes with service icons, edges, tokens and pulses.
// The only module that touches SVG. Layout comes from dagre (vendored), positions from dragging.
import { layout as dagreLayout, graphlib } from "../../vendor/dagre-3.1.3.esm.js";

import { STATUS_COLOURS } from "./model.js";

const SVG = "http://www.w3.org/2000/svg";
const NODE_W = 168;
const NODE_H = 56;
const PAD = 24;
const TOKEN_MS = 900;

// AWS architecture-icon colours per category: compute orange, storage green, database blue,
// application integration pink, management purple, security red.
const SERVICE_STYLE = {
  client: { colour: "#334155", name: "boto3 · AWS CLI" },
  browser: { colour: "#334155", name: "Browser" },
  s3: { colour: "#3f8624", name: "S3 bucket" },
  dynamodb: { colour: "#3b48cc", name: "DynamoDB table" },
  lambda: { colour: "#d45b07", name: "Lambda function" },
  sqs: { colour: "#c7136f", name: "SQS queue" },
  sns: { colour: "#c7136f", name: "SNS topic" },
  events: { colour: "#c7136f", name: "EventBridge" },
  apigateway: { colour: "#7c3aed", name: "API Gateway" },
  logs: { colour: "#7c3aed", name: "CloudWatch Logs" },
  sts: { colour: "#b91c1c", name: "STS" },
  other: { colour: "#475569", name: "Service" },
};

// Each icon is drawn in a 24×24 box, white on the service colour.
const ICONS = {
  client: [["rect", { x: 4, y: 5, width: 16, height: 11, rx: 1.5 }], ["path", { d: "M2 19h20" }]],
  browser: [["rect", { x: 3, y: 4, width: 18, height: 16, rx: 2 }], ["path", { d: "M3 9h18" }]],
  s3: [["path", { d: "M4 6h16l-2 13H6z" }], ["ellipse", { cx: 12, cy: 6, rx: 8, ry: 2.5 }]],
  dynamodb: [["ellipse", { cx: 12, cy: 6, rx: 7, ry: 2.5 }], ["path", { d: "M5 6v12c0 1.4 3.1 2.5 7 2.5s7-1.1 7-2.5V6M5 12c0 1.4 3.1 2.5 7 2.5s7-1.1 7-2.5" }]],
  lambda: [["path", { d: "M6 4h4l8 16M11.5 10L6 20" }]],
  sqs: [["rect", { x: 3, y: 8, width: 5, height: 8, rx: 1 }], ["rect", { x: 9.5, y: 8, width: 5, height: 8, rx: 1 }], ["rect", { x: 16, y: 8, width: 5, height: 8, rx: 1 }]],
  sns: [["circle", { cx: 6, cy: 12, r: 2.5 }], ["path", { d: "M9 10l9-5M9 12h10M9 14l9 5" }]],
  logs: [["rect", { x: 5, y: 3, width: 14, height: 18, rx: 2 }], ["path", { d: "M8 8h8M8 12h8M8 16h5" }]],
  sts: [["circle", { cx: 8, cy: 12, r: 4 }], ["path", { d: "M12 12h9M18 12v3M21 12v3" }]],
  events: [["path", { d: "M12 3l8 9-8 9-8-9z" }]],
  apigateway: [["path", { d: "M4 6h6v12H4zM14 6h6v12h-6M10 12h4" }]],
  other: [["circle", { cx: 12, cy: 12, r: 7 }]],
};

function el(name, attributes = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (parent) parent.append(node);
  return node;
}

function shorten(text, max) {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

// Where the segment from the centre of a node towards (tx, ty) leaves its rectangle.
function border(position, tx, ty) {
  const dx = tx - position.x;
  const dy = ty - position.y;
  if (dx === 0 && dy === 0) return { x: position.x, y: position.y };
  const scale = Math.min(NODE_W / 2 / Math.abs(dx || 1e-9), NODE_H / 2 / Math.abs(dy || 1e-9));
  return { x: position.x + dx * Math.min(scale, 1), y: position.y + dy * Math.min(scale, 1) };
}

// `saved`: positions dragged earlier (id → {x, y}); they stay put through every layout.
// `onDragged(positions, pinned)` after each drag, to keep them.
export function createDiagram(container, state, { reducedMotion = false, onNodeSelect = null, saved = new Map(), onDragged = null } = {}) {
  const svg = el("svg", { class: "dg-svg", role: "img", "aria-label": "Architecture diagram of this sandbox" });
  const defs = el("defs", {}, svg);
  const marker = el("marker", { id: `dg-arrow-${Math.random().toString(36).slice(2)}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
  el("path", { d: "M0 0L10 5L0 10z", class: "dg-arrowhead" }, marker);
  const edgeLayer = el("g", { class: "dg-edges" }, svg);
  const nodeLayer = el("g", { class: "dg-nodes" }, svg);
  const tokenLayer = el("g", { class: "dg-tokens" }, svg);
  container.replaceChildren(svg);

  const positions = new Map(saved);
  const pinned = new Set(saved.keys());
  const nodeViews = new Map();
  const edgeViews = new Map();

  function layout() {
    const graph = new graphlib.Graph();
    graph.setGraph({ rankdir: "LR", nodesep: 28, ranksep: 150, marginx: PAD, marginy: PAD });
    graph.setDefaultEdgeLabel(() => ({}));
    for (const id of state.nodes.keys()) graph.setNode(id, { width: NODE_W, height: NODE_H });
    for (const edge of state.edges.values()) graph.setEdge(edge.from, edge.to);
    dagreLayout(graph);
    for (const id of graph.nodes()) {
      if (!pinned.has(id) || !positions.has(id)) positions.set(id, { x: graph.node(id).x, y: graph.node(id).y });
    }
    // A dragged node keeps its place while it is gone (a deleted bucket made again comes back there).
    for (const id of [...positions.keys()]) if (!state.nodes.has(id) && !pinned.has(id)) positions.delete(id);
    draw();
  }

  // Forget every dragged position and lay the graph out afresh.
  function resetLayout() {
    pinned.clear();
    positions.clear();
    layout();
  }

  function fitViewBox() {
    const shown = [...state.nodes.keys()].map((id) => positions.get(id)).filter(Boolean);
    if (shown.length === 0) return;
    const xs = shown.map((p) => p.x);
    const ys = shown.map((p) => p.y);
    const minX = Math.min(...xs) - NODE_W / 2 - PAD;
    const minY = Math.min(...ys) - NODE_H / 2 - PAD;
    const width = Math.max(...xs) - Math.min(...xs) + NODE_W + 2 * PAD;
    const height = Math.max(...ys) - Math.min(...ys) + NODE_H + 2 * PAD;
    svg.setAttribute("viewBox", `${minX} ${minY} ${width} ${height}`);
    svg.style.aspectRatio = `${width} / ${height}`;
    svg.style.maxHeight = `${Math.min(height, 560)}px`;
  }

  function edgePath(edge) {
    const from = positions.get(edge.from);
    const to = positions.get(edge.to);
    if (!from || !to) return "";
    const start = border(from, to.x, to.y);
    const end = border(to, from.x, from.y);
    const bend = Math.max(24, Math.abs(end.x - start.x) / 2);
    const direction = end.x >= start.x ? 1 : -1;
    return `M${start.x} ${start.y} C${start.x + bend * direction} ${start.y} ${end.x - bend * direction} ${end.y} ${end.x} ${end.y}`;
  }

  function drawEdge(edge) {
    let view = edgeViews.get(edge.key);
    if (!view) {
      const group = el("g", { class: `dg-edge${edge.observed ? " dg-edge-observed" : ""}`, "data-edge": edge.key }, edgeLayer);
      const path = el("path", { class: "dg-edge-line", "marker-end": `url(#${marker.id})` }, group);
      const label = el("text", { class: "dg-edge-label", "text-anchor": "middle" }, group);
      label.textContent = shorten(edge.label || "", 34);
      view = { group, path, label };
      edgeViews.set(edge.key, view);
    }
    view.path.setAttribute("d", edgePath(edge));
    if (edge.label && view.path.getTotalLength) {
      const length = view.path.getTotalLength();
      if (length > 0) {
        const middle = view.path.getPointAtLength(length / 2);
        view.label.setAttribute("x", middle.x);
        view.label.setAttribute("y", middle.y - 6);
      }
    }
  }

  function drawNode(node) {
    let view = nodeViews.get(node.id);
    if (!view) {
      const style = SERVICE_STYLE[node.service] || SERVICE_STYLE.other;
      const group = el("g", { class: `dg-node dg-service-${node.service}`, "data-node": node.id, tabindex: 0 }, nodeLayer);
      const title = el("title", {}, group);
      title.textContent = `${style.name}: ${node.id}`;
      el("rect", { class: "dg-node-box", x: -NODE_W / 2, y: -NODE_H / 2, width: NODE_W, height: NODE_H, rx: 10 }, group);
      el("rect", { class: "dg-node-icon-bg", x: -NODE_W / 2 + 10, y: -16, width: 32, height: 32, rx: 7, fill: style.colour }, group);
      const icon = el("g", { class: "dg-node-icon", transform: `translate(${-NODE_W / 2 + 14} -12)` }, group);
      for (const [shape, attributes] of ICONS[node.service] || ICONS.other) el(shape, attributes, icon);
      const name = el("text", { class: "dg-node-label", x: -NODE_W / 2 + 52, y: -3 }, group);
      name.textContent = shorten(node.label, 15);
      const kind = el("text", { class: "dg-node-kind", x: -NODE_W / 2 + 52, y: 14 }, group);
      kind.textContent = node.id.startsWith("service:") ? "AWS service" : style.name;
      makeDraggable(group, node.id);
      view = { group };
      nodeViews.set(node.id, view);
    }
    const position = positions.get(node.id);
    if (position) view.group.setAttribute("transform", `translate(${position.x} ${position.y})`);
  }

  function draw() {
    for (const [id, view] of nodeViews) if (!state.nodes.has(id)) { view.group.remove(); nodeViews.delete(id); }
    for (const [key, view] of edgeViews) if (!state.edges.has(key)) { view.group.remove(); edgeViews.delete(key); }
    for (const node of state.nodes.values()) drawNode(node);
    for (const edge of state.edges.values()) drawEdge(edge);
    fitViewBox();
  }

  function makeDraggable(group, id) {
    let drag = null;
    group.addEventListener("pointerdown", (event) => {
      const matrix = svg.getScreenCTM()?.inverse();
      if (!matrix) return;
      const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix);
      const position = positions.get(id);
      drag = { dx: point.x - position.x, dy: point.y - position.y, moved: false, matrix };
      group.setPointerCapture(event.pointerId);
      group.classList.add("dg-dragging");
    });
    group.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(drag.matrix);
      positions.set(id, { x: point.x - drag.dx, y: point.y - drag.dy });
      drag.moved = true;
      pinned.add(id);
      drawNode(state.nodes.get(id));
      for (const edge of state.edges.values()) if (edge.from === id || edge.to === id) drawEdge(edge);
    });
    const end = () => {
      if (!drag) return;
      const wasClick = !drag.moved;
      drag = null;
      group.classList.remove("dg-dragging");
      if (wasClick && onNodeSelect) onNodeSelect(id);
      if (!wasClick) {
        fitViewBox();
        onDragged?.(positions, pinned);
      }
    };
    group.addEventListener("pointerup", end);
    group.addEventListener("pointercancel", end);
  }

  function pulse(nodeId, status) {
    const view = nodeViews.get(nodeId);
    if (!view) return;
    const box = view.group.querySelector(".dg-node-box");
    view.group.classList.remove("dg-pulse");
    box.style.setProperty("--dg-pulse", STATUS_COLOURS[status]);
    void view.group.getBBox();  // restart the CSS animation
    view.group.classList.add("dg-pulse");
    window.setTimeout(() => view.group.classList.remove("dg-pulse"), 900);
  }

  // A token travels the edge: a dot for ok, a ring for retried, a diamond for a DLQ move; a
  // throttled call bounces back halfway, a filtered-out delivery fades out halfway, an error
  // ends in a cross. The edge flashes in the status colour meanwhile.
  function animateHop(effect) {
    const { hop, status } = effect;
    const colour = STATUS_COLOURS[status];
    const view = edgeViews.get(effect.edge);
    if (!view || hop.from_node === hop.to_node) {
      pulse(hop.to_node, status);
      return Promise.resolve();
    }
    view.group.classList.add("dg-edge-active");
    view.group.style.setProperty("--dg-flash", colour);
    const token = status === "sent-to-DLQ"
      ? el("rect", { width: 12, height: 12, x: -6, y: -6, transform: "rotate(45)", fill: colour }, el("g", { class: "dg-token" }, tokenLayer)).parentNode
      : el("circle", { r: 7, class: "dg-token", fill: status === "retried" || status === "filtered-out" ? "#ffffff" : colour, stroke: colour, "stroke-width": 3 }, tokenLayer);
    token.dataset.status = status;
    token.dataset.edge = effect.edge;
    const length = view.path.getTotalLength();
    const duration = reducedMotion ? 1 : TOKEN_MS;
    const started = performance.now();
    return new Promise((resolve) => {
      function frame(now) {
        const t = Math.min((now - started) / duration, 1);
        let along = t;
        if (status === "throttled") along = t < 0.5 ? t : 1 - t;  // out to the middle, then back
        if (status === "filtered-out") { along = t * 0.6; token.setAttribute("opacity", String(1 - t)); }
        const point = view.path.getPointAtLength(length * along);
        token.setAttribute("transform", `translate(${point.x} ${point.y})${status === "sent-to-DLQ" ? " rotate(45)" : ""}`);
        if (t < 1) {
          window.requestAnimationFrame(frame);
          return;
        }
        token.remove();
        view.group.classList.remove("dg-edge-active");
        if (status === "error") cross(positions.get(hop.to_node), colour);
        pulse(status === "throttled" ? hop.from_node : hop.to_node, status);
        resolve();
      }
      window.requestAnimationFrame(frame);
    });
  }

  function cross(position, colour) {
    if (!position) return;
    const mark = el("path", { class: "dg-cross", d: "M-7 -7L7 7M7 -7L-7 7", stroke: colour, transform: `translate(${position.x - NODE_W / 2} ${position.y - NODE_H / 2})` }, tokenLayer);
    window.setTimeout(() => mark.remove(), 1200);
  }

  layout();
  return { layout, resetLayout, draw, animateHop, pulse, positions };
}
