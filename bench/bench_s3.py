"""S3 benchmark: Serverless Lab against moto_server, side by side, through boto3 over loopback HTTP.

    .venv/bin/python bench/bench_s3.py [--small 300] [--large 40] [--lists 30]

Starts both servers itself on free loopback ports: ours as uvicorn on a fresh LAB_VAR_DIR (SQLite,
filesystem storage that fsyncs every object), moto_server in memory. Prints p50/p99 latency and
ops/s for put/get of 1 KiB and 1 MiB objects and list_objects_v2 of 1,000 keys, and our p50 as a
ratio of moto's (lower is better; the issue's target is <= 1.0x).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port}")


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


@contextmanager
def serverless_lab(workdir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Our server on a fresh var dir; yields the endpoint URL and a sandbox's credentials."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "MEDIA_ROOT")}
    env |= {"LAB_VAR_DIR": str(workdir / "var"), "LAB_PUBLIC_URL": f"http://127.0.0.1:{port}", "LOG_LEVEL": "WARNING"}
    manage = [PYTHON, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    created = subprocess.run(
        [*manage, "sandbox", "create", "--user", "bench", "--create-user", "--json"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    credentials = json.loads(created.stdout)
    # The benchmark measures speed, not the per-sandbox rate quota.
    subprocess.run(
        [
            *manage,
            "shell",
            "-c",
            f"from serverless_lab.sandboxes.models import Sandbox; Sandbox.objects.filter(pk={credentials['id']})"
            ".update(max_requests_per_second=1_000_000, max_storage_bytes=50 * 1024**3)",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    server = [
        PYTHON,
        "-m",
        "uvicorn",
        "serverless_lab.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--lifespan",
        "off",
        "--log-level",
        "warning",
    ]
    with process(server, env, workdir / "lab.log"):
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}/aws/", credentials


@contextmanager
def moto(workdir: Path) -> Iterator[str]:
    port = free_port()
    server = [PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with process(server, dict(os.environ), workdir / "moto.log"):
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"


def client(endpoint: str, key: str, secret: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


def timed(count: int, call: Callable[[int], Any]) -> list[float]:
    call(0)  # warm the connection and caches
    samples = []
    for index in range(count):
        start = time.perf_counter()
        call(index)
        samples.append(time.perf_counter() - start)
    return samples


def run_suite(s3: Any, args: argparse.Namespace) -> dict[str, list[float]]:
    s3.create_bucket(Bucket="bench-bucket")
    small, large = os.urandom(1024), os.urandom(1024 * 1024)
    results = {
        "put 1 KiB": timed(args.small, lambda i: s3.put_object(Bucket="bench-bucket", Key=f"small/{i}", Body=small)),
        "get 1 KiB": timed(args.small, lambda i: s3.get_object(Bucket="bench-bucket", Key=f"small/{i}")["Body"].read()),
        "put 1 MiB": timed(args.large, lambda i: s3.put_object(Bucket="bench-bucket", Key=f"large/{i}", Body=large)),
        "get 1 MiB": timed(args.large, lambda i: s3.get_object(Bucket="bench-bucket", Key=f"large/{i}")["Body"].read()),
    }
    s3.create_bucket(Bucket="bench-list")
    for i in range(1000):
        s3.put_object(Bucket="bench-list", Key=f"k/{i:04d}", Body=b"x")
    results["list_objects_v2 1,000 keys"] = timed(
        args.lists, lambda i: s3.list_objects_v2(Bucket="bench-list")["KeyCount"] == 1000 or sys.exit("short listing")
    )
    return results


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=300, help="1 KiB puts and gets")
    parser.add_argument("--large", type=int, default=40, help="1 MiB puts and gets")
    parser.add_argument("--lists", type=int, default=30, help="list_objects_v2 calls over 1,000 keys")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp:
        workdir = Path(tmp)
        with serverless_lab(workdir) as (endpoint, creds):
            ours = run_suite(client(endpoint, creds["access_key_id"], creds["secret_access_key"]), args)
        with moto(workdir) as endpoint:
            theirs = run_suite(client(endpoint, "testing", "testing"), args)
    columns = ("lab p50", "lab p99", "lab op/s", "moto p50", "moto p99", "moto op/s", "p50 ratio")
    header = f"{'operation':<28} " + " ".join(f"{column:>9}" for column in columns)
    print(header)
    print("-" * len(header))
    for name, samples in ours.items():
        other = theirs[name]
        p50, q50 = statistics.median(samples), statistics.median(other)
        lab = f"{p50 * 1000:>7.2f}ms {percentile(samples, 0.99) * 1000:>7.2f}ms {len(samples) / sum(samples):>9.0f}"
        ref = f"{q50 * 1000:>7.2f}ms {percentile(other, 0.99) * 1000:>7.2f}ms {len(other) / sum(other):>9.0f}"
        print(f"{name:<28} {lab} {ref} {p50 / q50:>8.2f}x")


if __name__ == "__main__":
    main()
