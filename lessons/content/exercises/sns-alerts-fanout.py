"""Checks for "Fan out alerts, and filter the critical ones"."""

from __future__ import annotations

import json
import secrets
from typing import Any

from lessons.checks import check, fail

QUEUES = ("alerts-all", "alerts-critical")


def _topic_arn(session: Any) -> str:
    arns = [t["TopicArn"] for t in session.client("sns").list_topics()["Topics"]]
    found = [arn for arn in arns if arn.rsplit(":", 1)[-1] == "alerts"]
    if not found:
        fail("There is no topic named 'alerts'.")
    return found[0]


def _queue_arn(session: Any, name: str) -> str:
    sqs = session.client("sqs")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _subscriptions(session: Any) -> dict[str, str]:
    """Queue name -> subscription ARN, for the sqs subscriptions of 'alerts'."""
    sns = session.client("sns")
    found = {}
    for sub in sns.list_subscriptions_by_topic(TopicArn=_topic_arn(session))["Subscriptions"]:
        if sub["Protocol"] == "sqs":
            found[sub["Endpoint"].rsplit(":", 1)[-1]] = sub["SubscriptionArn"]
    return found


@check("A topic named 'alerts' exists")
def topic_exists(session: Any) -> None:
    _topic_arn(session)


@check("Queues 'alerts-all' and 'alerts-critical' are both subscribed to 'alerts'")
def both_subscribed(session: Any) -> None:
    for name in QUEUES:
        _queue_arn(session, name)
    missing = [name for name in QUEUES if name not in _subscriptions(session)]
    if missing:
        fail(f"Not subscribed to 'alerts': {', '.join(missing)}.")


@check("The 'alerts-critical' subscription has a filter policy on 'severity'")
def filter_policy(session: Any) -> None:
    arn = _subscriptions(session).get("alerts-critical")
    if arn is None:
        fail("'alerts-critical' is not subscribed to 'alerts' yet.")
    attributes = session.client("sns").get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    policy = json.loads(attributes.get("FilterPolicy") or "{}")
    if "severity" not in policy:
        fail(f"Its filter policy is {policy or 'not set'}; it must filter on the 'severity' attribute.")


def _received(session: Any, name: str, marker: str) -> set[str]:
    """The severities of this check's messages that arrived in queue ``name`` (deleting them)."""
    sqs = session.client("sqs")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    seen: set[str] = set()
    for _ in range(3):
        response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2, VisibilityTimeout=0)
        for message in response.get("Messages", []):
            body = message["Body"]
            if marker in body:
                seen.add("critical" if f"critical-{marker}" in body else "info")
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if len(seen) == 2:
            break
    return seen


@check("A critical alert reaches both queues; an informational one only 'alerts-all'")
def delivery(session: Any) -> None:
    sns, marker = session.client("sns"), secrets.token_hex(6)
    topic = _topic_arn(session)
    for severity in ("critical", "info"):
        sns.publish(
            TopicArn=topic,
            Message=f"grader alert {severity}-{marker}",
            MessageAttributes={"severity": {"DataType": "String", "StringValue": severity}},
        )
    everything, critical = _received(session, "alerts-all", marker), _received(session, "alerts-critical", marker)
    if everything != {"critical", "info"}:
        fail(f"'alerts-all' received {sorted(everything) or 'nothing'}; it must get both alerts.")
    if critical != {"critical"}:
        fail(f"'alerts-critical' received {sorted(critical) or 'nothing'}; it must get only the critical one.")


def solution(session: Any) -> None:
    sns, sqs = session.client("sns"), session.client("sqs")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    for name in QUEUES:
        sqs.create_queue(QueueName=name)
        attributes = {"FilterPolicy": json.dumps({"severity": ["critical"]})} if name == "alerts-critical" else {}
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=_queue_arn(session, name), Attributes=attributes)
