"""SQS and SNS benchmark: Serverless Lab against moto_server, side by side, through boto3 over loopback.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/serverless_lab REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/bench_sqs_sns.py [--sends 300] [--batches 60] [--publishes 60]

Runs what a deployment runs: uvicorn and a Celery worker on PostgreSQL and Redis (SNS delivery is
asynchronous, so it needs both). It uses a throwaway database ``<name>_bench_sqs`` next to the one
in DATABASE_URL and its own Redis key prefix, so nothing else's workers take its tasks. moto_server
runs in memory. Prints p50/p99 latency and ops/s per operation and our p50 as a ratio of moto's.

``send -> waiting long poll`` is the time from SendMessage until a ReceiveMessage with
WaitTimeSeconds that was already waiting returned the message. ``publish -> 3 SQS delivered`` is
the time from the Publish call until the last of three long polls, waiting on the three
subscribed queues, returned the message. moto delivers inside the Publish call; we deliver on a
Celery worker, as AWS delivers asynchronously.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import PYTHON, bench_sandbox, free_port, moto, percentile, process, timed, uvicorn, wait  # noqa: E402

BODY = "x" * 1024


@contextmanager
def bench_database(url: str) -> Iterator[str]:
    """A fresh, empty database next to the one in ``url`` (dropped afterwards); yields its URL."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_bench_sqs"
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
def serverless_lab(workdir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """uvicorn and a Celery worker on a fresh database; yields the endpoint and a sandbox's credentials."""
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        sys.exit("set DATABASE_URL (PostgreSQL) and REDIS_URL: SNS delivery runs on a Celery worker")
    with bench_database(os.environ["DATABASE_URL"]) as database_url:
        prefix = f"bench-sqs-{os.getpid()}"
        try:
            yield from _serverless_lab(workdir, database_url, prefix)
        finally:
            drop_redis_keys(os.environ["REDIS_URL"], prefix)


def _serverless_lab(workdir: Path, database_url: str, prefix: str) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = dict(os.environ) | {
        "DATABASE_URL": database_url,
        "LAB_REDIS_PREFIX": prefix,
        "LAB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }
    credentials = bench_sandbox(env)
    worker = [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "serverless_lab.celery",
        "worker",
        "-Q",
        "default,delivery",
        "-c",
        "2",
        "--loglevel",
        "WARNING",
        "-n",
        f"bench-{os.getpid()}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    with process(uvicorn(port), env, workdir / "lab.log"), process(worker, env, workdir / "worker.log"):
        wait(port)
        time.sleep(3)  # let the worker connect to the broker
        yield f"http://127.0.0.1:{port}/aws/", credentials


def clients(endpoint: str, key: str, secret: str) -> tuple[Any, Any]:
    config = Config(retries={"max_attempts": 1})
    make = lambda service: boto3.client(  # noqa: E731
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=config,
    )
    return make("sqs"), make("sns")


def run_suite(sqs: Any, sns: Any, args: argparse.Namespace) -> dict[str, list[float]]:
    url = sqs.create_queue(QueueName="bench")["QueueUrl"]

    def receive_delete(_: int) -> None:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])

    results = {"send_message 1 KiB": timed(args.sends, lambda i: sqs.send_message(QueueUrl=url, MessageBody=BODY))}
    results["receive + delete"] = timed(args.sends, receive_delete)
    entries = [{"Id": str(i), "MessageBody": BODY} for i in range(10)]
    results["send_message_batch of 10"] = timed(
        args.batches, lambda i: sqs.send_message_batch(QueueUrl=url, Entries=entries)
    )

    waiter = ThreadPoolExecutor(max_workers=1)
    waiting_url = sqs.create_queue(QueueName="waiting")["QueueUrl"]

    def long_poll_wakeup(i: int) -> float:
        """Seconds from SendMessage until a long poll that was already waiting returned the message."""

        def wait() -> float:
            messages = sqs.receive_message(QueueUrl=waiting_url, WaitTimeSeconds=10).get("Messages")
            arrived = time.perf_counter()
            sqs.delete_message(QueueUrl=waiting_url, ReceiptHandle=messages[0]["ReceiptHandle"])
            return arrived

        future = waiter.submit(wait)
        time.sleep(0.05)
        start = time.perf_counter()
        sqs.send_message(QueueUrl=waiting_url, MessageBody=f"w{i}")
        return future.result() - start

    results["send -> waiting long poll"] = timed(args.batches, long_poll_wakeup)

    topic = sns.create_topic(Name="bench")["TopicArn"]
    urls = []
    for n in range(3):
        queue = sqs.create_queue(QueueName=f"fan-{n}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        urls.append(queue)

    pool = ThreadPoolExecutor(max_workers=3)

    def receive_one(queue: str, expected: str) -> float:
        messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10).get("Messages")
        arrived = time.perf_counter()
        if not messages or messages[0]["Body"] != expected:
            sys.exit(f"{expected}: not delivered to {queue}")
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=messages[0]["ReceiptHandle"])
        return arrived

    def publish_delivered(i: int) -> float:
        """Seconds from Publish until the last of the three waiting long polls got the message."""
        waiting = [pool.submit(receive_one, queue, f"m{i}") for queue in urls]
        time.sleep(0.05)  # the long polls are waiting before we publish
        start = time.perf_counter()
        sns.publish(TopicArn=topic, Message=f"m{i}")
        return max(future.result() for future in waiting) - start

    results["publish -> 3 SQS delivered"] = timed(args.publishes, publish_delivered)
    results["publish (call only)"] = timed(args.publishes, lambda i: sns.publish(TopicArn=topic, Message="x"))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=300, help="send_message calls, then as many receive+delete")
    parser.add_argument("--batches", type=int, default=60, help="send_message_batch calls of 10")
    parser.add_argument("--publishes", type=int, default=60, help="publishes to a topic with 3 SQS subscribers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sqs-") as tmp:
        workdir = Path(tmp)
        with serverless_lab(workdir) as (endpoint, creds):
            ours = run_suite(*clients(endpoint, creds["access_key_id"], creds["secret_access_key"]), args)
        with moto(workdir) as endpoint:
            theirs = run_suite(*clients(endpoint, "testing", "testing"), args)
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
