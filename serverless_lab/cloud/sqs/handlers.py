"""The SQS protocol adapter: boto3's parameters in, botocore's output shapes out.

``receive_message`` is async: a long poll waits on a Redis wake-up (or short sleeps without
Redis) between receive attempts, so no thread is held while the queue is empty.
"""

from __future__ import annotations

import functools
import inspect
import time
from typing import Any


from serverless_lab.cloud.core.errors import AwsError
from serverless_lab.cloud.core.protocol import load_service_model, validate_required
from serverless_lab.cloud.core.offloop import run_sync
from serverless_lab.cloud.core.protocol.query_compat import answer_as, query_view, speaks_query
from serverless_lab.cloud.core.registry import RequestContext

from . import backend, logic
from .events import waiting_for
from .exceptions import InvalidParameterValue, SqsError

Params = dict[str, Any]
_RECHECK_SECONDS = 1.0  # a long poll re-reads the queue at least this often (delays, visibility expiry)


def _outgoing(params: Params) -> backend.Outgoing:
    return backend.Outgoing(
        body=params.get("MessageBody", ""),
        attributes=params.get("MessageAttributes") or {},
        system_attributes=params.get("MessageSystemAttributes") or {},
        delay_seconds=params.get("DelaySeconds"),
        group_id=params.get("MessageGroupId"),
        dedup_id=params.get("MessageDeduplicationId"),
    )


def _sent(sent: backend.Sent) -> Params:
    return {
        "MessageId": sent.message_id,
        "MD5OfMessageBody": sent.md5_body,
        "MD5OfMessageAttributes": sent.md5_attributes,
        "MD5OfMessageSystemAttributes": sent.md5_system,
        "SequenceNumber": sent.sequence_number,
    }


def _failure(entry_id: str, error: SqsError) -> Params:
    return {"Id": entry_id, "SenderFault": error.sender_fault, "Code": error.code, "Message": error.message}


def _check_required(ctx: RequestContext, params: Params) -> None:
    """A missing required member is SQS's ``MissingParameter`` (older SDKs' forms can omit any),
    never a handler reading a missing key."""
    validate_required(query_view("sqs").operation_model(ctx.operation), params)


def _in_callers_protocol(ctx: RequestContext, error: AwsError) -> AwsError:
    """A query-era caller (``Action=…`` form) gets its errors as query XML."""
    if speaks_query(load_service_model("sqs"), ctx.request):
        return answer_as(error, query_view("sqs"))
    return error


def _checked(cls: type) -> type:
    """Wrap every operation: required members checked first, errors in the caller's protocol."""
    for name, method in list(vars(cls).items()):
        if name.startswith("_") or not callable(method):
            continue
        if inspect.iscoroutinefunction(method):

            async def run_async(self: Any, ctx: RequestContext, params: Params, _method: Any = method) -> Params:
                try:
                    _check_required(ctx, params)
                    return await _method(self, ctx, params)
                except AwsError as error:
                    raise _in_callers_protocol(ctx, error) from None

            setattr(cls, name, functools.wraps(method)(run_async))
        else:

            def run(self: Any, ctx: RequestContext, params: Params, _method: Any = method) -> Params:
                try:
                    _check_required(ctx, params)
                    return _method(self, ctx, params)
                except AwsError as error:
                    raise _in_callers_protocol(ctx, error) from None

            setattr(cls, name, functools.wraps(method)(run))
    return cls


@_checked
class SQSHandler:
    # --- queues ---

    def create_queue(self, ctx: RequestContext, params: Params) -> Params:
        queue = backend.create_queue(
            sandbox=ctx.sandbox,
            name=params["QueueName"],
            attributes=params.get("Attributes") or {},
            tags=params.get("tags") or {},
        )
        return {"QueueUrl": backend.queue_url(queue)}

    def delete_queue(self, ctx: RequestContext, params: Params) -> Params:
        backend.delete_queue(sandbox=ctx.sandbox, queue_url=params["QueueUrl"])
        return {}

    def get_queue_attributes(self, ctx: RequestContext, params: Params) -> Params:
        attributes = backend.get_queue_attributes(
            sandbox=ctx.sandbox, queue_url=params["QueueUrl"], names=params.get("AttributeNames") or []
        )
        return {"Attributes": attributes or None}

    def get_queue_url(self, ctx: RequestContext, params: Params) -> Params:
        queue = backend.get_queue_url(
            sandbox=ctx.sandbox, name=params["QueueName"], owner_account_id=params.get("QueueOwnerAWSAccountId")
        )
        return {"QueueUrl": backend.queue_url(queue)}

    def list_dead_letter_source_queues(self, ctx: RequestContext, params: Params) -> Params:
        sources = backend.dead_letter_sources(sandbox=ctx.sandbox, queue_url=params["QueueUrl"])
        return {"queueUrls": [backend.queue_url(q) for q in sources]}

    def list_queue_tags(self, ctx: RequestContext, params: Params) -> Params:
        queue = backend.find_queue(sandbox=ctx.sandbox, queue_url=params["QueueUrl"])
        return {"Tags": queue.tags or None}

    def list_queues(self, ctx: RequestContext, params: Params) -> Params:
        queues, token = backend.list_queues(
            sandbox=ctx.sandbox,
            prefix=params.get("QueueNamePrefix") or "",
            max_results=params.get("MaxResults"),
            next_token=params.get("NextToken"),
        )
        return {"QueueUrls": [backend.queue_url(q) for q in queues] or None, "NextToken": token}

    def purge_queue(self, ctx: RequestContext, params: Params) -> Params:
        backend.purge_queue(sandbox=ctx.sandbox, queue_url=params["QueueUrl"])
        return {}

    def set_queue_attributes(self, ctx: RequestContext, params: Params) -> Params:
        backend.set_queue_attributes(
            sandbox=ctx.sandbox, queue_url=params["QueueUrl"], attributes=params.get("Attributes") or {}
        )
        return {}

    def start_message_move_task(self, ctx: RequestContext, params: Params) -> Params:
        source, _ = backend.start_message_move_task(
            sandbox=ctx.sandbox, source_arn=params["SourceArn"], destination_arn=params.get("DestinationArn")
        )
        return {"TaskHandle": f"lab-move-{source.pk}-{backend.now_ms()}"}

    def tag_queue(self, ctx: RequestContext, params: Params) -> Params:
        backend.tag_queue(sandbox=ctx.sandbox, queue_url=params["QueueUrl"], tags=params.get("Tags") or {})
        return {}

    def untag_queue(self, ctx: RequestContext, params: Params) -> Params:
        backend.untag_queue(sandbox=ctx.sandbox, queue_url=params["QueueUrl"], keys=params.get("TagKeys") or [])
        return {}

    # --- messages ---

    def change_message_visibility(self, ctx: RequestContext, params: Params) -> Params:
        backend.change_message_visibility(
            sandbox=ctx.sandbox,
            queue_url=params["QueueUrl"],
            receipt_handle=params["ReceiptHandle"],
            timeout=params["VisibilityTimeout"],
        )
        return {}

    def change_message_visibility_batch(self, ctx: RequestContext, params: Params) -> Params:
        entries = [(e["Id"], e["ReceiptHandle"], e.get("VisibilityTimeout", 0)) for e in params.get("Entries") or []]
        done, failed = backend.change_message_visibility_batch(
            sandbox=ctx.sandbox, queue_url=params["QueueUrl"], entries=entries
        )
        return {"Successful": [{"Id": i} for i in done], "Failed": [_failure(i, e) for i, e in failed]}

    def delete_message(self, ctx: RequestContext, params: Params) -> Params:
        backend.delete_message(
            sandbox=ctx.sandbox, queue_url=params["QueueUrl"], receipt_handle=params["ReceiptHandle"]
        )
        return {}

    def delete_message_batch(self, ctx: RequestContext, params: Params) -> Params:
        entries = [(e["Id"], e["ReceiptHandle"]) for e in params.get("Entries") or []]
        done, failed = backend.delete_message_batch(sandbox=ctx.sandbox, queue_url=params["QueueUrl"], entries=entries)
        return {"Successful": [{"Id": i} for i in done], "Failed": [_failure(i, e) for i, e in failed]}

    async def receive_message(self, ctx: RequestContext, params: Params) -> Params:
        wait = params.get("WaitTimeSeconds")
        if wait is not None and not 0 <= wait <= logic.MAX_WAIT_SECONDS:
            raise InvalidParameterValue(
                f"Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
            )
        receive = dict(
            sandbox=ctx.sandbox,
            queue_url=params["QueueUrl"],
            max_number=params.get("MaxNumberOfMessages", 1),
            visibility_timeout=params.get("VisibilityTimeout"),
        )
        started = time.monotonic()
        queue, received = await run_sync(backend.receive_message, **receive)
        if wait is None:
            wait = int(backend.effective_attributes(queue)["ReceiveMessageWaitTimeSeconds"])
        if not received and wait > 0:
            deadline = started + wait
            async with waiting_for(queue.pk) as waiter:
                while not received and (left := deadline - time.monotonic()) > 0:
                    # The first pass re-reads right after subscribing, so a send in between is not missed.
                    queue, received = await run_sync(backend.receive_message, **receive)
                    if not received:
                        await waiter.wait(min(left, _RECHECK_SECONDS))
        return {"Messages": [self._message(r, params) for r in received] or None}

    @staticmethod
    def _message(received: backend.Received, params: Params) -> Params:
        row = received.row
        wanted = list(params.get("MessageSystemAttributeNames") or []) + list(params.get("AttributeNames") or [])
        system = logic.select_attribute_names(wanted, backend.message_system_attributes(row))
        user = logic.select_attribute_names(params.get("MessageAttributeNames") or [], row.attributes)
        return {
            "MessageId": str(row.message_id),
            "ReceiptHandle": received.receipt_handle,
            "MD5OfBody": row.md5_body,
            "Body": row.body,
            "Attributes": system or None,
            "MD5OfMessageAttributes": logic.md5_of_attributes(user) if user else None,
            "MessageAttributes": logic.wire_attributes(user) or None,
        }

    def send_message(self, ctx: RequestContext, params: Params) -> Params:
        sent = backend.send_message(sandbox=ctx.sandbox, queue_url=params["QueueUrl"], message=_outgoing(params))
        return _sent(sent)

    def send_message_batch(self, ctx: RequestContext, params: Params) -> Params:
        entries = [(e["Id"], _outgoing(e)) for e in params.get("Entries") or []]
        sent, failed = backend.send_message_batch(sandbox=ctx.sandbox, queue_url=params["QueueUrl"], entries=entries)
        return {"Successful": [{"Id": i, **_sent(s)} for i, s in sent], "Failed": [_failure(i, e) for i, e in failed]}
