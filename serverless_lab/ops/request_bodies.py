"""How much of a request body uvicorn reads ahead of the app before it stops reading the socket.

uvicorn pauses a connection once 64 KiB of body wait for the app (its ``HIGH_WATER_LIMIT``) and
resumes at the app's next ``receive``. A 1 MiB S3 body then came in about five receives, each a
round of the event loop and a hand-off of the chunk to the threads that hash and write it while
it arrives, with the rest waiting in the socket; on a 2-core VM that paced the body at 2 ms where
the wire took 0.7 ms. The endpoint holds a whole body in memory anyway (up to
LAB_MAX_REQUEST_BYTES), so the early pause protects nothing there. At 1 MiB a 1 MiB put took
0.90–0.94× the time (A/B in bench/bench_s3.py's setting); 4 MiB did no better. uvicorn has no
option for it, so this sets the constant in its HTTP protocol modules (a uvicorn without the
constant keeps its own behaviour).
"""
from __future__ import annotations

import importlib

READ_AHEAD_BYTES = 1024 * 1024
_PROTOCOL_MODULES = ("uvicorn.protocols.http.httptools_impl", "uvicorn.protocols.http.h11_impl")


def read_bodies_in_larger_steps() -> list[str]:
    """Raise the read-ahead in every uvicorn HTTP protocol module that has it; returns their names."""
    tuned = []
    for name in _PROTOCOL_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:  # httptools (uvicorn[standard]) or h11 not installed
            continue
        if hasattr(module, "HIGH_WATER_LIMIT"):
            module.HIGH_WATER_LIMIT = READ_AHEAD_BYTES
            tuned.append(name)
    return tuned
