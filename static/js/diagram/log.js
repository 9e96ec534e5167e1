// The hop log beside the diagram: one row per hop (built with textContent, never HTML strings),
// newest first, and a details panel for the row a student picks.
import { labelOf, statusOf } from "./model.js";

const MAX_ROWS = 200;
const BADGE = { ok: "badge-success", error: "badge-danger", throttled: "badge-warning", retried: "badge-info", "filtered-out": "", "sent-to-DLQ": "badge-danger" };

function make(tag, className = "", text = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

function time(iso) {
  const at = new Date(iso);
  const node = make("time", "", at.toLocaleTimeString([], { hour12: false }) + `.${String(at.getMilliseconds()).padStart(3, "0")}`);
  node.dateTime = at.toISOString();
  return node;
}

export function createHopLog(list, details, { traceUrl = null } = {}) {
  const bySeq = new Map();

  function row(hop) {
    const status = statusOf(hop);
    const item = make("li", `event-row hop-row hop-${status}`);
    item.dataset.seq = String(hop.seq);
    const button = make("button", "hop-row-button");
    button.type = "button";
    const badge = make("span", `badge ${BADGE[status] || ""}`, status);
    const what = make("span", "hop-action", hop.action);
    const where = make("span", "hop-where", `${labelOf(hop.from_node)} → ${labelOf(hop.to_node)}`);
    const took = make("span", "hop-duration", `${hop.duration_ms.toFixed(1)} ms`);
    button.append(time(hop.started_at), badge, what, where, took);
    button.addEventListener("click", () => select(hop.seq));
    item.append(button);
    return item;
  }

  // Rows stay in seq order even when a catch-up delivers older hops after newer live ones.
  function add(hop) {
    if (bySeq.has(hop.seq)) return;
    list.querySelector(".hop-log-empty")?.remove();
    const item = row(hop);
    bySeq.set(hop.seq, hop);
    const later = [...list.children].find((child) => Number(child.dataset.seq) < hop.seq);
    list.insertBefore(item, later || null);
    while (list.children.length > MAX_ROWS) {
      bySeq.delete(Number(list.lastElementChild.dataset.seq));
      list.lastElementChild.remove();
    }
  }

  function select(seq) {
    const hop = bySeq.get(seq);
    if (!hop || !details) return;
    for (const child of list.children) child.classList.toggle("is-selected", Number(child.dataset.seq) === seq);
    const heading = make("h3", "", hop.action);
    const facts = make("dl", "kv kv-stacked");
    const rows = [
      ["Status", hop.error_code ? `${hop.status} (${hop.error_code})` : hop.status],
      ["From", hop.from_node],
      ["To", hop.to_node],
      ["Started", new Date(hop.started_at).toISOString()],
      ["Duration", `${hop.duration_ms.toFixed(2)} ms`],
      ["Trace", hop.trace_id],
      ["Hop", hop.hop_id],
      ["Parent hop", hop.parent_hop_id || "none (the trace starts here)"],
    ];
    for (const [name, value] of rows) {
      const pair = make("div");
      const dd = make("dd");
      if (name === "Trace" && traceUrl) {
        const link = make("a", "", value);
        link.href = traceUrl(hop.trace_id);
        dd.append(link);
      } else {
        dd.append(make("code", "", value));
      }
      pair.append(make("dt", "", name), dd);
      facts.append(pair);
    }
    const payloadTitle = make("h4", "", "Payload preview");
    const payload = make("pre", "hop-payload", hop.preview || "(empty)");
    details.replaceChildren(heading, facts, payloadTitle, payload);
    details.hidden = false;
  }

  return { add, select };
}
