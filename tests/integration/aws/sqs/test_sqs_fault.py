"""Processes killed with SIGKILL mid-processing lose nothing and (FIFO) duplicate nothing.

(a) A consumer process dies before deleting: its messages come back after their visibility timeout.
(b) A Celery worker dies in the middle of an SNS fan-out to SQS: the delivery's transaction rolls
    back, the broker still holds the unacknowledged task (``acks_late``), and a new worker delivers
    every message, the FIFO ones exactly once and in order (standard topics: at least once).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction

from serverless_lab.celery import app
from serverless_lab.cloud.sqs.models import Queue

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[4]

CONSUMER = """
import json, sys, time, boto3
endpoint, region, key, secret, url = sys.argv[1:6]
sqs = boto3.client(
    "sqs", endpoint_url=endpoint, region_name=region, aws_access_key_id=key, aws_secret_access_key=secret
)
got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=2)["Messages"]
print(json.dumps([m["Body"] for m in got]), flush=True)
time.sleep(60)  # "processing": killed before it can delete
"""


def killed_consumer(live_lab: Any, sandbox: Any, url: str) -> list[str]:
    """Run a boto3 consumer that receives (visibility 2 s) and is SIGKILLed before deleting."""
    consumer = subprocess.Popen(
        [sys.executable, "-c", CONSUMER, live_lab.endpoint_url, sandbox.region, sandbox.access_key_id,
         sandbox.secret_access_key, url],
        stdout=subprocess.PIPE,
    )
    try:
        taken = json.loads(consumer.stdout.readline())
        os.kill(consumer.pid, signal.SIGKILL)
    finally:
        consumer.wait()
    return taken


def test_a_killed_consumers_message_returns_after_its_visibility_timeout(sqs, live_lab, cast):
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="job-1")
    assert killed_consumer(live_lab, cast.sandbox, url) == ["job-1"]
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None  # still invisible
    time.sleep(2.1)
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, MessageSystemAttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in again] == ["job-1"]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def test_killed_consumer_messages_return_and_fifo_groups_stay_ordered(sqs, live_lab, cast):
    url = sqs.create_queue(
        QueueName="jobs.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"job-{i}", MessageGroupId="g")
    assert killed_consumer(live_lab, cast.sandbox, url) == ["job-0", "job-1", "job-2"]
    # While the dead consumer's visibility timeout runs, its group stays locked: no duplicate, no reordering.
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") is None
    time.sleep(2.1)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"])
    assert [m["Body"] for m in again["Messages"]] == ["job-0", "job-1", "job-2"]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in again["Messages"]} == {"2"}


# --- (b) a Celery worker killed mid-delivery ----------------------------------------------------

# A worker of the lab's own Celery app; the replacement restores unacknowledged tasks after 5 s
# (Redis's default visibility timeout is an hour), checking every second.
WORKER = """
import sys
from serverless_lab.celery import app
if sys.argv[2] == "restore-fast":
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "visibility_timeout": 5, "unacked_restore_interval": 1, "unacked_restore_throttle": 1,
    }
app.worker_main(["worker", "-Q", "delivery", "-c", "2", "-n", sys.argv[1], "--without-gossip",
                 "--without-mingle", "--loglevel", "INFO"])
"""


def start_worker(live_lab: Any, name: str, mode: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, f"{name}@%h", mode],
        cwd=ROOT, env=live_lab.env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )


@pytest.fixture
def lab_worker_off_delivery(live_lab: Any) -> Iterator[None]:
    """The live lab's own worker stops taking deliveries while the test's workers do."""
    name = [f"test-{os.getpid()}@{socket.gethostname()}"]
    app.control.cancel_consumer("delivery", destination=name, reply=True, timeout=5)
    try:
        yield
    finally:
        app.control.add_consumer("delivery", destination=name, reply=True, timeout=5)


def make_queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def drain(sqs: Any, url: str, count: int, timeout: float) -> list[str]:
    """Receive and delete until ``count`` bodies arrived or ``timeout`` passed; bodies in arrival order."""
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        wait = max(0, min(2, int(deadline - time.monotonic())))
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            got.append(message["Body"])
        if not messages and not wait:  # a short poll: do not spin into the sandbox's rate quota
            time.sleep(0.05)
    return got


def waiting_on_locks(count: int, timeout: float = 60.0) -> None:
    """Until ``count`` other sessions wait on a row lock (the deliveries, stopped mid-transaction)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # else the transaction keeps its first view
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] >= count:
                return
            time.sleep(0.1)
    raise AssertionError(f"the deliveries never reached the locked queues ({count} expected)")


def test_a_worker_killed_mid_fan_out_loses_nothing_and_fifo_stays_exactly_once_in_order(
    live_lab, cast, sqs, lab_worker_off_delivery, tmp_path
):
    if connection.vendor != "postgresql":
        pytest.skip("stops the delivery mid-transaction with PostgreSQL row locks")
    sns = live_lab.client("sns", cast.sandbox)
    fifo_topic = sns.create_topic(
        Name="orders.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    )["TopicArn"]
    topic = sns.create_topic(Name="news")["TopicArn"]
    fifo_urls, urls = [], []
    for name in ("a.fifo", "b.fifo"):
        url, arn = make_queue(sqs, name, FifoQueue="true", ContentBasedDeduplication="true")
        sns.subscribe(TopicArn=fifo_topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        fifo_urls.append(url)
    for name in ("s1", "s2"):
        url, arn = make_queue(sqs, name)
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        urls.append(url)
    # Published while no worker takes deliveries: the tasks wait in the broker.
    sns.publish(TopicArn=topic, Message="news-0")
    for i in range(5):
        sns.publish(TopicArn=fifo_topic, Message=f"order-{i}", MessageGroupId="customer-1")
    for i in (1, 2):
        sns.publish(TopicArn=topic, Message=f"news-{i}")

    first = start_worker(live_lab, "fault-first", "default", tmp_path / "first.log")
    try:
        with transaction.atomic():
            # Lock the second queue of each fan-out: each delivery writes to the first, then waits.
            list(Queue.objects.select_for_update().filter(name__in=["b.fifo", "s2"]))
            waiting_on_locks(2)
            os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool processes, mid-transaction
            first.wait(timeout=30)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
    # The FIFO delivery died waiting for b.fifo, mid-transaction: it rolled back, a.fifo got nothing.
    # (The standard one was waiting to COMMIT, for its deferred foreign-key check on s2: that commit
    # may complete after its worker died, so standard topics are at-least-once, as on AWS.)
    for url in fifo_urls:
        assert sqs.receive_message(QueueUrl=url).get("Messages") is None

    second = start_worker(live_lab, "fault-second", "restore-fast", tmp_path / "second.log")
    try:
        for url in fifo_urls:
            assert drain(sqs, url, 5, timeout=60) == [f"order-{i}" for i in range(5)]  # all, in order
        for url in urls:  # every message, at least once
            got: list[str] = []
            deadline = time.monotonic() + 60
            while set(got) != {"news-0", "news-1", "news-2"} and time.monotonic() < deadline:
                got += drain(sqs, url, 1, timeout=2)
            assert set(got) == {"news-0", "news-1", "news-2"}
        time.sleep(2)  # a late duplicate would land now
        for url in fifo_urls:
            assert drain(sqs, url, 1, timeout=1) == []
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        try:
            second.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(second.pid, signal.SIGKILL)
            second.wait()
