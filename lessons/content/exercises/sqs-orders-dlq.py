"""Checks for "A queue with a dead-letter queue"."""

from __future__ import annotations

import json
from typing import Any

from lessons.checks import check, fail


def _attributes(session: Any, name: str) -> dict[str, str]:
    sqs = session.client("sqs")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def _redrive(session: Any) -> dict[str, Any]:
    text = _attributes(session, "orders").get("RedrivePolicy")
    if not text:
        fail("The queue 'orders' has no RedrivePolicy attribute.")
    return json.loads(text)


@check("A queue named 'orders-dlq' exists")
def dlq_exists(session: Any) -> None:
    _attributes(session, "orders-dlq")


@check("The queue 'orders' sends its dead letters to 'orders-dlq'")
def redrive_target(session: Any) -> None:
    target = _redrive(session).get("deadLetterTargetArn", "")
    arn = _attributes(session, "orders-dlq")["QueueArn"]
    if target != arn:
        fail(f"Its deadLetterTargetArn is {target or 'missing'}; it must be {arn}.")


@check("A message moves to the DLQ after 3 receives (maxReceiveCount 3)")
def max_receive_count(session: Any) -> None:
    count = _redrive(session).get("maxReceiveCount")
    if str(count) != "3":
        fail(f"maxReceiveCount is {count!r}; it must be 3.")


def solution(session: Any) -> None:
    sqs = session.client("sqs")
    dlq_url = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}
    sqs.create_queue(QueueName="orders", Attributes={"RedrivePolicy": json.dumps(policy)})
