"""What the SNS console pages read: topics, subscriptions, the simulated inboxes; and the console's
filter-policy change (scope and policy together, in one transaction)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse

from serverless_lab.cloud.lambda_ import logic as lambda_logic
from serverless_lab.cloud.lambda_.models import Function
from serverless_lab.cloud.sqs import logic as sqs_logic
from serverless_lab.cloud.sqs.models import Queue
from serverless_lab.sandboxes.models import Sandbox

from . import backend, exceptions
from .forms import pretty_policy
from .models import InboxMessage, Subscription, Topic

INBOX_ROWS = 50
INBOX_PROTOCOLS = {"email": ("email", "email-json"), "sms": ("sms",), "webhook": ("http", "https")}


@dataclass
class TopicRow:
    name: str
    fifo: bool
    confirmed: int
    pending: int


@dataclass
class SubscriptionRow:
    id: str
    arn: str
    protocol: str
    endpoint: str
    confirmed: bool
    raw: bool
    policy: str  # indented JSON, "" without a policy
    scope: str
    queue_name: str  # the sandbox queue an sqs subscription delivers to ("" otherwise)
    dlq_name: str  # the queue of its RedrivePolicy ("" without one)


@dataclass
class InboxRow:
    id: int
    protocol: str
    endpoint: str
    subject: str
    body: str
    headers: dict[str, str]
    topic_name: str
    created_at: datetime
    confirmation: bool
    subscribe_url: str
    confirmed: bool  # for a confirmation: whether its subscription is confirmed by now


def topic_rows(*, sandbox: Sandbox) -> list[TopicRow]:
    rows = Topic.objects.filter(sandbox=sandbox).annotate(
        n_confirmed=Count("subscriptions", filter=Q(subscriptions__confirmed=True)),
        n_pending=Count("subscriptions", filter=Q(subscriptions__confirmed=False)),
    )
    return [TopicRow(t.name, t.fifo, t.n_confirmed, t.n_pending) for t in rows.order_by("name")]  # type: ignore[attr-defined]


def get_topic(*, sandbox: Sandbox, name: str) -> Topic:
    """The sandbox's topic ``name``; raises NotFound."""
    topic = Topic.objects.filter(sandbox=sandbox, name=name).first()
    if topic is None:
        raise exceptions.NotFound("Topic does not exist")
    topic.sandbox = sandbox
    return topic


def get_subscription(*, sandbox: Sandbox, subscription_id: str) -> Subscription:
    """The sandbox's subscription with this id; raises NotFound."""
    try:
        uuid.UUID(subscription_id)
    except ValueError:
        raise exceptions.NotFound("Subscription does not exist") from None
    subscription = (
        Subscription.objects.filter(sandbox=sandbox, subscription_id=subscription_id).select_related("topic").first()
    )
    if subscription is None:
        raise exceptions.NotFound("Subscription does not exist")
    subscription.topic.sandbox = sandbox
    return subscription


def subscription_rows(topic: Topic) -> list[SubscriptionRow]:
    rows = []
    queues = set(Queue.objects.filter(sandbox=topic.sandbox).values_list("name", flat=True))
    for subscription in topic.subscriptions.order_by("created_at", "id"):
        subscription.topic = topic
        attributes = subscription.attributes
        queue = sqs_logic.parse_queue_arn(subscription.endpoint) if subscription.protocol == "sqs" else None
        policy = attributes.get("FilterPolicy", "")
        rows.append(
            SubscriptionRow(
                str(subscription.subscription_id),
                backend.subscription_arn_of(subscription),
                subscription.protocol,
                subscription.endpoint,
                subscription.confirmed,
                attributes.get("RawMessageDelivery") == "true",
                pretty_policy(policy) if policy else "",
                attributes.get("FilterPolicyScope") or "MessageAttributes",
                queue[2] if queue and queue[1] == topic.sandbox.account_id and queue[2] in queues else "",
                (sqs_logic.parse_queue_arn(subscription_dead_letter_queue(subscription)) or ("", "", ""))[2],
            )
        )
    return rows


def endpoint_suggestions(*, sandbox: Sandbox) -> list[tuple[str, str]]:
    """(value, label) the subscribe form offers: the sandbox's queues and functions, and inbox addresses."""
    region, account = sandbox.region, sandbox.account_id
    queues = Queue.objects.filter(sandbox=sandbox).order_by("name").values_list("name", flat=True)
    functions = Function.objects.filter(sandbox=sandbox).order_by("name").values_list("name", flat=True)
    return [
        *((sqs_logic.queue_arn(region, account, name), f"SQS queue {name}") for name in queues),
        *((lambda_logic.function_arn(region, account, name), f"Lambda function {name}") for name in functions),
        ("student@example.com", "an email inbox"),
        ("+15555550100", "a phone"),
        (webhook_url(sandbox), "this sandbox's webhook inbox"),
    ]


def webhook_url(sandbox: Sandbox) -> str:
    """A URL of this lab for HTTP subscriptions: SNS records what it would POST there in the inbox."""
    return settings.LAB_PUBLIC_URL + reverse("sns:webhook", args=[sandbox.pk])


def inbox_rows(*, sandbox: Sandbox, box: str = "") -> list[InboxRow]:
    """The newest inbox messages (all, or one box: email, sms, webhook)."""
    messages = InboxMessage.objects.filter(sandbox=sandbox)
    if box in INBOX_PROTOCOLS:
        messages = messages.filter(protocol__in=INBOX_PROTOCOLS[box])
    found = list(messages.order_by("-created_at", "-id")[:INBOX_ROWS])
    tokens = {}
    for message in found:
        doc = _confirmation(message)
        if doc:
            tokens[message.pk] = doc
    confirmed = set(
        Subscription.objects.filter(
            sandbox=sandbox, confirmed=True, token__in=[d["Token"] for d in tokens.values()]
        ).values_list("token", flat=True)
    )
    rows = []
    for message in found:
        doc = tokens.get(message.pk)
        body = message.body
        if message.protocol in ("email-json", "http", "https") or doc:
            body = pretty_policy(body)
        rows.append(
            InboxRow(
                message.pk,
                message.protocol,
                message.endpoint,
                message.subject,
                body,
                message.headers,
                message.topic_arn.rsplit(":", 1)[-1] if message.topic_arn else "",
                message.created_at,
                doc is not None,
                doc.get("SubscribeURL", "") if doc else "",
                bool(doc) and doc["Token"] in confirmed,
            )
        )
    return rows


def _confirmation(message: InboxMessage) -> dict[str, Any] | None:
    """The SubscriptionConfirmation document a message carries, or None."""
    if message.headers.get("x-amz-sns-message-type") != "SubscriptionConfirmation":
        return None
    try:
        doc = json.loads(message.body)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not doc.get("Token") or not doc.get("TopicArn"):
        return None
    return doc


def confirm_from_inbox(*, sandbox: Sandbox, message_id: int) -> Subscription:
    """Confirm the subscription an inbox confirmation asks about, as visiting its SubscribeURL does."""
    message = InboxMessage.objects.filter(sandbox=sandbox, pk=message_id).first()
    doc = _confirmation(message) if message else None
    if doc is None:
        raise exceptions.NotFound("No such subscription confirmation")
    return backend.confirm_subscription(sandbox=sandbox, topic_arn=doc["TopicArn"], token=doc["Token"])


def update_subscription(
    *, sandbox: Sandbox, subscription: Subscription, policy: str, scope: str, raw: bool | None, dlq_arn: str
) -> None:
    """Set a subscription's filter policy (removed when empty) and scope, raw delivery (None: leave
    it) and dead-letter queue ("" for none), all or nothing."""
    arn = backend.subscription_arn_of(subscription)

    def put(name: str, value: str) -> None:
        backend.set_subscription_attributes(sandbox=sandbox, arn=arn, name=name, value=value)

    with transaction.atomic():
        if policy:  # clear first: the new scope may not fit the old policy
            put("FilterPolicy", "")
            put("FilterPolicyScope", scope)
        put("FilterPolicy", policy)
        if raw is not None:
            put("RawMessageDelivery", "true" if raw else "false")
        if dlq_arn or subscription.attributes.get("RedrivePolicy"):
            put("RedrivePolicy", json.dumps({"deadLetterTargetArn": dlq_arn}) if dlq_arn else "")


def dead_letter_choices(*, sandbox: Sandbox) -> list[tuple[str, str]]:
    """(ARN, name) of the sandbox's standard queues, for a subscription's dead-letter queue."""
    names = Queue.objects.filter(sandbox=sandbox, fifo=False).order_by("name").values_list("name", flat=True)
    return [(sqs_logic.queue_arn(sandbox.region, sandbox.account_id, name), name) for name in names]


def subscription_dead_letter_queue(subscription: Subscription) -> str:
    """The ARN in a subscription's RedrivePolicy, or ""."""
    try:
        return str(json.loads(subscription.attributes.get("RedrivePolicy") or "{}").get("deadLetterTargetArn", ""))
    except (ValueError, AttributeError):
        return ""
