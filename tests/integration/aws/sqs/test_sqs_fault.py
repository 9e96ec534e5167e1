"""A consumer process killed with SIGKILL mid-processing loses nothing: its messages come back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

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


def test_killed_consumer_messages_return_and_fifo_groups_stay_ordered(sqs, live_lab, cast):
    url = sqs.create_queue(
        QueueName="jobs.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"job-{i}", MessageGroupId="g")
    sandbox = cast.sandbox
    consumer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CONSUMER,
            live_lab.endpoint_url,
            sandbox.region,
            sandbox.access_key_id,
            sandbox.secret_access_key,
            url,
        ],
        stdout=subprocess.PIPE,
    )
    try:
        taken = json.loads(consumer.stdout.readline())
        assert taken == ["job-0", "job-1", "job-2"]
        os.kill(consumer.pid, signal.SIGKILL)
    finally:
        consumer.wait()
    # While the dead consumer's visibility timeout runs, its group stays locked: no duplicate, no reordering.
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") is None
    time.sleep(2.1)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"])
    assert [m["Body"] for m in again["Messages"]] == ["job-0", "job-1", "job-2"]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in again["Messages"]} == {"2"}
