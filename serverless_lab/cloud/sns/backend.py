"""SNS operations on the database: one function per operation, each in one transaction.

Publish stores nothing but FIFO deduplication state: it validates, assigns the message id (and
sequence number) and queues ``tasks.deliver`` on commit, which fans the message out to the
topic's confirmed subscriptions through ``delivery`` below.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from serverless_lab.sandboxes.models import Sandbox

from . import filter_policy, logic
from .events import announce
from .exceptions import InvalidParameter, NotFound, ResourceNotFound, SnsError
from .models import Deduplication, FifoOutbox, InboxMessage, Subscription, Topic

PAGE = 100


@contextmanager
def _rules() -> Iterator[None]:
    try:
        yield
    except logic.SnsRuleError as error:
        raise SnsError(error.message, code=error.code) from None
    except filter_policy.FilterPolicyError as error:
        raise InvalidParameter(f"FilterPolicy: {error}") from None


def now_ms() -> int:
    return int(time.time() * 1000)


# --- topics ---------------------------------------------------------------------------------


def topic_arn_of(topic: Topic) -> str:
    return logic.topic_arn(topic.sandbox.region, topic.sandbox.account_id, topic.name)


def subscription_arn_of(subscription: Subscription) -> str:
    return f"{topic_arn_of(subscription.topic)}:{subscription.subscription_id}"


def find_topic(*, sandbox: Sandbox, arn: str) -> Topic:
    parsed = logic.parse_arn(arn or "", "sns")
    if parsed is None:
        raise InvalidParameter("TopicArn")
    topic = None
    if parsed[1] == sandbox.account_id:
        topic = Topic.objects.filter(sandbox=sandbox, name=parsed[2]).first()
    if topic is None:
        raise NotFound("Topic does not exist")
    topic.sandbox = sandbox
    return topic


def create_topic(*, sandbox: Sandbox, name: str, attributes: dict[str, str], tags: dict[str, str]) -> Topic:
    fifo = attributes.get("FifoTopic", "false").lower() == "true"
    with _rules():
        logic.check_topic_name(name, fifo)
    clean = _topic_attributes(attributes, fifo)
    with transaction.atomic():
        existing = Topic.objects.filter(sandbox=sandbox, name=name).first()
        if existing is not None:
            if any(existing.attributes.get(k, "") != v for k, v in clean.items() if k != "FifoTopic"):
                raise InvalidParameter("Attributes Reason: Topic already exists with different attributes")
            existing.sandbox = sandbox
            return existing
        try:
            with transaction.atomic():
                topic = Topic.objects.create(sandbox=sandbox, name=name, fifo=fifo, attributes=clean, tags=tags)
        except IntegrityError:
            return find_topic(sandbox=sandbox, arn=logic.topic_arn(sandbox.region, sandbox.account_id, name))
        announce(sandbox.pk, f"SNS topic {name} created")
    return topic


def _topic_attributes(attributes: dict[str, str], fifo: bool) -> dict[str, str]:
    clean = {}
    for name, value in attributes.items():
        if name not in logic.TOPIC_ATTRIBUTES:
            raise InvalidParameter(f"Attributes Reason: Unknown attribute {name}")
        if name in ("FifoTopic", "ContentBasedDeduplication"):
            if value.lower() not in ("true", "false"):
                raise InvalidParameter(f"Attributes Reason: {name} must be true or false")
            if name == "ContentBasedDeduplication" and not fifo and value.lower() == "true":
                raise InvalidParameter("Attributes Reason: Content-based deduplication can only be set for FIFO topics")
            value = value.lower()
        if name in ("Policy", "DeliveryPolicy", "ArchivePolicy", "DataProtectionPolicy") and value:
            try:
                json.loads(value)
            except ValueError:
                raise InvalidParameter(f"Attributes Reason: {name}: failed to parse JSON") from None
        clean[name] = value
    clean.pop("FifoTopic", None)
    return clean


def delete_topic(*, sandbox: Sandbox, arn: str) -> None:
    """Delete a topic and its subscriptions; like AWS, deleting a missing topic is no error."""
    with transaction.atomic():
        try:
            topic = find_topic(sandbox=sandbox, arn=arn)
        except NotFound:
            return
        topic.delete()
        announce(sandbox.pk, f"SNS topic {topic.name} deleted")


def list_topics(*, sandbox: Sandbox, next_token: str | None) -> tuple[list[Topic], str | None]:
    topics = Topic.objects.filter(sandbox=sandbox).order_by("name")
    if next_token:
        topics = topics.filter(name__gt=next_token)
    rows = list(topics[: PAGE + 1])
    for row in rows:
        row.sandbox = sandbox
    return rows[:PAGE], (rows[PAGE - 1].name if len(rows) > PAGE else None)


def get_topic_attributes(*, sandbox: Sandbox, arn: str) -> dict[str, str]:
    topic = find_topic(sandbox=sandbox, arn=arn)
    arn = topic_arn_of(topic)
    counts = {True: 0, False: 0}
    for confirmed in topic.subscriptions.values_list("confirmed", flat=True):
        counts[confirmed] += 1
    attributes = {
        "TopicArn": arn,
        "Owner": sandbox.account_id,
        "DisplayName": "",
        "Policy": json.dumps(_default_policy(arn, sandbox.account_id)),
        "SubscriptionsConfirmed": str(counts[True]),
        "SubscriptionsPending": str(counts[False]),
        "SubscriptionsDeleted": "0",
        "EffectiveDeliveryPolicy": json.dumps(_DEFAULT_DELIVERY_POLICY),
    }
    if topic.fifo:
        attributes.update(FifoTopic="true", ContentBasedDeduplication="false")
    attributes.update(topic.attributes)
    return attributes


_DEFAULT_DELIVERY_POLICY = {
    "http": {
        "defaultHealthyRetryPolicy": {
            "minDelayTarget": 20,
            "maxDelayTarget": 20,
            "numRetries": 3,
            "numMaxDelayRetries": 0,
            "numNoDelayRetries": 0,
            "numMinDelayRetries": 0,
            "backoffFunction": "linear",
        },
        "disableSubscriptionOverrides": False,
        "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"},
    }
}


def _default_policy(arn: str, account_id: str) -> dict[str, Any]:
    return {
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [
            {
                "Sid": "__default_statement_ID",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["SNS:Publish", "SNS:Subscribe", "SNS:GetTopicAttributes", "SNS:SetTopicAttributes"],
                "Resource": arn,
                "Condition": {"StringEquals": {"AWS:SourceOwner": account_id}},
            }
        ],
    }


def set_topic_attributes(*, sandbox: Sandbox, arn: str, name: str, value: str) -> None:
    with transaction.atomic():
        topic = find_topic(sandbox=sandbox, arn=arn)
        if name == "FifoTopic":
            raise InvalidParameter("AttributeName")
        if name not in logic.TOPIC_ATTRIBUTES:
            raise InvalidParameter("AttributeName")
        topic.attributes = {**topic.attributes, **_topic_attributes({name: value or ""}, topic.fifo)}
        topic.save(update_fields=["attributes"])


def _tagged_topic(sandbox: Sandbox, arn: str) -> Topic:
    try:
        return find_topic(sandbox=sandbox, arn=arn)
    except (NotFound, InvalidParameter):
        raise ResourceNotFound("Resource does not exist") from None


def tag_resource(*, sandbox: Sandbox, arn: str, tags: dict[str, str]) -> None:
    with transaction.atomic():
        topic = _tagged_topic(sandbox, arn)
        merged = {**topic.tags, **tags}
        if len(merged) > 50:
            raise SnsError("Could not complete request: tag quota of per resource exceeded", code="TagLimitExceeded")
        topic.tags = merged
        topic.save(update_fields=["tags"])


def untag_resource(*, sandbox: Sandbox, arn: str, keys: list[str]) -> None:
    with transaction.atomic():
        topic = _tagged_topic(sandbox, arn)
        topic.tags = {k: v for k, v in topic.tags.items() if k not in set(keys)}
        topic.save(update_fields=["tags"])


def list_tags_for_resource(*, sandbox: Sandbox, arn: str) -> dict[str, str]:
    return _tagged_topic(sandbox, arn).tags


# --- subscriptions --------------------------------------------------------------------------


def _subscription_attributes(attributes: dict[str, str], protocol: str) -> dict[str, str]:
    clean = {}
    for name, value in attributes.items():
        if name not in logic.SUBSCRIPTION_ATTRIBUTES:
            raise InvalidParameter("AttributeName")
        if name == "RawMessageDelivery":
            if value.lower() not in ("true", "false"):
                raise InvalidParameter(
                    "Attributes Reason: RawMessageDelivery: Invalid value [" + value + "]. Must be true or false."
                )
            if protocol not in ("sqs", "http", "https", "firehose"):
                raise InvalidParameter(
                    "Attributes Reason: Delivery protocol [" + protocol + "] does not support raw message delivery."
                )
            value = value.lower()
        if name == "FilterPolicyScope" and value not in ("MessageAttributes", "MessageBody"):
            raise InvalidParameter(
                f"Attributes Reason: FilterPolicyScope: Invalid value [{value}]. "
                "Please use either MessageBody or MessageAttributes"
            )
        if name == "RedrivePolicy" and value:
            try:
                target = json.loads(value).get("deadLetterTargetArn", "")
            except (ValueError, AttributeError):
                target = ""
            if logic.parse_arn(target, "sqs") is None:
                raise InvalidParameter("RedrivePolicy: deadLetterTargetArn is invalid")
        clean[name] = value
    return clean


def _check_filter_policy(attributes: dict[str, str]) -> None:
    policy = attributes.get("FilterPolicy")
    if policy:
        with _rules():
            filter_policy.parse(policy, attributes.get("FilterPolicyScope") or "MessageAttributes")


def subscribe(
    *, sandbox: Sandbox, topic_arn: str, protocol: str, endpoint: str, attributes: dict[str, str]
) -> Subscription:
    protocol = (protocol or "").lower()
    with _rules():
        logic.check_endpoint(protocol, endpoint or "", settings.LAB_PUBLIC_URL)
    clean = _subscription_attributes(attributes, protocol)
    _check_filter_policy(clean)
    with transaction.atomic():
        topic = find_topic(sandbox=sandbox, arn=topic_arn)
        if topic.fifo and protocol != "sqs":
            raise InvalidParameter("Endpoint Reason: FIFO topics support only SQS subscriptions")
        if protocol == "sqs":
            _check_sqs_endpoint(topic, endpoint)
        existing = Subscription.objects.filter(topic=topic, protocol=protocol, endpoint=endpoint).first()
        if existing is not None:
            if any(existing.attributes.get(k) != v for k, v in clean.items()):
                raise InvalidParameter("Attributes Reason: Subscription already exists with different attributes")
            existing.topic = topic
            return existing
        confirmed = protocol not in logic.NEEDS_CONFIRMATION
        subscription = Subscription.objects.create(
            sandbox=sandbox,
            topic=topic,
            protocol=protocol,
            endpoint=endpoint,
            attributes=clean,
            confirmed=confirmed,
            token="" if confirmed else secrets.token_hex(32),
        )
        subscription.topic = topic
        if not confirmed:
            _request_confirmation(subscription)
        announce(sandbox.pk, f"SNS {protocol} subscription to {topic.name}: {endpoint}")
    return subscription


def _check_sqs_endpoint(topic: Topic, endpoint: str) -> None:
    parsed = logic.parse_arn(endpoint, "sqs")
    fifo_queue = bool(parsed and parsed[2].endswith(".fifo"))
    if fifo_queue != topic.fifo:
        raise InvalidParameter(
            "Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics"
            if fifo_queue
            else "Endpoint Reason: Please use FIFO SQS queue"
        )


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _request_confirmation(subscription: Subscription) -> None:
    """AWS's SubscriptionConfirmation, delivered to the lab inbox (email or webhook)."""
    topic_arn = topic_arn_of(subscription.topic)
    doc = logic.envelope(
        message_type="SubscriptionConfirmation",
        message_id=str(uuid.uuid4()),
        topic_arn=topic_arn,
        message=f"You have chosen to subscribe to the topic {topic_arn}.\nTo confirm the subscription, "
        "visit the SubscribeURL included in this message.",
        timestamp=_now_iso(),
        subject=None,
        attributes={},
        lab_url=settings.LAB_PUBLIC_URL,
        subscription_arn="",
        secret=subscription.sandbox.secret_access_key,
        token=subscription.token,
    )
    InboxMessage.objects.create(
        sandbox=subscription.sandbox,
        protocol=subscription.protocol,
        endpoint=subscription.endpoint,
        subject="AWS Notification - Subscription Confirmation",
        body=json.dumps(doc, indent=2),
        headers={"x-amz-sns-message-type": "SubscriptionConfirmation"},
        topic_arn=topic_arn,
    )


def confirm_subscription(*, sandbox: Sandbox, topic_arn: str, token: str) -> Subscription:
    with transaction.atomic():
        topic = find_topic(sandbox=sandbox, arn=topic_arn)
        subscription = Subscription.objects.filter(topic=topic, token=token).first() if token else None
        if subscription is None:
            raise InvalidParameter("Token")
        subscription.topic = topic
        if not subscription.confirmed:
            subscription.confirmed = True
            subscription.save(update_fields=["confirmed"])
            announce(sandbox.pk, f"SNS subscription confirmed: {subscription.endpoint}")
    return subscription


def find_subscription(*, sandbox: Sandbox, arn: str) -> Subscription:
    topic_part, _, sub_id = (arn or "").rpartition(":")
    topic = find_topic(sandbox=sandbox, arn=topic_part) if logic.parse_arn(topic_part, "sns") else None
    try:
        uuid.UUID(sub_id)
    except ValueError:
        raise InvalidParameter("SubscriptionArn") from None
    subscription = Subscription.objects.filter(topic=topic, subscription_id=sub_id).first() if topic else None
    if subscription is None:
        raise NotFound("Subscription does not exist")
    subscription.topic = topic
    return subscription


def unsubscribe(*, sandbox: Sandbox, arn: str) -> None:
    with transaction.atomic():
        subscription = find_subscription(sandbox=sandbox, arn=arn)
        subscription.delete()
        announce(sandbox.pk, f"SNS unsubscribed {subscription.endpoint}")


def list_subscriptions(
    *, sandbox: Sandbox, topic_arn: str | None, next_token: str | None
) -> tuple[list[Subscription], str | None]:
    subscriptions = Subscription.objects.filter(sandbox=sandbox).select_related("topic").order_by("id")
    if topic_arn is not None:
        subscriptions = subscriptions.filter(topic=find_topic(sandbox=sandbox, arn=topic_arn))
    if next_token:
        if not next_token.isdigit():
            raise InvalidParameter("NextToken")
        subscriptions = subscriptions.filter(id__gt=int(next_token))
    rows = list(subscriptions[: PAGE + 1])
    for row in rows:
        row.topic.sandbox = sandbox
    return rows[:PAGE], (str(rows[PAGE - 1].pk) if len(rows) > PAGE else None)


def get_subscription_attributes(*, sandbox: Sandbox, arn: str) -> dict[str, str]:
    subscription = find_subscription(sandbox=sandbox, arn=arn)
    attributes = {
        "SubscriptionArn": subscription_arn_of(subscription),
        "TopicArn": topic_arn_of(subscription.topic),
        "Owner": sandbox.account_id,
        "Protocol": subscription.protocol,
        "Endpoint": subscription.endpoint,
        "ConfirmationWasAuthenticated": "true" if subscription.confirmed else "false",
        "PendingConfirmation": "false" if subscription.confirmed else "true",
        "RawMessageDelivery": "false",
        "EffectiveDeliveryPolicy": json.dumps(_DEFAULT_DELIVERY_POLICY),
    }
    attributes.update(subscription.attributes)
    if "FilterPolicy" in subscription.attributes:
        attributes.setdefault("FilterPolicyScope", "MessageAttributes")
    return attributes


def set_subscription_attributes(*, sandbox: Sandbox, arn: str, name: str, value: str) -> None:
    with transaction.atomic():
        subscription = find_subscription(sandbox=sandbox, arn=arn)
        merged = {**subscription.attributes, **_subscription_attributes({name: value or ""}, subscription.protocol)}
        if not merged.get("FilterPolicy"):
            merged.pop("FilterPolicy", None)
        _check_filter_policy(merged)
        subscription.attributes = merged
        subscription.save(update_fields=["attributes"])


# --- publishing -----------------------------------------------------------------------------


@dataclass
class Outgoing:
    message: str
    subject: str | None = None
    structure: str | None = None
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    group_id: str | None = None
    dedup_id: str | None = None


@dataclass
class Publication:
    """What ``tasks.deliver`` needs to fan one message out (JSON-serialisable for Celery)."""

    sandbox_id: int
    topic_id: int
    topic_arn: str
    message_id: str
    message: str
    per_protocol: dict[str, str] | None
    subject: str | None
    attributes: dict[str, dict[str, str]]
    timestamp: str
    published_ms: int
    group_id: str | None = None
    dedup_id: str | None = None
    sequence_number: str | None = None
    trace_header: str | None = None  # the Publish call's X-Amzn-Trace-Id to pass on: deliveries join its trace


def _check_outgoing(topic: Topic, message: Outgoing) -> dict[str, str] | None:
    with _rules():
        per_protocol = logic.check_message(message.message, message.structure)
        logic.check_subject(message.subject)
        logic.check_message_attributes(message.attributes)
        if topic.fifo:
            if not message.group_id:
                raise logic.invalid("The MessageGroupId parameter is required for FIFO topics")
            logic.check_token("MessageGroupId", message.group_id)
            if message.dedup_id:
                logic.check_token("MessageDeduplicationId", message.dedup_id)
            elif topic.attributes.get("ContentBasedDeduplication") != "true":
                raise logic.invalid(
                    "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId "
                    "provided explicitly"
                )
        elif message.dedup_id:
            raise logic.invalid(
                "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is "
                "not valid for this topic type"
            )
    return per_protocol


def _prepare(topic: Topic, message: Outgoing, at: int, trace_header: str | None) -> Publication:
    """A checked publication; for FIFO topics it takes a sequence number or repeats a duplicate's."""
    per_protocol = _check_outgoing(topic, message)
    publication = Publication(
        sandbox_id=topic.sandbox_id,
        topic_id=topic.pk,
        topic_arn=topic_arn_of(topic),
        message_id=str(uuid.uuid4()),
        message=message.message,
        per_protocol=per_protocol,
        subject=message.subject,
        attributes=logic.stored_attributes(message.attributes),
        timestamp=_now_iso(),
        published_ms=at,
        group_id=message.group_id,
        trace_header=trace_header,
    )
    if topic.fifo:
        dedup_id = message.dedup_id or logic.content_dedup_id(message.message)
        Deduplication.objects.filter(topic=topic, expires_ms__lte=at).delete()
        seen = Deduplication.objects.filter(topic=topic, dedup_id=dedup_id).first()
        if seen is not None:
            publication.message_id = str(seen.message_id)
            publication.sequence_number = f"{seen.sequence:020d}"
            publication.dedup_id = None  # a duplicate: reported as sent, delivered no more
            return publication
        sequence = topic.next_sequence
        topic.next_sequence += 1
        Topic.objects.filter(pk=topic.pk).update(next_sequence=topic.next_sequence)
        Deduplication.objects.create(
            topic=topic,
            dedup_id=dedup_id,
            message_id=publication.message_id,
            sequence=sequence,
            expires_ms=at + logic.DEDUP_WINDOW_MS,
        )
        publication.dedup_id = dedup_id
        publication.sequence_number = f"{sequence:020d}"
    return publication


def _schedule(publication: Publication) -> None:
    """Queue delivery on commit. FIFO publications go through the topic's outbox, which one
    worker at a time drains in sequence order (parallel tasks would reorder them)."""
    from .tasks import deliver, deliver_fifo

    if publication.sequence_number is None:
        deliver.delay_on_commit(asdict(publication))
    elif publication.dedup_id is not None:  # not a duplicate
        FifoOutbox.objects.create(
            topic_id=publication.topic_id, sequence=int(publication.sequence_number), publication=asdict(publication)
        )
        deliver_fifo.delay_on_commit(publication.topic_id)


def _locked_topic(sandbox: Sandbox, arn: str) -> Topic:
    topic = find_topic(sandbox=sandbox, arn=arn)
    if topic.fifo:
        topic = Topic.objects.select_for_update().get(pk=topic.pk)
        topic.sandbox = sandbox
    return topic


def publish(
    *,
    sandbox: Sandbox,
    topic_arn: str | None,
    phone_number: str | None,
    message: Outgoing,
    trace_header: str | None = None,
) -> Publication | str:
    """Publish to a topic (returns the Publication) or send one SMS straight to a phone (its message id)."""
    if phone_number and not topic_arn:
        with _rules():
            logic.check_endpoint("sms", phone_number, settings.LAB_PUBLIC_URL)
            logic.check_message(message.message, None)
        message_id = str(uuid.uuid4())
        with transaction.atomic():
            InboxMessage.objects.create(sandbox=sandbox, protocol="sms", endpoint=phone_number, body=message.message)
            announce(sandbox.pk, f"SNS SMS sent to {phone_number}")
        return message_id
    if not topic_arn:
        raise InvalidParameter("TopicArn or TargetArn Reason: no value for required parameter")
    topic = find_topic(sandbox=sandbox, arn=topic_arn)
    with transaction.atomic() if topic.fifo else nullcontext():  # a standard topic writes nothing
        if topic.fifo:
            topic = _locked_topic(sandbox, topic_arn)
        publication = _prepare(topic, message, now_ms(), trace_header)
        _schedule(publication)
        announce(sandbox.pk, f"SNS message {publication.message_id[:8]} published to {topic.name}")
    return publication


def publish_batch(
    *, sandbox: Sandbox, topic_arn: str, entries: list[tuple[str, Outgoing]], trace_header: str | None = None
) -> tuple[list[tuple[str, Publication]], list[tuple[str, SnsError]]]:
    with _rules():
        logic.check_batch_ids([entry_id for entry_id, _ in entries])
    total = sum(len(m.message.encode()) for _, m in entries)
    if total > logic.MAX_MESSAGE_BYTES:
        raise SnsError(
            "The length of all the messages put together is more than the limit.", code="BatchRequestTooLong"
        )
    done: list[tuple[str, Publication]] = []
    failed: list[tuple[str, SnsError]] = []
    with transaction.atomic():
        topic = _locked_topic(sandbox, topic_arn)
        at = now_ms()
        for entry_id, message in entries:
            try:
                publication = _prepare(topic, message, at, trace_header)
            except SnsError as error:
                failed.append((entry_id, error))
                continue
            _schedule(publication)
            done.append((entry_id, publication))
        if done:
            announce(sandbox.pk, f"SNS batch of {len(done)} published to {topic.name}")
    return done, failed
