"""S3 benchmark: Serverless Lab against moto_server, side by side, through boto3 over loopback HTTP.

    .venv/bin/python bench/bench_s3.py [--small 300] [--large 40] [--lists 30]

Starts both servers itself on free loopback ports: ours as uvicorn on a fresh LAB_VAR_DIR (SQLite,
filesystem storage that fsyncs every object), moto_server in memory. Prints p50/p99 latency and
ops/s for put/get of 1 KiB and 1 MiB objects and list_objects_v2 of 1,000 keys, and our p50 as a
ratio of moto's (lower is better; the issue's target is <= 1.0x).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import bench_sandbox, free_port, moto, percentile, process, timed, uvicorn, wait  # noqa: E402


@contextmanager
def serverless_lab(workdir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Our server on a fresh var dir; yields the endpoint URL and a sandbox's credentials."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "MEDIA_ROOT")}
    env |= {"LAB_VAR_DIR": str(workdir / "var"), "LAB_PUBLIC_URL": f"http://127.0.0.1:{port}", "LOG_LEVEL": "WARNING"}
    credentials = bench_sandbox(env)
    with process(uvicorn(port), env, workdir / "lab.log"):
        wait(port)
        yield f"http://127.0.0.1:{port}/aws/", credentials


def client(endpoint: str, key: str, secret: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


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
