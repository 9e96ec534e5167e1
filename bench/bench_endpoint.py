"""The AWS endpoint's own cost: STS GetCallerIdentity through boto3, Serverless Lab vs moto_server.

    .venv/bin/python bench/bench_endpoint.py [--calls 500]

GetCallerIdentity does no storage work, so this measures what every call pays: HTTP, SigV4
verification, the sandbox lookup, the rate quota, protocol parsing and serialising. Both servers
are started here on loopback (ours on SQLite in a temp dir, see bench_s3.serverless_lab). Prints
p50/p99 and calls/s, and our p50 as a ratio of moto's.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_s3 import serverless_lab  # noqa: E402
from harness import moto, percentile  # noqa: E402


def measure(endpoint: str, key: str, secret: str, calls: int) -> list[float]:
    sts = boto3.client(
        "sts", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )
    sts.get_caller_identity()  # warm the connection
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        sts.get_caller_identity()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-endpoint-") as tmp:
        workdir = Path(tmp)
        with serverless_lab(workdir) as (endpoint, creds, _database):
            ours = measure(endpoint, creds["access_key_id"], creds["secret_access_key"], args.calls)
        with moto(workdir) as endpoint:
            theirs = measure(endpoint, "testing", "testing", args.calls)
    for name, samples in (("lab", ours), ("moto", theirs)):
        print(
            f"{name:<5} sts:GetCallerIdentity p50 {statistics.median(samples) * 1000:6.2f} ms  "
            f"p99 {percentile(samples, 0.99) * 1000:6.2f} ms  {len(samples) / sum(samples):6.0f} calls/s"
        )
    print(f"p50 ratio lab/moto: {statistics.median(ours) / statistics.median(theirs):.2f}x")


if __name__ == "__main__":
    main()
