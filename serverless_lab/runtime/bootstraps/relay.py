"""Copy bytes both ways between pairs of non-blocking sockets, inside the caller's selector.

Used on both sides of the sandbox wall: inside an execution environment it joins a 127.0.0.1 TCP
connection to a Unix socket bind-mounted from the host; on the host it joins the environment's
endpoint socket to the configured AWS endpoint address.  It is imported inside the sandbox too,
so it needs nothing but the standard library and must run on every supported Python.
"""

import selectors
import socket

CHUNK = 65536
# Stop reading from one side while this much is still waiting to be written to the other.
BACKLOG = 1 << 20


class _End:
    __slots__ = ("sock", "peer", "out", "eof", "shut", "events")

    def __init__(self, sock):
        self.sock = sock
        self.peer = None
        self.out = bytearray()  # bytes waiting to be written to this socket
        self.eof = False  # this socket will send no more
        self.shut = False  # we shut down writing on this socket
        self.events = 0


class Splice:
    """All socket pairs of one selector loop; ``handle`` is called for keys whose data is an end."""

    def __init__(self, selector):
        self._selector = selector
        self._ends = set()

    def join(self, a, b):
        """Relay between two connected sockets until both directions have ended."""
        first, second = _End(a), _End(b)
        first.peer, second.peer = second, first
        for end in (first, second):
            end.sock.setblocking(False)
            self._ends.add(end)
            self._update(end)

    @staticmethod
    def owns(data):
        return isinstance(data, _End)

    def handle(self, end, mask):
        if mask & selectors.EVENT_WRITE:
            self._flush(end)
        if mask & selectors.EVENT_READ and end in self._ends:
            self._read(end)

    def close(self):
        for end in list(self._ends):
            self._drop(end)

    def _read(self, end):
        try:
            data = end.sock.recv(CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._abort(end)
            return
        if data:
            end.peer.out += data
        else:
            end.eof = True
        self._flush(end.peer)
        self._update(end)

    def _flush(self, end):
        if end not in self._ends:
            return
        if end.out:
            try:
                sent = end.sock.send(end.out)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._abort(end)
                return
            del end.out[:sent]
        if not end.out and end.peer.eof and not end.shut:
            end.shut = True
            try:
                end.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        if end.shut and end.peer.shut:
            self._abort(end)
            return
        self._update(end)
        self._update(end.peer)

    def _update(self, end):
        if end not in self._ends:
            return
        events = 0
        if not end.eof and len(end.peer.out) < BACKLOG:
            events |= selectors.EVENT_READ
        if end.out:
            events |= selectors.EVENT_WRITE
        if events == end.events:
            return
        if end.events == 0:
            self._selector.register(end.sock, events, end)
        elif events == 0:
            self._selector.unregister(end.sock)
        else:
            self._selector.modify(end.sock, events, end)
        end.events = events

    def _abort(self, end):
        self._drop(end)
        self._drop(end.peer)

    def _drop(self, end):
        if end not in self._ends:
            return
        self._ends.discard(end)
        if end.events:
            self._selector.unregister(end.sock)
        end.sock.close()
