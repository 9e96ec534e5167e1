"""Digests of request bodies, computed on a small thread pool.

hashlib releases the GIL while it hashes a large buffer, so a large body's digests (the SHA-256 the
endpoint checks against ``X-Amz-Content-SHA256``, the MD5 that is S3's ETag) can be computed at
the same time as each other and as the request's other work (parsing it, writing the body's
file), on the machine's other cores, rather than one after another.
"""
from __future__ import annotations

import hashlib
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
