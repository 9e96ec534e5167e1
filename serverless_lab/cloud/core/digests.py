"""Digests of request bodies, computed on a small thread pool.

hashlib releases the GIL while it hashes a large buffer, so a large body's digests (the SHA-256 the
endpoint checks against ``X-Amz-Content-SHA256``, the MD5 that is S3's ETag) can be computed at
the same time as each other and as the request's other work (parsing it, writing the body's
file), on the machine's other cores, rather than one after another. ``Streamed`` goes further and
hashes a body's chunks as they arrive.
"""
from __future__ import annotations

import hashlib
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="aws-digest")
# Below this a digest is computed at once: the thread hop would cost more than the hash.
ON_POOL_BYTES = 64 * 1024


def _hexdigest(algorithm: str, data: bytes) -> str:
    return hashlib.new(algorithm, data, usedforsecurity=False).hexdigest()  # checksums, not secrets


def started(algorithm: str, data: bytes) -> Future[str]:
    """``data``'s hex digest with ``algorithm`` (a hashlib name): for a large buffer being computed on
    the pool from now on, for a small one already done."""
    if len(data) > ON_POOL_BYTES:
        return _POOL.submit(_hexdigest, algorithm, data)
    done: Future[str] = Future()
    done.set_result(_hexdigest(algorithm, data))
    return done


class Streamed:
    """Digests of a body computed while it arrives, so that they are (nearly) done when its last
    byte is in, instead of starting then. Each algorithm has its own queue of chunks, hashed in
    order by a pool task that runs while chunks wait and ends when none does: a client that stalls
    mid-body holds no thread, and the algorithms run side by side."""

    def __init__(self, algorithms: tuple[str, ...]) -> None:
        self._lock = threading.Lock()
        self._streams = {algorithm: _Stream(algorithm) for algorithm in algorithms}
        self._finished = False

    def feed(self, chunk: bytes) -> None:
        with self._lock:
            for stream in self._streams.values():
                stream.pending.append(chunk)
                if not stream.running:
                    stream.running = True
                    _POOL.submit(self._drain, stream)

    def finish(self) -> dict[str, Future[str]]:
        """No more chunks: the digests, each done once its last chunk is hashed."""
        with self._lock:
            self._finished = True
            for stream in self._streams.values():
                if not stream.running:
                    stream.done.set_result(stream.hash.hexdigest())
        return {algorithm: stream.done for algorithm, stream in self._streams.items()}

    def _drain(self, stream: _Stream) -> None:
        while True:
            with self._lock:
                if not stream.pending:
                    stream.running = False
                    if self._finished:
                        stream.done.set_result(stream.hash.hexdigest())
                    return
                chunk = stream.pending.popleft()
            stream.hash.update(chunk)


class _Stream:
    __slots__ = ("hash", "pending", "running", "done")

    def __init__(self, algorithm: str) -> None:
        self.hash = hashlib.new(algorithm, usedforsecurity=False)
        self.pending: deque[bytes] = deque()
        self.running = False
        self.done: Future[str] = Future()
