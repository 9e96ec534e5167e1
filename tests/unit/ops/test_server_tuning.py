"""The server process's tuning (serverless_lab/asgi.py applies it at start): uvicorn's read-ahead."""
from __future__ import annotations

import importlib

from serverless_lab.ops.request_bodies import READ_AHEAD_BYTES, read_bodies_in_larger_steps


def test_uvicorn_reads_a_megabyte_of_body_ahead_of_the_app():
    import serverless_lab.asgi  # noqa: F401  (applies it, as the server does)

    httptools_impl = importlib.import_module("uvicorn.protocols.http.httptools_impl")
    h11_impl = importlib.import_module("uvicorn.protocols.http.h11_impl")
    assert httptools_impl.HIGH_WATER_LIMIT == h11_impl.HIGH_WATER_LIMIT == READ_AHEAD_BYTES == 1024 * 1024
    assert read_bodies_in_larger_steps() == ["uvicorn.protocols.http.httptools_impl", "uvicorn.protocols.http.h11_impl"]
