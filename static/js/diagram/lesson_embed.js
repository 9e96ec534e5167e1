// Lesson pages: every ```diagram``` block (templates/lessons/_diagram_block.html) gets the live
// diagram of the student's sandbox. Blocks on one sandbox share one socket; each (re)connect
// makes every diagram catch up on the hops it missed.
import { connectSocket } from "../common/ws.js";
import { mountDiagram } from "./index.js";

const STATUS_TEXT = { connecting: "Connecting…", open: "Live", reconnecting: "Reconnecting…", closed: "Disconnected" };
const blocks = new Map();  // socket path → [{ diagram, status }]

for (const block of document.querySelectorAll("[data-lesson-diagram]:not([data-mounted])")) {
  block.dataset.mounted = "true";
  const diagram = mountDiagram(block.querySelector("[data-diagram]"));
  diagram.catch((error) => console.warn("the live diagram failed to load", error));
  const path = block.dataset.wsPath;
  if (!blocks.has(path)) blocks.set(path, []);
  blocks.get(path).push({ diagram, status: block.querySelector("[data-ws-status]") });
}

for (const [path, members] of blocks) {
  connectSocket(path, {
    onStatus(state) {
      for (const { diagram, status } of members) {
        if (status) {
          status.textContent = STATUS_TEXT[state];
          status.dataset.state = state;
        }
        if (state === "open") diagram.then((d) => d.catchUp()).catch(() => {});
      }
    },
    onMessage(message) {
      if (message.type !== "trace.hop") return;
      for (const { diagram } of members) diagram.then((d) => d.handleMessage(message)).catch(() => {});
    },
  });
}
