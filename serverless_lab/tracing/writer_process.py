"""The endpoint's hop writer as a child process of the server (PostgreSQL with Redis).

Working a batch out into hops, the SQL and the Redis round trips cost a fraction of a millisecond
of CPU per call. In a thread of the server that CPU holds the server's GIL, so a request arriving
meanwhile waits for it; in a process of its own it does not. The server keeps one forwarding thread
(``forward``) that only pickles what ``EndpointHop.finish`` queued and writes it to the child's
stdin, as length-prefixed frames; the child (``main``) reads them, batches them as the thread writer
does, and writes them with the same ``BatchWriter``. Hops of one server process keep their order:
one pipe, one child.

The child connects to the database the server is using (passed as ``DATABASE_URL``: a test run's
database is not the configured one) and exits when the pipe closes, that is when the server exits.
A child that dies is started again on the next batch; the batch it was reading is lost (hops are
telemetry).
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

_FRAME = struct.Struct(">I")
# While calls keep coming, the forwarder sleeps this long after the first of a batch: a call's
# ``queue.put`` then finds no thread waiting to be woken, and the server's GIL is taken once per
# batch rather than once per call. (The child batches again, for the database.)
_GATHER_S = 0.005
# A child is started at most this often: one that cannot start (a broken install) must not cost a
# Python start-up per batch. Hops that arrive meanwhile are dropped.
_RESTART_EVERY_S = 5.0
# While calls keep coming, the child waits this long after the first of a batch for more (the
# thread writer waits 20 ms): each batch costs a statement and a Redis round trip whatever its size,
# and out of the server's process a call's hop reaching the diagram a little later costs nothing else.
_CHILD_LINGER_S = 0.1
_ROOT = Path(__file__).resolve().parents[2]


def _spawn() -> subprocess.Popen[bytes]:
    from django.db import connection

    from serverless_lab.ops.dburl import connection_url

    env = dict(os.environ)
    env.update(
        DATABASE_URL=connection_url(connection.settings_dict),
        DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "serverless_lab.settings"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")])),
        LAB_TRACE_WRITER="thread",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "serverless_lab.tracing.writer_process"],
        stdin=subprocess.PIPE,
        env=env,
        cwd=str(_ROOT),
        bufsize=0,
        close_fds=True,
    )


def _frame(batch: list[Any]) -> bytes:
    try:
        data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # a parameter that does not pickle: keep the hop, drop its parameters
        data = pickle.dumps([_without_params(item) for item in batch], protocol=pickle.HIGHEST_PROTOCOL)
    return _FRAME.pack(len(data)) + data


def _without_params(item: Any) -> Any:
    try:
        pickle.dumps(item)
        return item
    except Exception:
        return item._replace(params={}, request=None)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def forward(items: queue.SimpleQueue[Any]) -> None:
    """The server's side: send what ``finish`` queued to the child, starting it when needed.

    A ``None`` on the queue ends it: the child writes what it was sent and exits."""
    from .recorder import _BATCH, _BUSY_S

    child: subprocess.Popen[bytes] | None = None
    stop = False
    last_sent = started = float("-inf")
    while not stop:
        batch = [items.get()]
        if time.monotonic() - last_sent < _BUSY_S:
            time.sleep(_GATHER_S)
        while len(batch) < _BATCH:
            try:
                batch.append(items.get_nowait())
            except queue.Empty:
                break
        stop = None in batch
        batch = [item for item in batch if item is not None]
        for attempt in (1, 2):
            if not batch:
                break
            try:
                if child is None or child.poll() is not None:
                    if time.monotonic() - started < _RESTART_EVERY_S:
                        logger.warning("the trace writer process died at once; dropping %d hops", len(batch))
                        break
                    child, started = _spawn(), time.monotonic()
                assert child.stdin is not None
                _write_all(child.stdin.fileno(), _frame(batch))
                last_sent = time.monotonic()
                break
            except Exception:
                logger.warning("the trace writer process is gone; starting it again", exc_info=attempt == 2)
                child = None
    if child is not None and child.stdin is not None:
        child.stdin.close()
        child.wait(30)


class _Frames:
    """Length-prefixed pickled batches from a file descriptor."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()
        self.closed = False

    def _fill(self, timeout: float | None) -> None:
        if self.closed:
            return
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            chunk = os.read(self.fd, 1 << 20)
            if chunk:
                self.buffer += chunk
            else:
                self.closed = True

    def _take(self) -> list[Any]:
        items: list[Any] = []
        while len(self.buffer) >= _FRAME.size:
            (size,) = _FRAME.unpack_from(self.buffer)
            if len(self.buffer) < _FRAME.size + size:
                break
            items += pickle.loads(bytes(self.buffer[_FRAME.size : _FRAME.size + size]))
            del self.buffer[: _FRAME.size + size]
        return items

    def wait(self) -> list[Any] | None:
        """The next batches (blocking); None once the server closed the pipe and all was read."""
        while True:
            items = self._take()
            if items:
                return items
            if self.closed:
                return None
            self._fill(None)

    def more(self) -> list[Any]:
        """Whatever else has arrived, without waiting."""
        self._fill(0)
        return self._take()


def main() -> None:
    """The child: write the server's hops until the server goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the server decides
    import django

    django.setup()
    from .recorder import _BATCH, BatchWriter

    frames = _Frames(sys.stdin.fileno())
    writer = BatchWriter()
    while (batch := frames.wait()) is not None:
        if writer.busy():
            time.sleep(_CHILD_LINGER_S)
        batch += frames.more()
        for start in range(0, len(batch), _BATCH):
            writer.write(batch[start : start + _BATCH])


if __name__ == "__main__":
    main()
