"""SQS and SNS benchmark: Serverless Lab against moto_server, side by side, through boto3 over loopback.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/serverless_lab REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/bench_sqs_sns.py [--sends 300] [--batches 60] [--publishes 60]

Runs what a deployment runs: uvicorn and a Celery worker on PostgreSQL and Redis (SNS delivery is
asynchronous, so it needs both). It uses a throwaway database ``<name>_bench_sqs_sns_<pid>`` next to the one
in DATABASE_URL and its own Redis key prefix, so nothing else's workers take its tasks. moto_server
runs in memory. Each operation runs in alternating blocks (lab, moto, lab, …) so both see the same
machine load. Prints p50/p99 latency and ops/s per operation and our p50 as a ratio of moto's.

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
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import PYTHON, bench_database, bench_sandbox, drop_redis_keys, free_port, moto, percentile, process, uvicorn, wait  # noqa: E402

BODY = "x" * 1024


@contextmanager
def serverless_lab(workdir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """uvicorn and a Celery worker on a fresh database; yields the endpoint and a sandbox's credentials."""
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        sys.exit("set DATABASE_URL (PostgreSQL) and REDIS_URL: SNS delivery runs on a Celery worker")
    with bench_database(os.environ["DATABASE_URL"], "sqs_sns") as database_url:
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


class Suite:
    """One side's queues and topic, and each measured operation as ``call(i) -> seconds | None``
    (None: the call's own wall time; a number: the latency the call measured itself)."""

    def __init__(self, sqs: Any, sns: Any) -> None:
        self.sqs, self.sns = sqs, sns
        self.url = sqs.create_queue(QueueName="bench")["QueueUrl"]
        self.waiting_url = sqs.create_queue(QueueName="waiting")["QueueUrl"]
        self.topic = sns.create_topic(Name="bench")["TopicArn"]
        self.fan_urls = []
        for n in range(3):
            queue = sqs.create_queue(QueueName=f"fan-{n}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
            self.fan_urls.append(queue)
        self.entries = [{"Id": str(i), "MessageBody": BODY} for i in range(10)]
        self.pool = ThreadPoolExecutor(max_workers=3)

    def get_queue_url(self, i: int) -> None:
        self.sqs.get_queue_url(QueueName="bench")

    def send(self, i: int) -> None:
        self.sqs.send_message(QueueUrl=self.url, MessageBody=BODY)

    def receive_delete(self, i: int) -> None:
        messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=1)["Messages"]
        self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=messages[0]["ReceiptHandle"])

    def send_batch(self, i: int) -> None:
        self.sqs.send_message_batch(QueueUrl=self.url, Entries=self.entries)

    def long_poll_wakeup(self, i: int) -> float:
        """Seconds from SendMessage until a long poll that was already waiting returned the message."""

        def wait() -> float:
            messages = self.sqs.receive_message(QueueUrl=self.waiting_url, WaitTimeSeconds=10).get("Messages")
            arrived = time.perf_counter()
            self.sqs.delete_message(QueueUrl=self.waiting_url, ReceiptHandle=messages[0]["ReceiptHandle"])
            return arrived

        future = self.pool.submit(wait)
        time.sleep(0.05)
        start = time.perf_counter()
        self.sqs.send_message(QueueUrl=self.waiting_url, MessageBody=f"w{i}")
        return future.result() - start

    def _receive_one(self, queue: str, expected: str) -> float:
        messages = self.sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10).get("Messages")
        arrived = time.perf_counter()
        if not messages or messages[0]["Body"] != expected:
            sys.exit(f"{expected}: not delivered to {queue}")
        self.sqs.delete_message(QueueUrl=queue, ReceiptHandle=messages[0]["ReceiptHandle"])
        return arrived

    def publish_delivered(self, i: int) -> float:
        """Seconds from Publish until the last of the three waiting long polls got the message."""
        waiting = [self.pool.submit(self._receive_one, queue, f"m{i}") for queue in self.fan_urls]
        time.sleep(0.05)  # the long polls are waiting before we publish
        start = time.perf_counter()
        self.sns.publish(TopicArn=self.topic, Message=f"m{i}")
        return max(future.result() for future in waiting) - start

    def publish(self, i: int) -> None:
        self.sns.publish(TopicArn=self.topic, Message="x")


OPERATIONS = (
    ("get_queue_url (baseline)", "get_queue_url", "batches"),  # one read: the endpoint's own cost
    ("send_message 1 KiB", "send", "sends"),
    ("receive + delete", "receive_delete", "sends"),
    ("send_message_batch of 10", "send_batch", "batches"),
    ("send -> waiting long poll", "long_poll_wakeup", "batches"),
    ("publish -> 3 SQS delivered", "publish_delivered", "publishes"),
    ("publish (call only)", "publish", "publishes"),
)


def measure(call: Callable[[int], float | None], first: int, count: int) -> list[float]:
    samples = []
    for index in range(first, first + count):
        start = time.perf_counter()
        reported = call(index)
        samples.append(reported if reported is not None else time.perf_counter() - start)
    return samples


def run_interleaved(ours: Suite, theirs: Suite, args: argparse.Namespace) -> tuple[dict, dict]:
    """Each operation in ``args.rounds`` alternating blocks (lab, moto, lab, …), so both sides see
    the same machine load; the first call of each side is a warm-up."""
    lab: dict[str, list[float]] = {}
    ref: dict[str, list[float]] = {}
    for name, method, count_arg in OPERATIONS:
        count = getattr(args, count_arg)
        block = max(1, count // args.rounds)
        calls = (getattr(ours, method), getattr(theirs, method))
        for call in calls:
            call(10**6)  # warm-up
        lab[name], ref[name] = [], []
        for round_ in range(args.rounds):
            lab[name] += measure(calls[0], round_ * block, block)
            ref[name] += measure(calls[1], round_ * block, block)
    return lab, ref


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=300, help="send_message calls, then as many receive+delete")
    parser.add_argument("--batches", type=int, default=60, help="send_message_batch calls of 10")
    parser.add_argument("--publishes", type=int, default=60, help="publishes to a topic with 3 SQS subscribers")
    parser.add_argument("--rounds", type=int, default=6, help="alternating blocks per operation")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sqs-") as tmp:
        workdir = Path(tmp)
        with serverless_lab(workdir) as (endpoint, creds), moto(workdir) as moto_endpoint:
            ours = Suite(*clients(endpoint, creds["access_key_id"], creds["secret_access_key"]))
            theirs = Suite(*clients(moto_endpoint, "testing", "testing"))
            lab, ref = run_interleaved(ours, theirs, args)
    load = os.getloadavg()
    print(f"interleaved in {args.rounds} rounds; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    columns = ("lab p50", "lab p99", "lab op/s", "moto p50", "moto p99", "moto op/s", "p50 ratio")
    header = f"{'operation':<28} " + " ".join(f"{column:>9}" for column in columns)
    print(header)
    print("-" * len(header))
    for name, samples in lab.items():
        other = ref[name]
        p50, q50 = statistics.median(samples), statistics.median(other)
        ours_text = f"{p50 * 1000:>7.2f}ms {percentile(samples, 0.99) * 1000:>7.2f}ms {len(samples) / sum(samples):>9.0f}"
        moto_text = f"{q50 * 1000:>7.2f}ms {percentile(other, 0.99) * 1000:>7.2f}ms {len(other) / sum(other):>9.0f}"
        print(f"{name:<28} {ours_text} {moto_text} {p50 / q50:>8.2f}x")


if __name__ == "__main__":
    main()
