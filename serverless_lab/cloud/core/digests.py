"""Digests of request bodies, computed on a small thread pool.

hashlib releases the GIL while it hashes a large buffer, so a large body's digests (the SHA-256 the
endpoint checks against ``X-Amz-Content-SHA256``, the MD5 that is S3's ETag) can be computed at
the same time as each other and as the request's other work (parsing it, writing the body's
file), on the machine's other cores, rather than one after another. ``Streamed`` goes further and
hashes a body's chunks as they arrive.
"""
from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor

from .drain import Drain

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
    byte is in, instead of starting then: each algorithm hashes the chunks in order on the pool
    (``core.drain.Drain``), the algorithms side by side."""

    def __init__(self, algorithms: tuple[str, ...]) -> None:
        self._done: dict[str, Future[str]] = {}
        self._drains: list[Drain[bytes]] = []
        for algorithm in algorithms:
            digest, done = hashlib.new(algorithm, usedforsecurity=False), Future()
            self._done[algorithm] = done
            self._drains.append(Drain(_POOL, digest.update, lambda d=digest, f=done: f.set_result(d.hexdigest())))

    def feed(self, chunk: bytes) -> None:
        for drain in self._drains:
            drain.put(chunk)

    def finish(self) -> dict[str, Future[str]]:
        """No more chunks: the digests, each done once its last chunk is hashed."""
        for drain in self._drains:
            drain.close()
        return self._done
