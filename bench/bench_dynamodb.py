"""DynamoDB benchmark: Serverless Lab against moto_server, side by side, through boto3 over loopback HTTP.

    [DATABASE_URL=postgres://postgres@127.0.0.1:5432/serverless_lab REDIS_URL=redis://127.0.0.1:6379/0] \
    .venv/bin/python bench/bench_dynamodb.py [--count 500] [--slow-count 100] [--partition 10000]

Starts both servers itself on free loopback ports: ours as uvicorn on a fresh LAB_VAR_DIR (without
DATABASE_URL, SQLite in WAL mode; with it, as CI and deployments run, a throwaway PostgreSQL
database ``<name>_bench_dynamodb_<pid>`` and, with REDIS_URL, its own Redis key prefix: every write
is committed to disk before the answer either way), moto_server in memory. Loads one
10,000-item partition into each, then prints p50/p99 latency and ops/s for PutItem, GetItem, Query
(10 items of that partition), a Scan page (100 items) and TransactWriteItems (4 items), and our
p50/p99 as ratios of moto's (lower is better; the issue's target is p50 <= 1.0x). Both servers run at
once and are timed in alternating rounds of 25 calls, so load from elsewhere on the machine falls on
both alike.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import lab_server, moto, percentile, timed  # noqa: E402

TABLE = "bench"
ROUND = 25  # calls per server before switching to the other


@contextmanager
def serverless_lab(workdir: Path) -> Iterator[tuple[str, str, str]]:
    """Our server; yields the endpoint URL and a sandbox's key pair."""
    with lab_server(workdir, "dynamodb") as (endpoint, credentials, database):
        print(f"our server on {database}{' and Redis' if os.environ.get('REDIS_URL') else ''}", flush=True)
        yield endpoint, credentials["access_key_id"], credentials["secret_access_key"]


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


def operations(ddb: Any, args: argparse.Namespace) -> dict[str, tuple[int, Callable[[int], None]]]:
    """The timed calls against one server (loaded first), with how many of each to make."""
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
        "PutItem": (args.count, put),
        "GetItem": (args.count, get),
        "Query (10 of 10,000)": (args.slow_count, query),
        "Scan page (100 items)": (max(args.slow_count // 2, 20), scan),
        "TransactWriteItems (4)": (args.slow_count, transact),
    }


def interleaved(suites: dict[str, dict[str, tuple[int, Callable[[int], None]]]]) -> dict[str, dict[str, list[float]]]:
    """Time every operation on every server in alternating rounds of ROUND calls, so a burst of load
    from elsewhere on the machine lands on both servers alike instead of on whichever ran then."""
    results: dict[str, dict[str, list[float]]] = {name: {} for name in suites}
    first = next(iter(suites.values()))
    for operation, (count, _) in first.items():
        done = 0
        while done < count:
            size = min(ROUND, count - done)
            for name, suite in suites.items():
                call = suite[operation][1]
                samples = timed(size, lambda i, call=call, done=done: call(done + i))
                results[name].setdefault(operation, []).extend(samples)
            done += size
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=500, help="calls per operation (default 500)")
    parser.add_argument(
        "--slow-count",
        type=int,
        default=100,
        help="calls for Query and TransactWriteItems, half that for Scan (moto takes 0.1-1 s each; default 100)",
    )
    parser.add_argument("--partition", type=int, default=10_000, help="items in the queried partition")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dynamodb-") as tmp:
        workdir = Path(tmp)
        with serverless_lab(workdir) as lab, moto_server(workdir) as other:
            suites = {"lab": operations(client(*lab), args), "moto": operations(client(*other), args)}
            results = interleaved(suites)
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
