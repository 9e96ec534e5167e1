"""S3 event notifications: S3's event record, delivered to Lambda, SQS and SNS targets after the
write commits, each delivery recorded as an ``s3 notification`` hop of the writer's trace.

Each delivery goes through the Celery task ``serverless_lab.cloud.s3.notify`` (queue ``delivery``):
an SQS message (the trace in ``AWSTraceHeader``), an SNS publication, or an asynchronous Lambda
invoke (through the runtime, with the trace header). The trace arrives through
:func:`carries_trace`, which the S3 handler puts on the operations that write objects, so the
backend's signatures stay free of tracing.

On ``PutBucketNotificationConfiguration`` AWS checks that each SQS/SNS/Lambda destination exists
and sends an ``s3:TestEvent`` message to the SQS and SNS ones; :func:`validate_destinations` and
:func:`send_test_events` do the same.
"""
from __future__ import annotations

import functools
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote_plus

from django.db import transaction
from django.utils import timezone

from serverless_lab.cloud.core.errors import AwsError
from serverless_lab.sandboxes.models import Sandbox
from serverless_lab.tracing import conf as tracing_conf
from serverless_lab.tracing import ids, nodes
from serverless_lab.tracing.broadcast import broadcast_on_commit
from serverless_lab.tracing.services import HopDraft, hops_save

from . import logic
from .models import NULL_VERSION, Bucket, Object

logger = logging.getLogger(__name__)

ACTION = "s3 notification"
SUBJECT = "Amazon S3 Notification"
# (configuration list, ARN member, kind) for the destinations S3 delivers to.
TARGETS = (
    ("LambdaFunctionConfigurations", "LambdaFunctionArn", "lambda"),
    ("QueueConfigurations", "QueueArn", "sqs"),
    ("TopicConfigurations", "TopicArn", "sns"),
)

_trace: ContextVar[str | None] = ContextVar("s3_notification_trace", default=None)
F = TypeVar("F", bound=Callable[..., Any])


def carries_trace(method: F) -> F:
    """Decorate an S3 handler method ``(self, ctx, params)``: notifications of its writes join
    the call's trace (``ctx.trace_header``, this call's hop as the parent)."""

    @functools.wraps(method)
    def wrapper(self: Any, ctx: Any, params: Any) -> Any:
        with traced(ctx.trace_header):
            return method(self, ctx, params)

    return wrapper  # type: ignore[return-value]


@contextmanager
def traced(header: str | None) -> Iterator[None]:
    """Object events inside the block belong to the trace ``header`` names."""
    token = _trace.set(header)
    try:
        yield
    finally:
        _trace.reset(token)


def event_record(bucket: Bucket, event_name: str, key: str, obj: Object | None, configuration_id: str) -> dict[str, Any]:
    """One record of S3's notification event (``eventVersion`` 2.1), as its destinations receive it."""
    sandbox = bucket.sandbox
    s3_object: dict[str, Any] = {"key": quote_plus(key, safe="/"), "sequencer": f"{time.time_ns():X}"}
    if obj is not None and not obj.is_delete_marker and event_name.startswith("s3:ObjectCreated:"):
        s3_object |= {"size": obj.size, "eTag": obj.etag.strip('"')}
    if obj is not None and obj.version_id != NULL_VERSION:
        s3_object["versionId"] = obj.version_id
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": sandbox.region,
        "eventTime": timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "eventName": event_name.removeprefix("s3:"),
        "userIdentity": {"principalId": f"AWS:{sandbox.account_id}"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": secrets.token_hex(8).upper(), "x-amz-id-2": secrets.token_urlsafe(48)},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket.name,
                "ownerIdentity": {"principalId": sandbox.account_id},
                "arn": f"arn:aws:s3:::{bucket.name}",
            },
            "object": s3_object,
        },
    }


def deliver(bucket: Bucket, event_name: str, key: str, obj: Object | None) -> None:
    """Queue delivery of the event to each matching destination, once the write has committed."""
    from .tasks import notify

    trace = _trace.get()
    for list_name, arn_name, kind in TARGETS:
        for target in bucket.notification.get(list_name, []):
            rules = target.get("Filter", {}).get("Key", {}).get("FilterRules", [])
            if not (logic.event_matches(target.get("Events", []), event_name) and logic.filter_matches(rules, key)):
                continue
            record = event_record(bucket, event_name, key, obj, target.get("Id", ""))
            body = json.dumps({"Records": [record]})
            notify.delay_on_commit(bucket.sandbox_id, bucket.name, kind, target[arn_name], body, trace, time.time())


def _draft(sandbox: Sandbox, bucket_name: str, to_node: str, trace: str | None, at: float, body: str) -> HopDraft:
    """The delivery's hop (its duration: from the write to the delivery), saved by :func:`_save`."""
    document = json.loads(body)
    if "Records" in document:
        record = document["Records"][0]
        shown = {"eventName": record["eventName"], "key": record["s3"]["object"]["key"]}
    else:
        shown = {"Event": document.get("Event")}
    header = ids.parse_header(trace)
    return HopDraft(
        sandbox_id=sandbox.pk,
        trace_id=header.root if header else ids.new_trace_id(at),
        parent_hop_id=header.parent if header else "",
        new_trace=header is None,
        from_node=nodes.s3_bucket(bucket_name),
        to_node=to_node,
        action=ACTION,
        started_at=datetime.fromtimestamp(at, tz=UTC),
        duration_ms=max(0.0, (time.time() - at) * 1000),
        payload_preview=nodes.preview(shown),
    )


def _save(draft: HopDraft, status: str = "ok", error_code: str = "") -> None:
    draft.status, draft.error_code = status, error_code
    if tracing_conf.enabled():
        for sandbox_id, message in hops_save([draft]):
            broadcast_on_commit(sandbox_id, dict(message))


def _passed_on(draft: HopDraft) -> ids.TraceHeader:
    return ids.TraceHeader(root=draft.trace_id, parent=draft.hop_id)


def notify(*, sandbox_id: int, bucket_name: str, kind: str, arn: str, body: str, trace: str | None, at: float) -> None:
    """Deliver one event (or test event) to a Lambda function, SQS queue or SNS topic, and record
    its hop, in one transaction (run by the Celery task: a crash rolls both back and the
    redelivered task runs it again). A destination that is gone or refuses the message gets an
    ``error`` hop; S3 drops the event, as AWS does after its retries."""
    sandbox = Sandbox.objects.filter(pk=sandbox_id).first()
    if sandbox is None:
        return
    deliver_to = {"lambda": _to_function, "sqs": _to_queue, "sns": _to_topic}[kind]
    with transaction.atomic():
        draft = _draft(sandbox, bucket_name, ":".join(arn.split(":")[:7]), trace, at, body)
        try:
            with transaction.atomic():
                deliver_to(sandbox, arn, body, _passed_on(draft))
        except AwsError as error:
            logger.info("S3 could not deliver to %s for %s: %s", arn, bucket_name, error.message)
            _save(draft, "error", error.code)
        else:
            _save(draft)


def _to_function(sandbox: Sandbox, arn: str, body: str, header: ids.TraceHeader) -> None:
    from serverless_lab.cloud.lambda_ import backend as lambda_backend
    from serverless_lab.runtime import services as runtime

    target = lambda_backend.resolve(sandbox=sandbox, function_name=arn)
    # The runtime queues its own task and row at once: invoke after this delivery commits.
    transaction.on_commit(
        lambda: runtime.invoke_event(
            target=target,
            request_id=str(uuid.uuid4()),
            payload=body.encode(),
            trace_header=str(header),
            client_context=None,
        )
    )


def _to_queue(sandbox: Sandbox, arn: str, body: str, header: ids.TraceHeader) -> None:
    from serverless_lab.cloud.sqs import backend as sqs_backend
    from serverless_lab.cloud.sqs.exceptions import QueueDoesNotExist

    queue = sqs_backend.find_queue_by_arn(sandbox=sandbox, arn=arn)
    if queue is None:
        raise QueueDoesNotExist()
    sqs_backend.enqueue_from_service(
        queue=queue, message=sqs_backend.Outgoing(body=body, system_attributes=ids.sqs_system_attributes(header))
    )


def _to_topic(sandbox: Sandbox, arn: str, body: str, header: ids.TraceHeader) -> None:
    from serverless_lab.cloud.sns import backend as sns_backend

    sns_backend.publish(
        sandbox=sandbox,
        topic_arn=arn,
        phone_number=None,
        message=sns_backend.Outgoing(message=body, subject=SUBJECT),
        trace_header=str(header),
    )


# --- configuration --------------------------------------------------------------------------


def new_destinations(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The entries of configuration ``new`` whose destination ``old`` did not have.

    Only these are checked and sent a test event, so removing one target still works after another
    target's queue was deleted (AWS would re-check them all and refuse).
    """
    added: dict[str, Any] = {}
    for list_name, arn_name, _ in TARGETS:
        known = {entry.get(arn_name) for entry in old.get(list_name, [])}
        fresh = [entry for entry in new.get(list_name, []) if entry.get(arn_name) not in known]
        if fresh:
            added[list_name] = fresh
    return added


def validate_destinations(sandbox: Sandbox, configuration: dict[str, Any]) -> None:
    """Raise ``InvalidArgument`` naming every SQS/SNS/Lambda destination that does not exist (or
    cannot take S3's events: a FIFO queue or topic), as AWS does on PutBucketNotificationConfiguration."""
    from serverless_lab.cloud.sns.models import Topic
    from serverless_lab.cloud.sqs.models import Queue

    from .exceptions import InvalidArgument

    bad: list[str] = []
    for list_name, arn_name, kind in TARGETS:
        for target in configuration.get(list_name, []):
            arn = str(target.get(arn_name, ""))
            parts = arn.split(":")
            ok = len(parts) >= 6 and parts[4] == sandbox.account_id
            if ok and kind == "sqs":
                ok = not parts[5].endswith(".fifo") and Queue.objects.filter(sandbox=sandbox, name=parts[5]).exists()
            elif ok and kind == "sns":
                ok = not parts[5].endswith(".fifo") and Topic.objects.filter(sandbox=sandbox, name=parts[5]).exists()
            elif ok:
                ok = _function_exists(sandbox, arn)
            if not ok:
                bad.append(arn)
    if bad:
        fields: dict[str, str] = {}
        for i, arn in enumerate(bad, 1):
            fields[f"ArgumentName{i}"] = arn
            fields[f"ArgumentValue{i}"] = "The destination does not exist or cannot receive S3 notifications"
        raise InvalidArgument("Unable to validate the following destination configurations", **fields)


def _function_exists(sandbox: Sandbox, arn: str) -> bool:
    from serverless_lab.cloud.lambda_ import backend as lambda_backend

    try:
        lambda_backend.resolve(sandbox=sandbox, function_name=arn)
    except AwsError:
        return False
    return True


def send_test_events(sandbox: Sandbox, bucket_name: str, configuration: dict[str, Any]) -> None:
    """After the configuration commits, send S3's ``s3:TestEvent`` to each SQS and SNS destination."""
    body = json.dumps(
        {
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "Bucket": bucket_name,
            "RequestId": secrets.token_hex(8).upper(),
            "HostId": secrets.token_urlsafe(48),
        }
    )
    from .tasks import notify

    trace = _trace.get()
    for list_name, arn_name, kind in TARGETS:
        if kind == "lambda":
            continue
        for target in configuration.get(list_name, []):
            notify.delay_on_commit(sandbox.pk, bucket_name, kind, target[arn_name], body, trace, time.time())
