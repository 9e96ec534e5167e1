"""SNS tests: boto3 sns and sqs clients for Alice's sandbox over real HTTP, and a queue factory."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def sns(live_lab: Any, cast: Any) -> Any:
    return live_lab.client("sns", cast.sandbox)


@pytest.fixture
def sqs(live_lab: Any, cast: Any) -> Any:
    return live_lab.client("sqs", cast.sandbox)


@pytest.fixture
def make_queue(sqs: Any) -> Callable[..., tuple[str, str]]:
    """Create a queue; return (url, arn)."""

    def make(name: str, **attributes: str) -> tuple[str, str]:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    return make


@pytest.fixture
def drain(sqs: Any) -> Callable[..., list[dict[str, Any]]]:
    """Receive until ``count`` messages arrived (or ``timeout``); parse SNS envelopes unless raw."""

    def receive(url: str, count: int, timeout: float = 10.0, raw: bool = False) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            wait = max(0, min(2, int(deadline - time.monotonic())))
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait, MessageAttributeNames=["All"]
            ).get("Messages", [])
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                got.append(message if raw else json.loads(message["Body"]))
            if not messages and not wait:  # a short poll: do not spin into the sandbox's rate quota
                time.sleep(0.05)
        return got

    return receive
