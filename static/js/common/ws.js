// A WebSocket that reconnects by itself with exponential backoff (0.5 s doubling to 10 s).
// Callers get onMessage(data) for each JSON message and onStatus(state) with
// "connecting" | "open" | "reconnecting" | "closed" (closed = refused, no retry).

const FORBIDDEN = 4403;

export function connectSocket(path, { onMessage, onStatus }) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${window.location.host}${path}`;
  let delay = 500;
  let socket = null;
  let stopped = false;
  let pingTimer = null;

  function open() {
    onStatus(socket ? "reconnecting" : "connecting");
    socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      delay = 500;
      onStatus("open");
      pingTimer = window.setInterval(() => socket.send(JSON.stringify({ type: "ping" })), 25000);
    });
    socket.addEventListener("message", (event) => {
      try {
        onMessage(JSON.parse(event.data));
      } catch (error) {
        console.warn("ignored a malformed event", error);
      }
    });
    socket.addEventListener("close", (event) => {
      window.clearInterval(pingTimer);
      if (stopped || event.code === FORBIDDEN) {
        onStatus("closed");
        return;
      }
      onStatus("reconnecting");
      window.setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    });
  }

  open();
  return {
    close() {
      stopped = true;
      socket.close();
    },
  };
}
