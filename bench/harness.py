"""What the service benchmarks share: starting our server and moto_server on loopback, a sandbox to
call with, timing and percentiles. Run the benchmarks with the project's venv (.venv/bin/python)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from serverless_lab.ops.embedded import free_port, wait_for_port  # noqa: E402

PYTHON = sys.executable
__all__ = [
    "ROOT", "PYTHON", "free_port", "bench_sandbox", "lab_server", "moto", "percentile", "process", "timed", "uvicorn", "wait",
]


def wait(port: int, timeout: float = 30.0) -> None:
    wait_for_port("127.0.0.1", port, timeout=timeout)


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bench_sandbox(env: dict[str, str]) -> dict[str, Any]:
    """Migrate the database ``env`` points at and create a sandbox without a rate quota (the
    benchmarks measure speed); returns ``manage.py sandbox create --json``'s object."""
    manage = [PYTHON, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    created = subprocess.run(
        [*manage, "sandbox", "create", "--user", "bench", "--create-user", "--json"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )
    credentials = json.loads(created.stdout)
    subprocess.run(
        [*manage, "shell", "-c", "from serverless_lab.sandboxes.models import Sandbox; "
         f"Sandbox.objects.filter(pk={credentials['id']})"
         ".update(max_requests_per_second=1_000_000, max_storage_bytes=50 * 1024**3)"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )
    return credentials


def uvicorn(port: int) -> list[str]:
    return [PYTHON, "-m", "uvicorn", "serverless_lab.asgi:application", "--host", "127.0.0.1", "--port", str(port),
            "--no-access-log", "--lifespan", "off", "--log-level", "warning"]


@contextmanager
def moto(workdir: Path) -> Iterator[str]:
    """moto_server in memory on a free port; yields its endpoint URL (any keys work)."""
    port = free_port()
    with process([PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], dict(os.environ), workdir / "moto.log"):
        wait(port)
        yield f"http://127.0.0.1:{port}"


def timed(count: int, call: Callable[[int], Any]) -> list[float]:
    call(0)  # warm the connection and caches
    samples = []
    for index in range(count):
        start = time.perf_counter()
        call(index)
        samples.append(time.perf_counter() - start)
    return samples


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@contextmanager
def bench_database(url: str, label: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database ``<name>_bench_<label>_<pid>`` next to the one in ``url``
    (dropped afterwards), so a benchmark never shares tables with tests or another benchmark."""
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/')}_bench_{label}_{os.getpid()}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_redis_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


@contextmanager
def lab_server(workdir: Path, label: str) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Our server (uvicorn) on a fresh var dir: on SQLite, or, with ``DATABASE_URL`` (and
    ``REDIS_URL``) set, as CI and deployments run, on a throwaway PostgreSQL database and its own
    Redis key prefix. Yields the endpoint URL, a sandbox's credentials and the database's name."""
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "MEDIA_ROOT")}
    env |= {"LAB_VAR_DIR": str(workdir / "var"), "LAB_PUBLIC_URL": f"http://127.0.0.1:{port}", "LOG_LEVEL": "WARNING"}
    prefix = f"bench-{label}-{os.getpid()}"
    if redis_url:
        env |= {"REDIS_URL": redis_url, "LAB_REDIS_PREFIX": prefix}
    try:
        with bench_database(database_url, label) if database_url else nullcontext("") as url:
            if url:
                env["DATABASE_URL"] = url
            credentials = bench_sandbox(env)
            with process(uvicorn(port), env, workdir / "lab.log"):
                wait(port)
                yield f"http://127.0.0.1:{port}/aws/", credentials, "PostgreSQL" if url else "SQLite"
    finally:
        if redis_url:
            drop_redis_keys(redis_url, prefix)
