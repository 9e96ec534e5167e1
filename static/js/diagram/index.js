// The live diagram block: boots from a root element's data attributes, draws the sandbox's graph,
// animates each trace.hop message, keeps a hop log, and catches up after a reconnect.
//
//   <section data-diagram data-graph-url=… data-hops-url=… data-trace-url=…/traces/{id}/
//            data-sandbox=<id> data-focus="s3,lambda">   (focus: optional, a lesson's service)
//     <div data-diagram-canvas></div> <ol data-hop-log></ol> <div data-hop-details hidden></div>
//     <button data-diagram-reset>   (optional: forget dragged positions)
//   </section>
//
// Dragged positions persist in localStorage per sandbox and focus (model.positionsKey), so a
// reload keeps the student's arrangement; they stay in that browser.
//
// mountDiagram(root) resolves to { handleMessage(message), catchUp(), show(hop), replay(hop) }: the
// page that owns the socket feeds it messages and calls catchUp() on each (re)connect.
import {
  applyHop, catchUpQuery, changesTopology, createModel, mergeGraph, parsePositions, positionsKey, serializePositions,
} from "./model.js";
import { createHopLog } from "./log.js";
import { createDiagram } from "./render.js";

const RELOAD_DEBOUNCE_MS = 400;

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

// localStorage can be missing or refuse (private browsing, full): positions are a nicety.
function storage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export async function mountDiagram(root) {
  const canvas = root.querySelector("[data-diagram-canvas]");
  const list = root.querySelector("[data-hop-log]");
  const details = root.querySelector("[data-hop-details]");
  const traceUrl = root.dataset.traceUrl ? (id) => root.dataset.traceUrl.replace("{id}", encodeURIComponent(id)) : null;
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const focus = (root.dataset.focus || "").split(",").filter(Boolean);
  const state = createModel(await getJson(root.dataset.graphUrl), { focus });
  const log = list ? createHopLog(list, details, { traceUrl }) : null;
  const key = root.dataset.sandbox ? positionsKey(root.dataset.sandbox, focus) : null;
  let saved = new Map();
  try {
    saved = key ? parsePositions(storage()?.getItem(key)) : saved;
  } catch {
    saved = new Map();
  }
  const view = createDiagram(canvas, state, {
    reducedMotion,
    saved,
    onDragged(positions, pinned) {
      try {
        if (key) storage()?.setItem(key, serializePositions(positions, pinned));
      } catch (error) {
        console.warn("could not keep the diagram's positions", error);
      }
    },
    onNodeSelect(id) {
      const newest = [...state.hops].reverse().find((hop) => hop.to_node === id || hop.from_node === id);
      if (newest && log) log.select(newest.seq);
    },
  });
  root.querySelector("[data-diagram-reset]")?.addEventListener("click", () => {
    try {
      if (key) storage()?.removeItem(key);
    } catch {
      // nothing saved to forget
    }
    view.resetLayout();
  });
  const emptyNote = root.querySelector("[data-diagram-empty]");
  // Only the client on the canvas: say what would appear there.
  function noteIfEmpty() {
    if (emptyNote) emptyNote.hidden = [...state.nodes.values()].some((node) => node.service !== "client");
  }
  noteIfEmpty();
  let reloadTimer = null;
  let catchingUp = null;

  function reloadGraphSoon() {
    window.clearTimeout(reloadTimer);
    reloadTimer = window.setTimeout(async () => {
      try {
        if (mergeGraph(state, await getJson(root.dataset.graphUrl))) view.layout();
        noteIfEmpty();
      } catch (error) {
        console.warn("could not reload the diagram", error);
      }
    }, RELOAD_DEBOUNCE_MS);
  }

  function show(message, { animate = true } = {}) {
    const effect = applyHop(state, message);
    if (!effect) return;
    if (effect.topologyChanged) {
      view.layout();
      noteIfEmpty();
    }
    log?.add(message);
    if (animate) view.animateHop(effect);
    if (changesTopology(message.action) && message.status === "ok") reloadGraphSoon();
  }

  // Everything after the newest hop seen; also covers hops recorded while the socket was down.
  async function catchUp() {
    if (!root.dataset.hopsUrl) return null;
    if (catchingUp) return catchingUp;
    catchingUp = (async () => {
      try {
        const { hops } = await getJson(`${root.dataset.hopsUrl}?${catchUpQuery(state)}`);
        const animate = hops.length <= 10;  // a long gap is listed, not replayed token by token
        for (const hop of hops) show(hop, { animate });
      } catch (error) {
        console.warn("could not catch up on missed hops", error);
      } finally {
        catchingUp = null;
      }
    })();
    return catchingUp;
  }

  const initial = root.dataset.hopsUrl ? (await getJson(root.dataset.hopsUrl)).hops : [];
  for (const hop of initial) show(hop, { animate: false });  // the newest hops, listed, not animated
  root.dataset.diagramReady = "true";

  return {
    handleMessage(message) {
      if (message.type === "trace.hop") show(message);
    },
    catchUp,
    show,
    // Replay: animate a hop again (the trace view); its log row is selected, not added twice.
    replay(message) {
      const effect = applyHop({ ...state, hops: [], seen: new Set() }, message);
      if (effect) view.animateHop(effect);
      log?.select(message.seq);
    },
  };
}
