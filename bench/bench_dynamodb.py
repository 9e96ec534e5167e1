"""DynamoDB benchmark: Serverless Lab against moto_server, side by side, through boto3 over loopback HTTP.

    .venv/bin/python bench/bench_dynamodb.py [--count 500] [--partition 10000]

Starts both servers itself on free loopback ports: ours as uvicorn on a fresh LAB_VAR_DIR (SQLite
in WAL mode: every write is committed to disk before the answer), moto_server in memory. Loads one
10,000-item partition into each, then prints p50/p99 latency and ops/s for PutItem, GetItem, Query
(10 items of that partition), a Scan page (100 items) and TransactWriteItems (4 items), and our
p50/p99 as ratios of moto's (lower is better; the issue's target is p50 <= 1.0x).
"""

from __future__ import annotations

import argparse
import os
import random
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

TABLE = "bench"


@contextmanager
def serverless_lab(workdir: Path) -> Iterator[tuple[str, str, str]]:
    """Our server on a fresh var dir; yields the endpoint URL and a sandbox's key pair."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"LAB_VAR_DIR": str(workdir / "var"), "LAB_PUBLIC_URL": f"http://127.0.0.1:{port}", "LOG_LEVEL": "WARNING"}
    credentials = bench_sandbox(env)
    with process(uvicorn(port), env, workdir / "lab.log"):
        wait(port)
        yield f"http://127.0.0.1:{port}/aws/", credentials["access_key_id"], credentials["secret_access_key"]


@contextmanager
def moto_server(workdir: Path) -> Iterator[tuple[str, str, str]]:
    with moto(workdir) as endpoint:
        yield endpoint, "testing", "testing"


def client(endpoint: str, key: str, secret: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def load(ddb: Any, partition: int) -> None:
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for start in range(0, partition, 25):
        ddb.batch_write_item(
            RequestItems={
                TABLE: [
                    {"PutRequest": {"Item": {"pk": {"S": "big"}, "sk": {"N": str(i)}, "payload": {"S": "x" * 100}}}}
                    for i in range(start, min(start + 25, partition))
                ]
            }
        )


def run_suite(ddb: Any, args: argparse.Namespace) -> dict[str, list[float]]:
    load(ddb, args.partition)
    rng = random.Random(7)
    item = {"payload": {"S": "y" * 200}, "n": {"N": "42"}, "tags": {"SS": ["a", "b"]}}

    def put(i: int) -> None:
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": f"p{i % 97}"}, "sk": {"N": str(i)}, **item})

    def get(i: int) -> None:
        ddb.get_item(TableName=TABLE, Key={"pk": {"S": "big"}, "sk": {"N": str(rng.randrange(args.partition))}})

    def query(i: int) -> None:
        low = rng.randrange(args.partition - 10)
        result = ddb.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :p AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues={":p": {"S": "big"}, ":lo": {"N": str(low)}, ":hi": {"N": str(low + 9)}},
        )
        assert result["Count"] == 10, result["Count"]

    def scan(i: int) -> None:
        assert ddb.scan(TableName=TABLE, Limit=100)["Count"] == 100

    def transact(i: int) -> None:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": f"tx{i}"}, "sk": {"N": str(n)}, **item}}}
                for n in range(4)
            ]
        )

    return {
        "PutItem": timed(args.count, put),
        "GetItem": timed(args.count, get),
        "Query (10 of 10,000)": timed(args.count, query),
        "Scan page (100 items)": timed(max(args.count // 5, 20), scan),
        "TransactWriteItems (4)": timed(args.count, transact),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=500, help="calls per operation (default 500)")
    parser.add_argument("--partition", type=int, default=10_000, help="items in the queried partition")
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-dynamodb-") as tmp:
        workdir = Path(tmp)
        for name, server in (("lab", serverless_lab), ("moto", moto_server)):
            with server(workdir) as (endpoint, key, secret):
                results[name] = run_suite(client(endpoint, key, secret), args)
    columns = ("lab p50", "lab p99", "lab ops/s", "moto p50", "moto p99", "moto ops/s", "p50 ratio", "p99 ratio")
    print(f"{'operation':24} " + " ".join(f"{name:>9}" for name in columns))
    for operation, lab in results["lab"].items():
        other = results["moto"][operation]
        row = [percentile(lab, 0.5), percentile(lab, 0.99), len(lab) / sum(lab)]
        row += [percentile(other, 0.5), percentile(other, 0.99), len(other) / sum(other)]
        print(
            f"{operation:24} {row[0] * 1000:7.2f}ms {row[1] * 1000:7.2f}ms {row[2]:9.0f} "
            f"{row[3] * 1000:7.2f}ms {row[4] * 1000:7.2f}ms {row[5]:10.0f} "
            f"{row[0] / row[3]:8.2f}x {row[1] / row[4]:8.2f}x"
        )
    print(
        f"(median of {statistics.median(len(v) for v in results['lab'].values()):.0f} calls per row; ms = milliseconds)"
    )


if __name__ == "__main__":
    main()
