// Sandbox page: the live events panel, and confirmation for destructive forms.
import { connectSocket } from "../common/ws.js";
import { mountDiagram } from "../diagram/index.js";

const STATUS_TEXT = {
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
  closed: "Disconnected",
};
const MAX_ROWS = 200;

function appendEvent(log, message) {
  document.getElementById("event-log-empty")?.remove();
  const row = document.createElement("li");
  row.className = `event-row event-${message.kind || "message"}`;
  const time = document.createElement("time");
  const at = message.at ? new Date(message.at) : new Date();
  time.dateTime = at.toISOString();
  time.textContent = at.toLocaleTimeString();
  const kind = document.createElement("span");
  kind.className = "badge";
  kind.textContent = message.kind || "event";
  const text = document.createElement("span");
  text.className = "event-text";
  text.textContent = message.text || JSON.stringify(message);
  row.append(time, kind, text);
  log.prepend(row);
  while (log.children.length > MAX_ROWS) log.lastElementChild.remove();
}

const panel = document.getElementById("live-events");
if (panel) {
  const log = document.getElementById("event-log");
  const status = document.getElementById("ws-status");
  const diagramRoot = document.querySelector("[data-diagram]");
  // One socket feeds both panels. Hops that arrive before the diagram has loaded wait for it;
  // each (re)connect asks the diagram to catch up on hops recorded while the socket was down.
  const diagram = diagramRoot ? mountDiagram(diagramRoot) : null;
  diagram?.catch((error) => console.warn("the live diagram failed to load", error));
  connectSocket(panel.dataset.wsPath, {
    onStatus(state) {
      status.textContent = STATUS_TEXT[state];
      status.dataset.state = state;
      if (state === "open") diagram?.then((d) => d.catchUp());
    },
    onMessage(message) {
      if (message.type === "message") appendEvent(log, message);
      if (message.type === "trace.hop") diagram?.then((d) => d.handleMessage(message));
    },
  });
}

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
