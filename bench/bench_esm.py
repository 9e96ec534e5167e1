"""Event source mapping benchmark: how long a message or a stream record waits before its function runs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/serverless_lab REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/bench_esm.py [--count 40]

Runs what a deployment runs: uvicorn and a Celery worker with the runtime and delivery queues, on a
throwaway PostgreSQL database ``<name>_bench_esm_<pid>`` and its own Redis key prefix (so it can run beside
the other benchmarks). A function mapped to a queue and
to a table's stream measures, when its handler starts, how long ago each record was written (the
record's SentTimestamp, or a timestamp the benchmark put in the item) and sends that to a ``done``
queue the benchmark long-polls. One record at a time, after a warm-up, so the figures are the idle
path: the after-commit wake-up, the poll task, the receive or stream read, the runtime task and a
warm environment. ``... -> done`` adds the function's own SendMessage and the long poll, from the
benchmark's side. moto_server cannot run Lambda functions without Docker, so there is no ratio.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import PYTHON, bench_database, bench_sandbox, drop_redis_keys, free_port, percentile, process, uvicorn, wait  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/bench"
SOURCE = """
import json, os, time, boto3

sqs = boto3.client("sqs")

def handler(event, context):
    now = time.time() * 1000
    lags = []
    for record in event["Records"]:
        if "messageId" in record:
            lags.append(now - int(record["attributes"]["SentTimestamp"]))
        else:
            lags.append(now - float(record["dynamodb"]["NewImage"]["t"]["N"]))
    sqs.send_message(QueueUrl=os.environ["DONE_URL"], MessageBody=json.dumps(lags))
"""


@contextmanager
def serverless_lab(workdir: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """uvicorn and a worker (runtime and delivery queues) on a fresh database; yields the endpoint
    and a sandbox's credentials."""
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        sys.exit("set DATABASE_URL (PostgreSQL) and REDIS_URL: pollers and invocations run on a Celery worker")
    prefix = f"bench-esm-{os.getpid()}"
    port = free_port()
    worker = [PYTHON, "-m", "celery", "-A", "serverless_lab.celery", "worker", "-Q", "default,runtime,delivery",
              "-c", "2", "--loglevel", "WARNING", "-n", f"bench-esm-{os.getpid()}@%h", "--without-gossip",
              "--without-mingle"]  # fmt: skip
    with bench_database(os.environ["DATABASE_URL"], "esm") as database_url:
        env = dict(os.environ) | {
            "DATABASE_URL": database_url,
            "LAB_REDIS_PREFIX": prefix,
            "LAB_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "MEDIA_ROOT": str(workdir / "media"),
            "LOG_LEVEL": "WARNING",
        }
        try:
            credentials = bench_sandbox(env)
            with process(uvicorn(port), env, workdir / "lab.log"), process(worker, env, workdir / "worker.log"):
                wait(port)
                yield f"http://127.0.0.1:{port}/aws/", credentials
        finally:
            drop_redis_keys(os.environ["REDIS_URL"], prefix)


def client(service: str, endpoint: str, credentials: dict[str, Any]) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=credentials["access_key_id"],
        aws_secret_access_key=credentials["secret_access_key"],
        config=Config(retries={"max_attempts": 1}, read_timeout=60),
    )


def package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", SOURCE)
    return buffer.getvalue()


def wait_done(sqs: Any, done_url: str) -> tuple[float, float]:
    """(when the benchmark got the function's report, the lag the handler measured in seconds)."""
    messages = sqs.receive_message(QueueUrl=done_url, WaitTimeSeconds=20).get("Messages")
    arrived = time.perf_counter()
    if not messages:
        sys.exit("the function did not report within 20 s: see the worker log")
    sqs.delete_message(QueueUrl=done_url, ReceiptHandle=messages[0]["ReceiptHandle"])
    return arrived, max(json.loads(messages[0]["Body"])) / 1000


def run(count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-esm-") as tmp, serverless_lab(Path(tmp)) as (endpoint, keys):
        sqs, ddb, functions = (client(s, endpoint, keys) for s in ("sqs", "dynamodb", "lambda"))
        done_url = sqs.create_queue(QueueName="done")["QueueUrl"]
        in_url = sqs.create_queue(QueueName="in")["QueueUrl"]
        in_arn = sqs.get_queue_attributes(QueueUrl=in_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        stream_arn = ddb.create_table(
            TableName="events",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )["TableDescription"]["LatestStreamArn"]
        functions.create_function(
            FunctionName="lag", Runtime="python3.11", Handler="app.handler", Role=ROLE,
            Code={"ZipFile": package()}, Environment={"Variables": {"DONE_URL": done_url}},
        )  # fmt: skip
        functions.create_event_source_mapping(EventSourceArn=in_arn, FunctionName="lag", BatchSize=1)
        functions.create_event_source_mapping(
            EventSourceArn=stream_arn, FunctionName="lag", StartingPosition="LATEST", BatchSize=1
        )

        def send(i: int) -> None:
            sqs.send_message(QueueUrl=in_url, MessageBody=f"m{i}")

        def put(i: int) -> None:
            ddb.put_item(TableName="events", Item={"pk": {"S": f"k{i}"}, "t": {"N": repr(time.time() * 1000)}})

        rows = []
        for label, call in (("SendMessage", send), ("PutItem (stream)", put)):
            lags, trips = [], []
            for i in range(count + 3):  # three warm-up rounds: cold environments, first polls
                started = time.perf_counter()
                call(i)
                arrived, lag = wait_done(sqs, done_url)
                if i >= 3:
                    lags.append(lag)
                    trips.append(arrived - started)
            rows.append((f"{label} -> handler starts", lags))
            rows.append((f"{label} -> done (round trip)", trips))
    print(f"{'path':42} {'p50':>9} {'p99':>9}  n={count}")
    for label, samples in rows:
        print(f"{label:42} {percentile(samples, 0.5) * 1000:8.1f}ms {percentile(samples, 0.99) * 1000:8.1f}ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=40)
    run(parser.parse_args().count)
