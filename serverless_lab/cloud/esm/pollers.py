"""The pollers: one step of a mapping's poll loop (``poll``) and the end of a batch (``complete``).

``poll`` runs in a ``delivery`` worker under the mapping's row lock. It takes the next batch from
the source (SQS: ReceiveMessage with the queue's visibility timeout; a stream: the records after
the checkpoint), takes a concurrency slot for the function, records the invocation and, after
commit, queues the runtime task for it: a synchronous (RequestResponse) invoke, as Lambda's
pollers make, without a thread waiting for it. When the runtime task ends, its ``task_postrun``
signal queues ``complete``, which reads the result, deletes the SQS messages that succeeded or
moves the stream's checkpoint, records the hop and kicks the next poll. A watchdog ``complete``
at the function's timeout plus a margin settles a batch whose worker died.

When there is nothing to take, the poll asks to be run again when something becomes due (a
delayed or in-flight message turns visible, a batching window closes) and otherwise stops until
a send or a stream write wakes it (``hooks``).
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from serverless_lab.cloud.core.errors import AwsError
from serverless_lab.cloud.lambda_ import backend as lambda_backend
from serverless_lab.cloud.lambda_ import coordination
from serverless_lab.cloud.lambda_.models import Invocation
from serverless_lab.runtime import services as runtime
from serverless_lab.tracing import nodes
from serverless_lab.tracing.ids import TraceHeader, new_trace_id, parse_header
from serverless_lab.tracing.services import hop_record

from . import hooks, logic
from .models import Batch, EventSourceMapping

logger = logging.getLogger(__name__)

RUNTIME_TASK = "serverless_lab.runtime.invoke"
TASK_ID_PREFIX = "esm-"  # the runtime task ids of mapping invocations: "esm-<batch pk>-<uuid>"
WATCHDOG_SLACK_S = 60  # past the function's timeout, a batch still in flight is settled as failed
THROTTLE_RETRY_MS = 1000
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
KEEP_BATCHES = 100  # finished batches kept per mapping (their invocations stay recognisable)


def now_ms() -> int:
    return int(time.time() * 1000)


class _Throttled(Exception):
    pass


@contextmanager
def _writing() -> Iterator[None]:
    """A write transaction; on SQLite it takes the write lock first (as the SQS backend does)."""
    with transaction.atomic():
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("UPDATE esm_eventsourcemapping SET id = id WHERE 0")
        yield


@dataclass
class Taken:
    """A batch ready to go: the event records, their ids, and what settling needs."""

    records: list[dict[str, Any]]
    items: list[Any]
    trace: str = ""
    first_record: int | None = None
    last_record: int | None = None


# --- sources ------------------------------------------------------------------------------------


class SqsSource:
    def __init__(self, mapping: EventSourceMapping) -> None:
        from serverless_lab.cloud.sqs import backend as sqs

        self.sqs = sqs
        self.mapping = mapping
        self.queue = sqs.find_queue_by_arn(sandbox=mapping.sandbox, arn=mapping.event_source_arn)
        if self.queue is not None and self.queue.pk != mapping.source_id:  # the queue was recreated
            mapping.source_id = self.queue.pk
            EventSourceMapping.objects.filter(pk=mapping.pk).update(source_id=self.queue.pk)

    def problem(self) -> str:
        return "" if self.queue is not None else "PROBLEM: the queue does not exist"

    def due(self, at: int) -> int | None:
        """None when a batch can be taken now, else when to look again (0: only when woken)."""
        visible = self._live(at).filter(visible_at__lte=at)
        window_ms = self.mapping.batching_window_s * 1000
        if window_ms and visible[: self.mapping.batch_size].count() < self.mapping.batch_size:
            oldest = visible.aggregate(first=Min("visible_at"))["first"]
            if oldest is not None and oldest + window_ms > at:
                return oldest + window_ms
        return None if visible.exists() else self.next_visible(at)

    def _live(self, at: int) -> Any:
        from serverless_lab.cloud.sqs.models import Message

        return Message.objects.filter(queue=self.queue, expires_at__gt=at)

    def next_visible(self, at: int) -> int:
        """When the next delayed or in-flight message turns visible; 0 when none will."""
        return self._live(at).filter(visible_at__gt=at).aggregate(next=Min("visible_at"))["next"] or 0

    def empty_take_due(self, at: int) -> int:
        """Visible messages that a receive did not hand out belong to FIFO groups in flight (or just
        went to the DLQ): look again when something turns visible, at the latest in a second."""
        upcoming = self.next_visible(at)
        if self._live(at).filter(visible_at__lte=at).exists():
            return min(upcoming, at + 1000) if upcoming else at + 1000
        return upcoming

    def take(self) -> Taken:
        url = self.sqs.queue_url(self.queue)
        arn = self.mapping.event_source_arn
        taken = Taken([], [])
        size = 0
        while len(taken.records) < self.mapping.batch_size:
            want = min(10, self.mapping.batch_size - len(taken.records))
            _, received = self.sqs.receive_message(
                sandbox=self.mapping.sandbox, queue_url=url, max_number=want, visibility_timeout=None
            )
            for item in received:
                row = item.row
                system = self.sqs.message_system_attributes(row)
                taken.records.append(
                    logic.sqs_record(
                        message_id=str(row.message_id),
                        receipt_handle=item.receipt_handle,
                        body=row.body,
                        system_attributes=system,
                        message_attributes=row.attributes,
                        md5_body=row.md5_body,
                        md5_attributes=row.md5_attributes,
                        source_arn=arn,
                        region=self.mapping.sandbox.region,
                    )
                )
                taken.items.append([str(row.message_id), item.receipt_handle, row.receive_count])
                taken.trace = taken.trace or row.trace_header
                size += len(row.body.encode()) + 512
            if len(received) < want or size > MAX_PAYLOAD_BYTES // 2:
                break
        return taken

    def settle(self, batch: Batch, result: logic.BatchResult) -> str:
        """Delete what succeeded; what failed returns when its visibility timeout ends. Returns the hop status."""
        if self.queue is None:
            return "error"
        failed = set(result.failed_ids)
        done = [] if result.failed_all else [(mid, handle) for mid, handle, _ in batch.items if mid not in failed]
        url = self.sqs.queue_url(self.queue)
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self.sqs.delete_message_batch(
                sandbox=self.mapping.sandbox, queue_url=url, entries=[(str(i), h) for i, (_, h) in enumerate(chunk)]
            )
        if not result.failed_all and not failed:
            return "ok"
        self._dead_letters(batch, failed if not result.failed_all else {mid for mid, _, _ in batch.items})
        return "error"

    def _dead_letters(self, batch: Batch, failed: set[str]) -> None:
        """Failed messages received maxReceiveCount times go to the DLQ at the next receive: say so."""
        from serverless_lab.cloud.sqs import logic as sqs_logic

        policy = sqs_logic.redrive_policy(self.queue.attributes)
        if policy is None:
            return
        doomed = [mid for mid, _, count in batch.items if mid in failed and count >= policy.max_receive_count]
        if not doomed:
            return
        sandbox = self.mapping.sandbox
        dlq = sqs_logic.parse_queue_arn(policy.dead_letter_target_arn)
        hop_record(
            sandbox_id=sandbox.pk,
            trace=batch.trace_header,
            from_node=nodes.sqs_queue(sandbox.region, sandbox.account_id, self.queue.name),
            to_node=nodes.sqs_queue(sandbox.region, sandbox.account_id, dlq[2] if dlq else "dead-letter-queue"),
            action="sqs→lambda batch",
            status="sent-to-DLQ",
            payload_preview=nodes.preview({"messages": len(doomed), "maxReceiveCount": policy.max_receive_count}),
        )

    def node(self) -> str:
        sandbox = self.mapping.sandbox
        name = self.queue.name if self.queue is not None else self.mapping.event_source_arn.rsplit(":", 1)[-1]
        return nodes.sqs_queue(sandbox.region, sandbox.account_id, name)


class StreamSource:
    def __init__(self, mapping: EventSourceMapping) -> None:
        from serverless_lab.cloud.dynamodb import backend as dynamodb
        from serverless_lab.cloud.dynamodb.models import StreamRecord, Table

        self.dynamodb = dynamodb
        self.mapping = mapping
        self.records = StreamRecord.objects
        ref = logic.parse_source_arn(mapping.event_source_arn)
        self.ref = ref
        self.table = (
            Table.objects.filter(sandbox=mapping.sandbox, name=ref.name, stream_label=ref.label)
            .select_related("sandbox")
            .first()
        )

    def problem(self) -> str:
        return "" if self.table is not None else "PROBLEM: the stream does not exist"

    def _pending(self) -> Any:
        return self.records.filter(table=self.table, label=self.ref.label, id__gt=self.mapping.checkpoint)

    def due(self, at: int) -> int | None:
        mapping = self.mapping
        if mapping.maximum_record_age_s >= 0:  # records too old are skipped, not delivered
            cutoff = datetime.fromtimestamp((at / 1000) - mapping.maximum_record_age_s, tz=UTC)
            stale = self._pending().filter(created_at__lt=cutoff).order_by("-id").values_list("id", flat=True).first()
            if stale is not None:
                mapping.checkpoint, mapping.retries, mapping.bisect_limit, mapping.retry_at_ms = stale, 0, None, 0
                mapping.save(update_fields=["checkpoint", "retries", "bisect_limit", "retry_at_ms"])
        first = self._pending().order_by("id").values_list("created_at", flat=True).first()
        if first is None:
            return 0
        if mapping.batching_window_s and self._pending()[: mapping.batch_size].count() < mapping.batch_size:
            closes = int(first.timestamp() * 1000) + mapping.batching_window_s * 1000
            if closes > at:
                return closes
        return None

    def empty_take_due(self, at: int) -> int:
        return 0

    def take(self) -> Taken:
        limit = self.mapping.bisect_limit or self.mapping.batch_size
        rows = list(self._pending().order_by("id")[:limit])
        arn = self.mapping.event_source_arn
        taken = Taken([], [])
        size = 0
        for row in rows:
            size += row.size + 512
            if taken.records and size > MAX_PAYLOAD_BYTES // 2:  # stay well inside Invoke's 6 MB
                break
            record = logic.stream_event_record(self.dynamodb.stream_record(row, self.table), arn)
            taken.records.append(record)
            taken.items.append(record["dynamodb"]["SequenceNumber"])
            taken.first_record = taken.first_record or row.pk
            taken.last_record = row.pk
        return taken

    def settle(self, batch: Batch, result: logic.BatchResult) -> str:
        """Move the checkpoint past what succeeded; retry the rest until retries run out. Returns the hop status."""
        mapping = self.mapping
        mapping.retry_at_ms = 0
        if not result.failed_all and not result.failed_ids:
            mapping.checkpoint, mapping.retries, mapping.bisect_limit = batch.last_record, 0, None
            return "ok"
        if result.failed_ids:  # ReportBatchItemFailures: resume at the first record reported
            mapping.checkpoint = max(mapping.checkpoint, min(int(seq) for seq in result.failed_ids) - 1)
        mapping.retries += 1
        limit = mapping.maximum_retry_attempts
        if limit >= 0 and mapping.retries > limit:
            mapping.checkpoint, mapping.retries, mapping.bisect_limit = batch.last_record, 0, None
            return "error"
        size = len(batch.items)
        if mapping.bisect_on_error and size > 1:
            mapping.bisect_limit = max(1, size // 2)
        mapping.retry_at_ms = now_ms() + int(min(0.25 * 2**mapping.retries, 5.0) * 1000)
        return "retried"

    def node(self) -> str:
        sandbox = self.mapping.sandbox
        return nodes.dynamodb_table(sandbox.region, sandbox.account_id, self.ref.name)


def _source(mapping: EventSourceMapping) -> SqsSource | StreamSource:
    return SqsSource(mapping) if mapping.kind == logic.SQS else StreamSource(mapping)


def _locked(mapping_id: int) -> EventSourceMapping | None:
    return (
        EventSourceMapping.objects.select_for_update(of=("self",))
        .select_related("sandbox", "function__sandbox")
        .filter(pk=mapping_id)
        .first()
    )


# --- one poll -----------------------------------------------------------------------------------


def poll(mapping_id: int) -> None:
    """Take the mapping's next batch and start its invocation, or arrange to look again when due."""
    hooks.poll_started(mapping_id)
    try:
        with _writing():
            _poll(mapping_id)
    except _Throttled:
        hooks.schedule(mapping_id, now_ms() + THROTTLE_RETRY_MS)


def _poll(mapping_id: int) -> None:
    mapping = _locked(mapping_id)
    if mapping is None or not mapping.enabled:
        return
    at = now_ms()
    in_flight = 0
    for batch in mapping.batches.filter(finished_at__isnull=True):
        if batch.deadline_ms > at:
            in_flight += 1
        else:
            _settle(mapping, batch, None, "the invocation did not finish in time")
    if in_flight >= concurrency(mapping):
        return  # a completion polls again
    if mapping.retry_at_ms > at:  # a failed stream batch backs off, whatever wakes the poller
        retry_at = mapping.retry_at_ms
        transaction.on_commit(lambda: hooks.schedule(mapping_id, retry_at))
        return
    source = _source(mapping)
    if problem := source.problem():
        _set_result(mapping, problem)
        return
    due = source.due(at)
    if due is not None:
        if due:
            transaction.on_commit(lambda: hooks.schedule(mapping_id, due))
        return
    try:
        target = lambda_backend.resolve(
            sandbox=mapping.sandbox, function_name=mapping.function.name, qualifier=mapping.qualifier or None
        )
    except AwsError as error:
        _set_result(mapping, f"PROBLEM: {error.message}")
        return
    taken = source.take()
    if not taken.records:
        if again := source.empty_take_due(at):
            transaction.on_commit(lambda: hooks.schedule(mapping_id, again))
        return
    request_id = str(uuid.uuid4())
    function = target.function
    reason = coordination.acquire_lease(
        sandbox_id=function.sandbox_id,
        function_id=function.pk,
        lease_id=request_id,
        sandbox_limit=lambda_backend.sandbox_concurrency_limit(function.sandbox),
        reserved=function.reserved_concurrency,
        timeout_s=target.config.timeout_s,
    )
    if reason is not None:
        raise _Throttled(reason)  # rolls the receive back: the messages stay where they were
    try:
        _start(mapping, target, taken, request_id, at)
    except BaseException:
        coordination.release_lease(sandbox_id=function.sandbox_id, function_id=function.pk, lease_id=request_id)
        raise
    if len(taken.records) >= mapping.batch_size and in_flight + 1 < concurrency(mapping):
        # a full batch: more may be waiting, and another poll may start the next batch beside this one
        transaction.on_commit(lambda: hooks.kick(mapping_id))


def concurrency(mapping: EventSourceMapping) -> int:
    """Batches a mapping may have in flight: a standard queue's pollers scale out (AWS starts with
    five; ``ScalingConfig.MaximumConcurrency`` sets the limit); a FIFO queue or a stream keeps one,
    which keeps its order."""
    if mapping.kind != logic.SQS or mapping.event_source_arn.endswith(".fifo"):
        return 1
    return (mapping.scaling_config or {}).get("MaximumConcurrency") or logic.DEFAULT_SQS_CONCURRENCY


def _start(
    mapping: EventSourceMapping, target: lambda_backend.Target, taken: Taken, request_id: str, at: int
) -> None:
    header = parse_header(taken.trace) or TraceHeader(root=new_trace_id())
    payload = json.dumps({"Records": taken.records}, separators=(",", ":")).encode()
    invocation = runtime.invocation_create(
        target=target,
        request_id=request_id,
        invocation_type="RequestResponse",
        payload=payload,
        trace_header=str(header),
        status=Invocation.Status.RUNNING,  # as a synchronous invoke's row: running since the call
    )
    timeout_s = target.config.timeout_s
    batch = Batch.objects.create(
        sandbox=mapping.sandbox,
        mapping=mapping,
        invocation=invocation,
        request_id=request_id,
        items=taken.items,
        first_record=taken.first_record,
        last_record=taken.last_record,
        trace_header=str(header),
        started_at=timezone.now(),
        deadline_ms=at + (timeout_s + WATCHDOG_SLACK_S) * 1000,
    )
    transaction.on_commit(lambda: _run(batch.pk, invocation.pk, payload, timeout_s, target, request_id))


def _run(
    batch_id: int, invocation_id: int, payload: bytes, timeout_s: int, target: lambda_backend.Target, request_id: str
) -> None:
    """Queue the runtime task (its lease is held) and the watchdog. Mirrors ``runtime.services``'
    own queuing, plus a task id that tells ``task_postrun`` this invocation belongs to a batch."""
    from serverless_lab.runtime.tasks import invoke

    from .tasks import complete

    try:
        invoke.apply_async(
            args=[invocation_id, base64.b64encode(payload).decode()],
            kwargs={"lease_held": True, "client_context": None, "throttled_since": None},
            soft_time_limit=timeout_s + 30,
            time_limit=timeout_s + 40,
            task_id=f"{TASK_ID_PREFIX}{batch_id}-{uuid.uuid4()}",
        )
    except Exception:
        function = target.function
        coordination.release_lease(sandbox_id=function.sandbox_id, function_id=function.pk, lease_id=request_id)
        logger.exception("could not queue the invocation of batch %s", batch_id)
    complete.apply_async(args=[batch_id], countdown=timeout_s + WATCHDOG_SLACK_S)


def batch_of_task(task_id: str | None) -> int | None:
    """The batch a runtime task id belongs to, or None for other invocations."""
    if not task_id or not task_id.startswith(TASK_ID_PREFIX):
        return None
    number = task_id[len(TASK_ID_PREFIX) :].split("-", 1)[0]
    return int(number) if number.isdigit() else None


# --- the end of a batch -------------------------------------------------------------------------


def _result(request_id: str) -> dict[str, Any] | None:
    """The invocation's result as the runtime posted it for a synchronous caller (without waiting).

    Uses the runtime's result mailbox directly: ``coordination`` only offers an asyncio wait."""
    raw = coordination._client().lpop(coordination._result_key(request_id))
    return json.loads(raw) if raw else None


def complete(batch_id: int) -> None:
    """Settle a batch once its invocation ended (or its deadline passed), then poll again."""
    row = Batch.objects.filter(pk=batch_id, finished_at__isnull=True).values("mapping_id", "request_id").first()
    if row is None:
        return
    posted = _result(row["request_id"])
    with _writing():
        mapping = _locked(row["mapping_id"])
        batch = Batch.objects.select_for_update().filter(pk=batch_id, finished_at__isnull=True).first()
        if mapping is None or batch is None:
            return
        if posted is None:
            status = (
                Invocation.objects.filter(pk=batch.invocation_id).values_list("status", flat=True).first()
                if batch.invocation_id
                else None
            )
            if status in (Invocation.Status.QUEUED, Invocation.Status.RUNNING) and batch.deadline_ms > now_ms():
                return  # not finished yet: the runtime task's end or the watchdog comes back
        _settle(mapping, batch, posted, "the invocation did not finish in time")


def _settle(mapping: EventSourceMapping, batch: Batch, posted: dict[str, Any] | None, lost: str) -> None:
    source = _source(mapping)
    if posted is None:
        result = logic.BatchResult(True, reason=f"Lambda.ServiceException: {lost}")
        invocation = Invocation.objects.filter(
            pk=batch.invocation_id, status__in=[Invocation.Status.QUEUED, Invocation.Status.RUNNING]
        ).first()
        if invocation is not None:  # its worker died: the row must not stay "running" in the charts
            runtime.invocation_fail(
                invocation, status=Invocation.Status.ERROR, error_type="Lambda.ServiceException", message=lost
            )
    elif posted.get("lab_error"):
        result = logic.BatchResult(True, reason=f"Lambda.ServiceException: {posted['lab_error']}"[:200])
    else:
        result = logic.batch_result(
            function_error=posted.get("function_error"),
            payload=base64.b64decode(posted.get("payload") or ""),
            report_item_failures=logic.REPORT_BATCH_ITEM_FAILURES in (mapping.function_response_types or []),
            item_ids=[item[0] if isinstance(item, list) else item for item in batch.items],
        )
    status = source.settle(batch, result) if not source.problem() else "error"
    finished = timezone.now()
    batch.finished_at = finished
    batch.outcome = (
        Batch.Outcome.FAILED if result.failed_all else Batch.Outcome.PARTIAL if result.failed_ids else Batch.Outcome.OK
    )
    batch.error = result.reason[:256]
    batch.save(update_fields=["finished_at", "outcome", "error"])
    mapping.last_processing_result = "OK" if status == "ok" else f"PROBLEM: {result.reason}"[:256]
    mapping.save(update_fields=["checkpoint", "retries", "bisect_limit", "retry_at_ms", "last_processing_result"])
    sandbox = mapping.sandbox
    kind = "sqs→lambda batch" if mapping.kind == logic.SQS else "dynamodb stream→lambda batch"
    hop_record(
        sandbox_id=sandbox.pk,
        trace=batch.trace_header,
        from_node=source.node(),
        to_node=nodes.lambda_function(sandbox.region, sandbox.account_id, mapping.function.name),
        action=kind,
        status=status,
        error_code="" if status == "ok" else "Lambda.FunctionError" if posted else "Lambda.ServiceException",
        started_at=batch.started_at,
        duration_ms=(finished - batch.started_at).total_seconds() * 1000,
        payload_preview=nodes.preview({"Records": len(batch.items), "outcome": batch.outcome}),
    )
    old = mapping.batches.filter(finished_at__isnull=False).order_by("-pk").values_list("pk", flat=True)
    cutoff = old[KEEP_BATCHES : KEEP_BATCHES + 1]
    if cutoff:
        mapping.batches.filter(finished_at__isnull=False, pk__lte=cutoff[0]).delete()
    mapping_id = mapping.pk
    if mapping.retry_at_ms:
        retry_at = mapping.retry_at_ms
        transaction.on_commit(lambda: hooks.schedule(mapping_id, retry_at))
    else:
        transaction.on_commit(lambda: hooks.kick(mapping_id))


def _set_result(mapping: EventSourceMapping, text: str) -> None:
    if mapping.last_processing_result != text:
        mapping.last_processing_result = text
        mapping.save(update_fields=["last_processing_result"])
