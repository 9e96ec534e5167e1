"""Fan-out of one publication to a topic's subscriptions (run by ``tasks.deliver`` on a worker).

Each confirmed subscription whose filter policy matches gets the message in its protocol's
format: SQS (the SNS JSON envelope, or the raw message with RawMessageDelivery), email /
email-json / sms and http(s) into the lab's inbox, Lambda as an asynchronous invoke with the SNS
event record. A failed SQS delivery goes to the subscription's redrive-policy queue when it has one.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction

from serverless_lab.cloud.core.errors import AwsError
from serverless_lab.cloud.sqs import backend as sqs_backend
from serverless_lab.cloud.sqs.exceptions import SqsError
from serverless_lab.cloud.sqs.models import Queue

from . import filter_policy, logic
from .backend import Publication, subscription_arn_of
from .events import announce
from .models import FifoOutbox, InboxMessage, Subscription, Topic

logger = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    pass


def deliver(publication: Publication) -> int:
    """Deliver to every matching confirmed subscription in one transaction; return how many got it."""
    topic = Topic.objects.select_related("sandbox").filter(pk=publication.topic_id).first()
    if topic is None:
        return 0
    subscriptions = [
        s
        for s in Subscription.objects.filter(topic=topic, confirmed=True).order_by("id")
        if _passes_filter(s, publication)
    ]
    queues = _queues(topic, [s.endpoint for s in subscriptions if s.protocol == "sqs"])
    failed: list[tuple[Subscription, str]] = []
    with transaction.atomic():
        for subscription in subscriptions:
            subscription.topic = topic
            subscription.sandbox = topic.sandbox
            try:  # DeliveryFailed comes before a subscription writes anything: no savepoint needed
                _deliver_one(subscription, publication, queues)
            except DeliveryFailed as error:
                failed.append((subscription, str(error)))
    for subscription, reason in failed:
        _dead_letter(subscription, publication, reason)
    return len(subscriptions) - len(failed)


def _queues(topic: Topic, arns: list[str]) -> dict[str, Queue]:
    """The sandbox's queues named by ``arns``, in one query, by ARN."""
    names = {}
    for arn in arns:
        parsed = logic.parse_arn(arn, "sqs")
        if parsed and parsed[1] == topic.sandbox.account_id:
            names[parsed[2]] = arn
    found = {}
    for queue in Queue.objects.filter(sandbox=topic.sandbox, name__in=list(names)):
        queue.sandbox = topic.sandbox
        found[names[queue.name]] = queue
    return found


def deliver_fifo(topic_id: int) -> int:
    """Deliver a FIFO topic's waiting publications in sequence order, holding the topic row lock."""
    delivered = 0
    with transaction.atomic():
        if not Topic.objects.select_for_update().filter(pk=topic_id).exists():
            return 0
        for row in FifoOutbox.objects.filter(topic_id=topic_id).order_by("sequence"):
            delivered += deliver(Publication(**row.publication))
            row.delete()
    return delivered


def _passes_filter(subscription: Subscription, publication: Publication) -> bool:
    text = subscription.attributes.get("FilterPolicy")
    if not text:
        return True
    scope = subscription.attributes.get("FilterPolicyScope") or "MessageAttributes"
    policy = json.loads(text)
    if scope == "MessageBody":
        try:
            document = json.loads(publication.message)
        except ValueError:
            return False
        return isinstance(document, dict) and filter_policy.matches(policy, document)
    return filter_policy.matches(policy, filter_policy.attributes_document(publication.attributes))


def _message_for(subscription: Subscription, publication: Publication) -> str:
    if publication.per_protocol:
        return publication.per_protocol.get(subscription.protocol, publication.per_protocol["default"])
    return publication.message


def _envelope(subscription: Subscription, publication: Publication) -> dict[str, Any]:
    return logic.envelope(
        message_type="Notification",
        message_id=publication.message_id,
        topic_arn=publication.topic_arn,
        message=_message_for(subscription, publication),
        timestamp=publication.timestamp,
        subject=publication.subject,
        attributes=publication.attributes,
        lab_url=settings.LAB_PUBLIC_URL,
        subscription_arn=subscription_arn_of(subscription),
        secret=subscription.sandbox.secret_access_key,
        sequence_number=publication.sequence_number,
    )


def _raw(subscription: Subscription) -> bool:
    return subscription.attributes.get("RawMessageDelivery") == "true"


def _deliver_one(subscription: Subscription, publication: Publication, queues: dict[str, Queue]) -> None:
    protocol = subscription.protocol
    if protocol == "sqs":
        _to_queue(queues.get(subscription.endpoint), subscription, publication)
    elif protocol == "lambda":
        invoke_lambda(subscription, _lambda_event(subscription, publication))
    else:
        raw = _raw(subscription)
        message = _message_for(subscription, publication)
        body = (
            message
            if protocol in ("email", "sms") or raw
            else json.dumps(_envelope(subscription, publication), indent=2)
        )
        headers = {}
        if protocol in ("http", "https"):
            headers = {
                "x-amz-sns-message-type": "Notification",
                "x-amz-sns-message-id": publication.message_id,
                "x-amz-sns-topic-arn": publication.topic_arn,
                "x-amz-sns-subscription-arn": subscription_arn_of(subscription),
            }
            if raw:
                headers["x-amz-sns-rawdelivery"] = "true"
        InboxMessage.objects.create(
            sandbox=subscription.sandbox,
            protocol=protocol,
            endpoint=subscription.endpoint,
            subject=(publication.subject or "AWS Notification Message") if protocol.startswith("email") else "",
            body=body,
            headers=headers,
            topic_arn=publication.topic_arn,
            subscription_arn=subscription_arn_of(subscription),
        )
    announce(
        subscription.sandbox_id, f"SNS delivered {publication.message_id[:8]} to {protocol}:{subscription.endpoint}"
    )


def _to_queue(queue: Queue | None, subscription: Subscription, publication: Publication) -> None:
    if queue is None:
        raise DeliveryFailed("the queue does not exist")
    if _raw(subscription):
        body = _message_for(subscription, publication)
        attributes = {
            name: (
                {"DataType": v["DataType"], "BinaryValue": base64.b64decode(v["BinaryValue"])}
                if "BinaryValue" in v
                else dict(v)
            )
            for name, v in publication.attributes.items()
        }
    else:
        body = json.dumps(_envelope(subscription, publication), indent=2)
        attributes = {}
    message = sqs_backend.Outgoing(body=body, attributes=attributes)
    if queue.fifo:
        message.group_id = publication.group_id
        message.dedup_id = publication.dedup_id
    try:
        sqs_backend.enqueue_from_service(queue=queue, message=message)
    except SqsError as error:
        raise DeliveryFailed(error.message) from None


def _dead_letter(subscription: Subscription, publication: Publication, reason: str) -> None:
    logger.info("SNS delivery to %s failed: %s", subscription.endpoint, reason)
    policy_text = subscription.attributes.get("RedrivePolicy")
    target = json.loads(policy_text).get("deadLetterTargetArn") if policy_text else None
    with transaction.atomic():
        if target:
            try:
                _to_queue(
                    sqs_backend.find_queue_by_arn(sandbox=subscription.sandbox, arn=target), subscription, publication
                )
            except DeliveryFailed:
                target = None
        announce(
            subscription.sandbox_id,
            f"SNS delivery to {subscription.endpoint} failed ({reason})"
            + (f"; sent to DLQ {target}" if target else ""),
        )


def _lambda_event(subscription: Subscription, publication: Publication) -> dict[str, Any]:
    """The SNS event record a subscribed function receives."""
    envelope = _envelope(subscription, publication)
    envelope.pop("SigningCertURL")
    sns = {**envelope, "SigningCertUrl": f"{settings.LAB_PUBLIC_URL}/aws/sns/SimpleNotificationService-lab.pem"}
    sns.setdefault("Subject", None)
    sns["UnsubscribeUrl"] = sns.pop("UnsubscribeURL")
    sns["MessageAttributes"] = envelope.get("MessageAttributes", {})
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn_of(subscription),
                "Sns": sns,
            }
        ]
    }


def invoke_lambda(subscription: Subscription, event: dict[str, Any]) -> None:
    """Invoke the subscribed function asynchronously (``Event``) with the SNS event, after commit.

    The Lambda runtime queues its own task and row as soon as it is called, so it must not run
    inside this delivery's transaction. The lab does not check the function's resource policy.
    """
    sandbox, function_arn = subscription.sandbox, subscription.endpoint
    payload = json.dumps(event).encode()

    def invoke() -> None:
        from serverless_lab.cloud.lambda_ import backend as lambda_backend
        from serverless_lab.runtime import services as runtime

        try:
            target = lambda_backend.resolve(sandbox=sandbox, function_name=function_arn)
            runtime.invoke_event(
                target=target, request_id=str(uuid.uuid4()), payload=payload, trace_header=None, client_context=None
            )
        except AwsError as error:  # the function is gone, or the Lambda app refuses the call
            logger.info("SNS could not invoke %s: %s", function_arn, error)
            announce(sandbox.pk, f"SNS could not invoke {function_arn}: {error.message}")

    transaction.on_commit(invoke)
