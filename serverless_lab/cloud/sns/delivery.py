"""Fan-out of one publication to a topic's subscriptions (run by ``tasks.deliver`` on a worker).

Each confirmed subscription whose filter policy matches gets the message in its protocol's
format: SQS (the SNS JSON envelope, or the raw message with RawMessageDelivery), email /
email-json / sms and http(s) into the lab's inbox, Lambda as an asynchronous invoke with the SNS
event record. A failed SQS delivery goes to the subscription's redrive-policy queue when it has one.

Every subscription gets a hop of the Publish call's trace (``sns→sqs deliver``, ``sns→lambda
deliver``, ``sns→email``, …; status ok, filtered-out, error or sent-to-DLQ), saved in the delivery's
transaction; the trace goes on as the SQS message's ``AWSTraceHeader`` and the Lambda invocation's
trace header, with the delivery hop as the parent.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from serverless_lab.cloud.core.errors import AwsError
from serverless_lab.cloud.sqs import backend as sqs_backend
from serverless_lab.cloud.sqs.exceptions import SqsError
from serverless_lab.cloud.sqs.models import Queue
from serverless_lab.tracing import conf as tracing_conf
from serverless_lab.tracing import ids, nodes
from serverless_lab.tracing.broadcast import broadcast_on_commit
from serverless_lab.tracing.services import HopDraft, hops_save

from . import filter_policy, logic
from .backend import Publication, subscription_arn_of
from .events import announce
from .models import FifoOutbox, InboxMessage, Subscription, Topic

logger = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def deliver(publication: Publication) -> int:
    """Deliver to every matching confirmed subscription in one transaction; return how many got it."""
    confirmed = list(
        Subscription.objects.filter(topic_id=publication.topic_id, confirmed=True)
        .select_related("topic__sandbox")
        .order_by("id")
    )
    if not confirmed:  # no subscribers (or the topic is gone, and they with it)
        return 0
    topic = confirmed[0].topic
    hops = _Hops(topic, publication)
    subscriptions = []
    for subscription in confirmed:
        subscription.topic = topic
        subscription.sandbox = topic.sandbox
        if _passes_filter(subscription, publication):
            subscriptions.append(subscription)
        else:
            hops.add(subscription, status="filtered-out")
    queues = _queues(topic, [s.endpoint for s in subscriptions if s.protocol == "sqs"])
    failed: list[tuple[Subscription, HopDraft, DeliveryFailed]] = []
    batch: list[tuple[Subscription, HopDraft, Queue, sqs_backend.Outgoing]] = []  # standard queues: one INSERT
    with transaction.atomic():
        for subscription in subscriptions:
            hop = hops.add(subscription)
            queue = queues.get(subscription.endpoint) if subscription.protocol == "sqs" else None
            try:  # DeliveryFailed comes before a subscription writes anything: no savepoint needed
                if queue is not None and not queue.fifo:
                    batch.append((subscription, hop, queue, _sqs_message(subscription, publication, hops.header(hop))))
                else:
                    _deliver_one(subscription, publication, queues, hops.header(hop))
            except DeliveryFailed as error:
                hops.drafts.remove(hop)
                failed.append((subscription, hop, error))
        outcomes = sqs_backend.enqueue_batch_from_service(deliveries=[(q, m) for _, _, q, m in batch])
        for (subscription, hop, _, _), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, SqsError):
                hops.drafts.remove(hop)
                failed.append((subscription, hop, DeliveryFailed(outcome.message, outcome.code)))
            else:
                _announce(subscription, publication)
        hops.save()
    for subscription, hop, error in failed:
        _dead_letter(subscription, publication, hop, error)
    return len(subscriptions) - len(failed)


class _Hops:
    """The delivery hops of one publication, saved together (one bulk insert) in its transaction."""

    def __init__(self, topic: Topic, publication: Publication) -> None:
        # Without a trace (the console's Publish), the whole fan-out shares one new trace.
        self.trace = ids.parse_header(publication.trace_header) or ids.TraceHeader(root=ids.new_trace_id())
        self.sandbox = topic.sandbox
        self.publication = publication
        self.from_node = nodes.sns_topic(topic.sandbox.region, topic.sandbox.account_id, topic.name)
        self.started_at = datetime.fromtimestamp(publication.published_ms / 1000, tz=UTC)
        self.drafts: list[HopDraft] = []

    def add(self, subscription: Subscription, status: str = "ok") -> HopDraft:
        protocol = subscription.protocol
        if protocol in ("sqs", "lambda"):
            action, to_node = f"sns→{protocol} deliver", subscription.endpoint
            if protocol == "lambda":
                to_node = ":".join(to_node.split(":")[:7])
        else:
            action, to_node = f"sns→{protocol}", f"{protocol}:{subscription.endpoint}"
        draft = HopDraft(
            sandbox_id=self.sandbox.pk,
            trace_id=self.trace.root,
            parent_hop_id=self.trace.parent,
            from_node=self.from_node,
            to_node=to_node,
            action=action,
            status=status,
            started_at=self.started_at,
            duration_ms=max(0.0, time.time() * 1000 - self.publication.published_ms),
            payload_preview=nodes.preview(
                {"MessageId": self.publication.message_id, "Subscription": str(subscription.subscription_id)}
            ),
        )
        self.drafts.append(draft)
        return draft

    def header(self, draft: HopDraft) -> ids.TraceHeader:
        """The header to pass on from inside ``draft``'s delivery."""
        return self.trace.child(draft.hop_id)

    def save(self) -> None:
        _save_hops(self.drafts)


def _save_hops(drafts: list[HopDraft]) -> None:
    """Save ``drafts`` in the caller's transaction; broadcast them after it commits."""
    if tracing_conf.enabled():
        for sandbox_id, message in hops_save(drafts):
            broadcast_on_commit(sandbox_id, dict(message))


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
    """Deliver a FIFO topic's waiting publications in sequence order, holding the topic row lock.

    Each outbox row is deleted in the transaction that delivers it, so a delivery cut short (a
    worker killed mid-way) rolls back whole and a rerun delivers each message exactly once.
    """
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


def _deliver_one(
    subscription: Subscription, publication: Publication, queues: dict[str, Queue], header: ids.TraceHeader
) -> None:
    protocol = subscription.protocol
    if protocol == "sqs":
        _to_queue(queues.get(subscription.endpoint), subscription, publication, header)
    elif protocol == "lambda":
        invoke_lambda(subscription, _lambda_event(subscription, publication), header)
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
    _announce(subscription, publication)


def _announce(subscription: Subscription, publication: Publication) -> None:
    announce(
        subscription.sandbox_id,
        f"SNS delivered {publication.message_id[:8]} to {subscription.protocol}:{subscription.endpoint}",
    )


def _sqs_message(
    subscription: Subscription, publication: Publication, header: ids.TraceHeader
) -> sqs_backend.Outgoing:
    """What the subscription's queue gets: the SNS envelope, or the raw message and its attributes."""
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
    return sqs_backend.Outgoing(body=body, attributes=attributes, system_attributes=ids.sqs_system_attributes(header))


def _to_queue(
    queue: Queue | None, subscription: Subscription, publication: Publication, header: ids.TraceHeader
) -> None:
    if queue is None:
        raise DeliveryFailed("the queue does not exist", "AWS.SimpleQueueService.NonExistentQueue")
    message = _sqs_message(subscription, publication, header)
    if queue.fifo:
        message.group_id = publication.group_id
        message.dedup_id = publication.dedup_id
    try:
        sqs_backend.enqueue_from_service(queue=queue, message=message)
    except SqsError as error:
        raise DeliveryFailed(error.message, error.code) from None


def _dead_letter(subscription: Subscription, publication: Publication, hop: HopDraft, failure: DeliveryFailed) -> None:
    """After a failed delivery: the message to the subscription's DLQ when it has one; the hop says which."""
    reason = str(failure)
    logger.info("SNS delivery to %s failed: %s", subscription.endpoint, reason)
    policy_text = subscription.attributes.get("RedrivePolicy")
    target = json.loads(policy_text).get("deadLetterTargetArn") if policy_text else None
    header = ids.TraceHeader(root=hop.trace_id, parent=hop.hop_id)
    with transaction.atomic():
        if target:
            try:
                _to_queue(
                    sqs_backend.find_queue_by_arn(sandbox=subscription.sandbox, arn=target),
                    subscription,
                    publication,
                    header,
                )
            except DeliveryFailed:
                target = None
        hop.status, hop.error_code = ("sent-to-DLQ" if target else "error"), failure.code
        _save_hops([hop])
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


def invoke_lambda(subscription: Subscription, event: dict[str, Any], header: ids.TraceHeader) -> None:
    """Invoke the subscribed function asynchronously (``Event``) with the SNS event, after commit.

    The function is resolved now (a missing one fails this delivery), but the Lambda runtime queues
    its own task and row as soon as it is called, so the invoke must not run inside this delivery's
    transaction. The lab does not check the function's resource policy.
    """
    from serverless_lab.cloud.lambda_ import backend as lambda_backend
    from serverless_lab.runtime import services as runtime

    sandbox, function_arn = subscription.sandbox, subscription.endpoint
    try:
        target = lambda_backend.resolve(sandbox=sandbox, function_name=function_arn)
    except AwsError as error:
        raise DeliveryFailed(error.message, error.code) from None
    payload = json.dumps(event).encode()

    def invoke() -> None:
        try:
            runtime.invoke_event(
                target=target,
                request_id=str(uuid.uuid4()),
                payload=payload,
                trace_header=str(header),
                client_context=None,
            )
        except AwsError as error:  # the Lambda app refuses the call
            logger.info("SNS could not invoke %s: %s", function_arn, error)
            announce(sandbox.pk, f"SNS could not invoke {function_arn}: {error.message}")

    transaction.on_commit(invoke)
