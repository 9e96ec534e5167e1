"""SQS operations on the database: one function per operation, each in one transaction.

Receiving locks the rows it hands out (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite
serialises write transactions, and ``_writing`` takes its write lock first), so two consumers
never get the same message inside its visibility window. A FIFO receive locks its queue row
instead: message groups must be handed out in order, which row skipping would break.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q

from serverless_lab.cloud.esm import hooks as esm_hooks
from serverless_lab.sandboxes.models import Sandbox

from . import logic
from .events import announce, notify_visible
from .exceptions import (
    InvalidParameterValue,
    MessageNotInflight,
    MissingParameter,
    QueueAlreadyExists,
    QueueDoesNotExist,
    ReceiptHandleIsInvalid,
    SqsError,
    from_rule,
)
from .models import Deduplication, Message, Queue

MAX_VISIBILITY = 43_200
_WRONG_QUEUE_TYPE = "The request include parameter that is not valid for this queue type."


def now_ms() -> int:
    return int(time.time() * 1000)


@contextmanager
def _writing() -> Iterator[None]:
    """A write transaction; on SQLite it takes the write lock first (as ``BEGIN IMMEDIATE``)."""
    with transaction.atomic():
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("UPDATE sqs_queue SET id = id WHERE 0")
        yield


@contextmanager
def _rules() -> Iterator[None]:
    try:
        yield
    except logic.SqsRuleError as error:
        raise from_rule(error) from None


# --- queues ---------------------------------------------------------------------------------


def queue_url(queue: Queue) -> str:
    return f"{settings.LAB_PUBLIC_URL}/{settings.AWS_ENDPOINT_PREFIX}{queue.sandbox.account_id}/{queue.name}"


def queue_arn_of(queue: Queue) -> str:
    return logic.queue_arn(queue.sandbox.region, queue.sandbox.account_id, queue.name)


def find_queue(*, sandbox: Sandbox, queue_url: str) -> Queue:
    parsed = logic.parse_queue_url(queue_url)
    if parsed is None or parsed[0] != sandbox.account_id:
        raise QueueDoesNotExist()
    return _queue_named(sandbox, parsed[1])


# A queue as sends and receives just saw it, for a second per process: AWS itself says attribute
# changes take up to 60 s to reach every host, and that a deleted queue may still take sends for a
# while. Changes made in this process forget it at once; a send to a queue deleted meanwhile
# fails its foreign key and looks again.
_RECENT_S = 1.0
_RECENT_MAX = 4096
_recent: dict[tuple[int, str], tuple[float, Queue]] = {}


def _recent_queue(sandbox: Sandbox, queue_url: str) -> Queue:
    """:func:`find_queue`, remembered for a second (sends and receives only)."""
    parsed = logic.parse_queue_url(queue_url)
    if parsed is None or parsed[0] != sandbox.account_id:
        raise QueueDoesNotExist()
    key = (sandbox.pk, parsed[1])
    hit = _recent.get(key)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    queue = _queue_named(sandbox, parsed[1])
    if len(_recent) > _RECENT_MAX:
        _recent.clear()
    _recent[key] = (now + _RECENT_S, queue)
    return queue


def _forget(queue: Queue) -> None:
    _recent.pop((queue.sandbox_id, queue.name), None)


def find_queue_by_arn(*, sandbox: Sandbox, arn: str) -> Queue | None:
    parsed = logic.parse_queue_arn(arn)
    if parsed is None or parsed[1] != sandbox.account_id:
        return None
    return Queue.objects.filter(sandbox=sandbox, name=parsed[2]).select_related("sandbox").first()


def _queue_named(sandbox: Sandbox, name: str) -> Queue:
    queue = Queue.objects.filter(sandbox=sandbox, name=name).first()
    if queue is None:
        raise QueueDoesNotExist()
    queue.sandbox = sandbox
    return queue


def effective_attributes(queue: Queue) -> dict[str, str]:
    attributes = dict(logic.DEFAULTS)
    if queue.fifo:
        attributes.update(logic.FIFO_DEFAULTS, FifoQueue="true")
    attributes.update({k: v for k, v in queue.attributes.items() if v != ""})
    return attributes


def create_queue(*, sandbox: Sandbox, name: str, attributes: dict[str, str], tags: dict[str, str]) -> Queue:
    fifo = attributes.get("FifoQueue", "false").lower() == "true"
    with _rules():
        logic.check_queue_name(name, fifo)
        clean = logic.validate_attributes(attributes, fifo=fifo or name.endswith(".fifo"), creating=True)
    clean.pop("FifoQueue", None)
    with _writing():
        existing = Queue.objects.filter(sandbox=sandbox, name=name).first()
        if existing is not None:
            existing.sandbox = sandbox
            current = effective_attributes(existing)
            for key, value in clean.items():
                if current.get(key, "") != value:
                    raise QueueAlreadyExists(
                        f"A queue already exists with the same name and a different value for attribute {key}"
                    )
            return existing
        stamp = now_ms()
        try:
            with transaction.atomic():
                queue = Queue.objects.create(
                    sandbox=sandbox,
                    name=name,
                    fifo=fifo,
                    attributes=clean,
                    tags=dict(tags),
                    created_ms=stamp,
                    modified_ms=stamp,
                )
        except IntegrityError:  # created concurrently
            return _queue_named(sandbox, name)
        _forget(queue)
        announce(sandbox.pk, f"SQS queue {name} created")
    return queue


def get_queue_url(*, sandbox: Sandbox, name: str, owner_account_id: str | None) -> Queue:
    if owner_account_id and owner_account_id != sandbox.account_id:
        raise QueueDoesNotExist()
    return _queue_named(sandbox, name)


def list_queues(
    *, sandbox: Sandbox, prefix: str, max_results: int | None, next_token: str | None
) -> tuple[list[Queue], str | None]:
    if max_results is not None and not 1 <= max_results <= 1000:
        raise InvalidParameterValue(
            logic.bad_value(max_results, "MaxResults", "MaxResults must be an integer between 1 and 1000.")
        )
    queues = Queue.objects.filter(sandbox=sandbox, name__startswith=prefix).order_by("name")
    if next_token:
        queues = queues.filter(name__gt=next_token)
    limit = max_results or 1000
    rows = list(queues[: limit + 1])
    for row in rows:
        row.sandbox = sandbox
    more = max_results is not None and len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].name if more else None)


def delete_queue(*, sandbox: Sandbox, queue_url: str) -> None:
    with _writing():
        queue = find_queue(sandbox=sandbox, queue_url=queue_url)
        queue.delete()
        _forget(queue)
        announce(sandbox.pk, f"SQS queue {queue.name} deleted")


def queue_counts(queue: Queue, at: int | None = None) -> dict[str, int]:
    at = now_ms() if at is None else at
    counts = Message.objects.filter(queue=queue, expires_at__gt=at).aggregate(
        visible=Count("id", filter=Q(visible_at__lte=at)),
        in_flight=Count("id", filter=Q(visible_at__gt=at, receive_count__gt=0)),
        delayed=Count("id", filter=Q(visible_at__gt=at, receive_count=0)),
    )
    return {key: value or 0 for key, value in counts.items()}


def get_queue_attributes(*, sandbox: Sandbox, queue_url: str, names: list[str]) -> dict[str, str]:
    queue = find_queue(sandbox=sandbox, queue_url=queue_url)
    for name in names:
        if name != "All" and name not in logic.ALL_ATTRIBUTES:
            raise SqsError(f"Unknown Attribute {name}.", code="InvalidAttributeName")
    if not names:
        return {}
    wanted = set(logic.ALL_ATTRIBUTES) if "All" in names else set(names)
    attributes = effective_attributes(queue)
    if wanted & {
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    }:
        counts = queue_counts(queue)
        attributes.update(
            ApproximateNumberOfMessages=str(counts["visible"]),
            ApproximateNumberOfMessagesNotVisible=str(counts["in_flight"]),
            ApproximateNumberOfMessagesDelayed=str(counts["delayed"]),
        )
    attributes.update(
        CreatedTimestamp=str(queue.created_ms // 1000),
        LastModifiedTimestamp=str(queue.modified_ms // 1000),
        QueueArn=queue_arn_of(queue),
    )
    return {key: value for key, value in attributes.items() if key in wanted}


def set_queue_attributes(*, sandbox: Sandbox, queue_url: str, attributes: dict[str, str]) -> None:
    with _writing():
        queue = find_queue(sandbox=sandbox, queue_url=queue_url)
        with _rules():
            clean = logic.validate_attributes(attributes, fifo=queue.fifo, creating=False)
        queue.attributes = {**queue.attributes, **clean}
        queue.modified_ms = now_ms()
        queue.save(update_fields=["attributes", "modified_ms"])
        _forget(queue)


def tag_queue(*, sandbox: Sandbox, queue_url: str, tags: dict[str, str]) -> None:
    with _writing():
        queue = find_queue(sandbox=sandbox, queue_url=queue_url)
        merged = {**queue.tags, **tags}
        if len(merged) > 50:
            raise InvalidParameterValue("Too many tags added for queue. Maximum is 50.")
        queue.tags = merged
        queue.save(update_fields=["tags"])


def untag_queue(*, sandbox: Sandbox, queue_url: str, keys: list[str]) -> None:
    with _writing():
        queue = find_queue(sandbox=sandbox, queue_url=queue_url)
        queue.tags = {k: v for k, v in queue.tags.items() if k not in set(keys)}
        queue.save(update_fields=["tags"])


def purge_queue(*, sandbox: Sandbox, queue_url: str) -> None:
    with _writing():
        queue = find_queue(sandbox=sandbox, queue_url=queue_url)
        queue.messages.all().delete()
        announce(sandbox.pk, f"SQS queue {queue.name} purged")


def dead_letter_sources(*, sandbox: Sandbox, queue_url: str) -> list[Queue]:
    """The queues whose RedrivePolicy sends their dead letters to this queue."""
    arn = queue_arn_of(find_queue(sandbox=sandbox, queue_url=queue_url))
    sources = []
    for queue in Queue.objects.filter(sandbox=sandbox, attributes__has_key="RedrivePolicy").order_by("name"):
        policy = logic.redrive_policy(queue.attributes)
        if policy is not None and policy.dead_letter_target_arn == arn:
            queue.sandbox = sandbox
            sources.append(queue)
    return sources


def start_message_move_task(*, sandbox: Sandbox, source_arn: str, destination_arn: str | None) -> tuple[Queue, int]:
    """Redrive a dead-letter queue's messages back, at once (the lab does not pace the move).

    Without a destination they go to the source queue that redrives into this DLQ, which must then
    be the only one. Moved messages are visible at once with a fresh receive count.
    """
    source = find_queue_by_arn(sandbox=sandbox, arn=source_arn)
    if source is None:
        raise SqsError(
            "The resource that you specified for the SourceArn parameter doesn't exist.",
            code="ResourceNotFoundException",
        )
    origins = dead_letter_sources(sandbox=sandbox, queue_url=queue_url(source))
    if not origins:
        raise InvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
    if destination_arn:
        destination = find_queue_by_arn(sandbox=sandbox, arn=destination_arn)
        if destination is None:
            raise SqsError(
                "The resource that you specified for the DestinationArn parameter doesn't exist.",
                code="ResourceNotFoundException",
            )
    elif len(origins) == 1:
        destination = origins[0]
    else:
        raise InvalidParameterValue("Several queues use this dead-letter queue: name the DestinationArn.")
    if destination.fifo or source.fifo:
        raise InvalidParameterValue("The lab redrives standard queues only.")
    at = now_ms()
    with _writing():
        moved = Message.objects.filter(queue=source, expires_at__gt=at).update(
            queue=destination, visible_at=at, receive_count=0, first_received_ms=None, receipt_nonce=""
        )
        if moved:
            notify_visible(destination.pk)
        announce(sandbox.pk, f"SQS redrove {moved} message(s) from {source.name} to {destination.name}")
    return source, moved


# --- sending --------------------------------------------------------------------------------


@dataclass
class Outgoing:
    """One message to send, as the caller gave it."""

    body: str
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    system_attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    delay_seconds: int | None = None
    group_id: str | None = None
    dedup_id: str | None = None


@dataclass
class Sent:
    message_id: str
    md5_body: str
    md5_attributes: str | None
    md5_system: str | None
    sequence_number: str | None


def _check_outgoing(queue: Queue, message: Outgoing, attributes: dict[str, str]) -> None:
    with _rules():
        logic.check_body(message.body)
        size = len(message.body.encode()) + logic.check_message_attributes(message.attributes)
    limit = int(attributes["MaximumMessageSize"])
    if size > limit:
        raise InvalidParameterValue(
            f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
        )
    for name, value in message.system_attributes.items():
        if name != "AWSTraceHeader" or value.get("DataType") != "String" or not value.get("StringValue"):
            raise InvalidParameterValue(f"Message system attribute name '{name}' is invalid.")
    if message.delay_seconds is not None and not 0 <= message.delay_seconds <= 900:
        raise InvalidParameterValue(
            logic.bad_value(message.delay_seconds, "DelaySeconds", "DelaySeconds must be >= 0 and <= 900.")
        )
    if queue.fifo:
        if message.delay_seconds:
            raise InvalidParameterValue(logic.bad_value(message.delay_seconds, "DelaySeconds", _WRONG_QUEUE_TYPE))
        if not message.group_id:
            raise MissingParameter("The request must contain the parameter MessageGroupId.")
        with _rules():
            logic.check_token("MessageGroupId", message.group_id)
            if message.dedup_id:
                logic.check_token("MessageDeduplicationId", message.dedup_id)
        if not message.dedup_id and attributes.get("ContentBasedDeduplication") != "true":
            raise InvalidParameterValue(
                "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided "
                "explicitly"
            )
    elif message.dedup_id:
        raise InvalidParameterValue(logic.bad_value(message.dedup_id, "MessageDeduplicationId", _WRONG_QUEUE_TYPE))


def _enqueue(
    queue: Queue, message: Outgoing, attributes: dict[str, str], at: int, pending: list[Message] | None = None
) -> tuple[Sent, bool]:
    """Insert one checked message (the caller holds the queue row lock for FIFO); the bool says it is visible now.

    With ``pending``, a standard queue's row is appended there for the caller to insert in bulk.
    """
    md5_attributes = logic.md5_of_attributes(message.attributes)
    md5_system = logic.md5_of_attributes(message.system_attributes)
    delay = message.delay_seconds if message.delay_seconds is not None else int(attributes["DelaySeconds"])
    row = Message(
        queue=queue,
        body=message.body,
        attributes=logic.stored_attributes(message.attributes),
        md5_body=logic.md5_hex(message.body),
        md5_attributes=md5_attributes or "",
        trace_header=(message.system_attributes.get("AWSTraceHeader") or {}).get("StringValue", ""),
        sent_ms=at,
        visible_at=at + delay * 1000,
        expires_at=at + int(attributes["MessageRetentionPeriod"]) * 1000,
        group_id=message.group_id or "",
    )
    if queue.fifo:
        dedup_id = message.dedup_id or logic.content_dedup_id(message.body)
        scope_group = row.group_id if attributes.get("DeduplicationScope") == "messageGroup" else ""
        Deduplication.objects.filter(queue=queue, expires_ms__lte=at).delete()
        seen = Deduplication.objects.filter(queue=queue, group_id=scope_group, dedup_id=dedup_id).first()
        if seen is not None:
            return Sent(str(seen.message_id), row.md5_body, md5_attributes, md5_system, f"{seen.sequence:020d}"), False
        row.dedup_id = dedup_id
        row.sequence = queue.next_sequence
        queue.next_sequence += 1
        Queue.objects.filter(pk=queue.pk).update(next_sequence=queue.next_sequence)
        Deduplication.objects.create(
            queue=queue,
            group_id=scope_group,
            dedup_id=dedup_id,
            message_id=row.message_id,
            sequence=row.sequence,
            expires_ms=at + logic.DEDUP_WINDOW_MS,
        )
    if pending is not None and not queue.fifo:
        pending.append(row)
    else:
        row.save()
    esm_hooks.source_changed("sqs", queue.pk)  # wakes Lambda event source mappings after commit
    sequence = f"{row.sequence:020d}" if row.sequence is not None else None
    return Sent(str(row.message_id), row.md5_body, md5_attributes, md5_system, sequence), delay == 0


def _lock_fifo(queue: Queue) -> Queue:
    """A FIFO queue's row, locked: sequence numbers and deduplication are per queue."""
    if not queue.fifo:
        return queue
    locked = Queue.objects.select_for_update().filter(pk=queue.pk).first()
    if locked is None:  # deleted since it was looked up
        raise QueueDoesNotExist()
    locked.sandbox = queue.sandbox
    return locked


def _locked_for_send(sandbox: Sandbox, queue_url: str) -> Queue:
    return _lock_fifo(find_queue(sandbox=sandbox, queue_url=queue_url))


def _send(queue: Queue, message: Outgoing) -> Sent:
    attributes = effective_attributes(queue)
    _check_outgoing(queue, message, attributes)
    sent, visible = _enqueue(queue, message, attributes, now_ms())
    if visible:
        notify_visible(queue.pk)
    announce(queue.sandbox_id, f"SQS message {sent.message_id[:8]} sent to {queue.name}")
    return sent


def send_message(*, sandbox: Sandbox, queue_url: str, message: Outgoing) -> Sent:
    queue = _recent_queue(sandbox, queue_url)
    if not queue.fifo:  # one INSERT: atomic by itself, and two round trips cheaper without BEGIN/COMMIT
        try:
            return _send(queue, message)
        except IntegrityError:  # the queue was deleted (or replaced) since we looked
            _forget(queue)
            return _send(find_queue(sandbox=sandbox, queue_url=queue_url), message)
    with _writing():  # FIFO: the queue's row is locked, and so read afresh
        return _send(_lock_fifo(queue), message)


def send_message_batch(
    *, sandbox: Sandbox, queue_url: str, entries: list[tuple[str, Outgoing]]
) -> tuple[list[tuple[str, Sent]], list[tuple[str, SqsError]]]:
    with _rules():
        logic.check_batch_ids([entry_id for entry_id, _ in entries])
    total = sum(len(m.body.encode()) + _attributes_size(m) for _, m in entries)
    with _writing():
        queue = _locked_for_send(sandbox, queue_url)
        attributes = effective_attributes(queue)
        limit = int(attributes["MaximumMessageSize"])
        if total > limit:
            raise SqsError(
                f"Batch requests cannot be longer than {limit} bytes. You have sent {total} bytes.",
                code="AWS.SimpleQueueService.BatchRequestTooLong",
            )
        at = now_ms()
        sent: list[tuple[str, Sent]] = []
        failed: list[tuple[str, SqsError]] = []
        any_visible = False
        for entry_id, message in entries:
            try:
                _check_outgoing(queue, message, attributes)
            except SqsError as error:
                failed.append((entry_id, error))
                continue
            result, visible = _enqueue(queue, message, attributes, at)
            any_visible |= visible
            sent.append((entry_id, result))
        if any_visible:
            notify_visible(queue.pk)
        if sent:
            announce(sandbox.pk, f"SQS batch of {len(sent)} sent to {queue.name}")
    return sent, failed


def _attributes_size(message: Outgoing) -> int:
    try:
        return logic.check_message_attributes(message.attributes)
    except logic.SqsRuleError:
        return 0  # reported per entry


def enqueue_from_service(*, queue: Queue, message: Outgoing) -> Sent:
    """Deliver to ``queue`` on behalf of another service (SNS), as SendMessage would, inside the
    caller's transaction."""
    with transaction.atomic(savepoint=False):
        return _send(_lock_fifo(queue), message)


def enqueue_batch_from_service(*, deliveries: list[tuple[Queue, Outgoing]]) -> list[Sent | SqsError]:
    """Deliver to standard queues on behalf of another service (an SNS fan-out) with one INSERT,
    inside the caller's transaction. A message that fails SendMessage's checks gets its error in
    its place and writes nothing."""
    at = now_ms()
    rows: list[Message] = []
    results: list[Sent | SqsError] = []
    for queue, message in deliveries:
        attributes = effective_attributes(queue)
        try:
            _check_outgoing(queue, message, attributes)
        except SqsError as error:
            results.append(error)
            continue
        sent, visible = _enqueue(queue, message, attributes, at, pending=rows)
        if visible:
            notify_visible(queue.pk)
        announce(queue.sandbox_id, f"SQS message {sent.message_id[:8]} sent to {queue.name}")
        results.append(sent)
    Message.objects.bulk_create(rows)
    return results


# --- receiving ------------------------------------------------------------------------------


@dataclass
class Received:
    row: Message
    receipt_handle: str


def _move_to_dead_letter(queue: Queue, rows: list[Message], at: int) -> list[Message]:
    """Move rows received maxReceiveCount times to the queue's DLQ; return the rest."""
    policy = logic.redrive_policy(queue.attributes)
    if policy is None:
        return rows
    over = [row for row in rows if row.receive_count >= policy.max_receive_count]
    if not over:
        return rows
    dlq = find_queue_by_arn(sandbox=queue.sandbox, arn=policy.dead_letter_target_arn)
    if dlq is None or dlq.pk == queue.pk:
        return rows
    for row in over:
        row.queue_id = dlq.pk
        row.visible_at = at
        row.receipt_nonce = ""
        if dlq.fifo:
            dlq = Queue.objects.select_for_update().get(pk=dlq.pk)
            row.sequence = dlq.next_sequence
            Queue.objects.filter(pk=dlq.pk).update(next_sequence=dlq.next_sequence + 1)
    Message.objects.bulk_update(over, ["queue", "visible_at", "receipt_nonce", "sequence"])
    notify_visible(dlq.pk)
    announce(queue.sandbox_id, f"SQS moved {len(over)} message(s) from {queue.name} to its DLQ {dlq.name}")
    moved = {row.pk for row in over}
    return [row for row in rows if row.pk not in moved]


def receive_message(
    *, sandbox: Sandbox, queue_url: str, max_number: int, visibility_timeout: int | None
) -> tuple[Queue, list[Received]]:
    """Hand out up to ``max_number`` visible messages, hiding them for the visibility timeout."""
    if not 1 <= max_number <= logic.MAX_BATCH:
        raise InvalidParameterValue(
            logic.bad_value(max_number, "MaxNumberOfMessages", "Must be between 1 and 10, if provided.")
        )
    if visibility_timeout is not None and not 0 <= visibility_timeout <= MAX_VISIBILITY:
        raise InvalidParameterValue(
            logic.bad_value(visibility_timeout, "VisibilityTimeout", "Must be between 0 and 43200, if provided.")
        )
    queue = _recent_queue(sandbox, queue_url)
    attributes = effective_attributes(queue)
    timeout = visibility_timeout if visibility_timeout is not None else int(attributes["VisibilityTimeout"])
    at = now_ms()
    if connection.vendor == "postgresql" and not queue.fifo and "RedrivePolicy" not in queue.attributes:
        return queue, _receive_in_one_statement(queue, max_number, timeout, at)
    with _writing():
        candidates = Message.objects.filter(queue=queue, visible_at__lte=at, expires_at__gt=at)
        if queue.fifo:
            Queue.objects.select_for_update().filter(pk=queue.pk).first()
            busy = Message.objects.filter(queue=queue, visible_at__gt=at, receive_count__gt=0).values("group_id")
            rows = list(candidates.exclude(group_id__in=busy).order_by("sequence")[:max_number])
        else:
            rows = list(candidates.order_by("visible_at", "id").select_for_update(skip_locked=True)[:max_number])
        if len(rows) < max_number:  # the queue looks drained: a good moment to drop expired messages
            Message.objects.filter(queue=queue, expires_at__lte=at).delete()
        rows = _move_to_dead_letter(queue, rows, at)
        received = []
        for row in rows:
            row.receive_count += 1
            row.first_received_ms = row.first_received_ms or at
            row.visible_at = at + timeout * 1000
            row.receipt_nonce = secrets.token_hex(8)
            received.append(Received(row, logic.make_receipt_handle(queue.pk, str(row.message_id), row.receipt_nonce)))
        if rows:
            Message.objects.bulk_update(rows, ["receive_count", "first_received_ms", "visible_at", "receipt_nonce"])
            announce(sandbox.pk, f"SQS {len(rows)} message(s) received from {queue.name}")
    return queue, received


_RECEIVE_SQL = """
WITH picked AS (
    SELECT id FROM {table} WHERE queue_id = %s AND visible_at <= %s AND expires_at > %s
    ORDER BY visible_at, id LIMIT %s FOR UPDATE SKIP LOCKED
)
UPDATE {table} AS m
SET receive_count = m.receive_count + 1, first_received_ms = COALESCE(m.first_received_ms, %s),
    visible_at = %s, receipt_nonce = substr(md5(random()::text || m.id::text), 1, 16)
FROM picked WHERE m.id = picked.id
RETURNING m.*
"""


def _receive_in_one_statement(queue: Queue, max_number: int, timeout: int, at: int) -> list[Received]:
    """A standard queue's receive on PostgreSQL as one ``UPDATE … RETURNING`` over rows picked with
    ``FOR UPDATE SKIP LOCKED``: the same locking as the general path, one round trip instead of four
    (no DLQ to consider: queues with a RedrivePolicy take the general path)."""
    sql = _RECEIVE_SQL.format(table=Message._meta.db_table)
    rows = sorted(Message.objects.raw(sql, [queue.pk, at, at, max_number, at, at + timeout * 1000]), key=lambda r: r.pk)
    if len(rows) < max_number:  # the queue looks drained: a good moment to drop expired messages
        Message.objects.filter(queue=queue, expires_at__lte=at).delete()
    if rows:
        announce(queue.sandbox_id, f"SQS {len(rows)} message(s) received from {queue.name}")
    return [Received(row, logic.make_receipt_handle(queue.pk, str(row.message_id), row.receipt_nonce)) for row in rows]


def message_system_attributes(row: Message) -> dict[str, str]:
    attributes = {
        "ApproximateReceiveCount": str(row.receive_count),
        "SentTimestamp": str(row.sent_ms),
        "ApproximateFirstReceiveTimestamp": str(row.first_received_ms or row.sent_ms),
        "SenderId": "AIDASERVERLESSLAB",
        "SqsManagedSseEnabled": "true",
    }
    if row.trace_header:
        attributes["AWSTraceHeader"] = row.trace_header
    if row.group_id:
        attributes["MessageGroupId"] = row.group_id
    if row.sequence is not None:
        attributes["SequenceNumber"] = f"{row.sequence:020d}"
        attributes["MessageDeduplicationId"] = row.dedup_id
    return attributes


# --- deleting and visibility ----------------------------------------------------------------


def _held_message(queue: Queue, handle: str) -> Message | None:
    """The message ``handle`` currently holds (locked); None when it is already gone."""
    parsed = logic.parse_receipt_handle(handle)
    if parsed is None or parsed[0] != queue.pk:
        raise ReceiptHandleIsInvalid(handle)
    row = Message.objects.select_for_update().filter(queue=queue, message_id=parsed[1]).first()
    if row is not None and row.receipt_nonce != parsed[2]:
        raise ReceiptHandleIsInvalid(handle)
    return row


def delete_message(*, sandbox: Sandbox, queue_url: str, receipt_handle: str) -> None:
    if not _delete_in_one_statement(sandbox, queue_url, receipt_handle):  # else find out why (or that it is gone)
        _delete_one(find_queue(sandbox=sandbox, queue_url=queue_url), receipt_handle)


def _delete_in_one_statement(sandbox: Sandbox, queue_url: str, handle: str) -> bool:
    """Delete the message ``handle`` holds in one round trip (no queue lookup, no transaction);
    False when that deleted nothing: the queue, handle or message is not what it says."""
    parsed_url, parsed = logic.parse_queue_url(queue_url), logic.parse_receipt_handle(handle)
    if parsed_url is None or parsed is None or parsed_url[0] != sandbox.account_id:
        return False
    queue_id, message_id, nonce = parsed
    try:
        message_value = Message._meta.get_field("message_id").get_db_prep_value(message_id, connection)
    except (ValueError, TypeError):
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {Message._meta.db_table} WHERE queue_id = %s AND message_id = %s AND receipt_nonce = %s "
            f"AND EXISTS (SELECT 1 FROM {Queue._meta.db_table} WHERE id = %s AND sandbox_id = %s AND name = %s)",
            [queue_id, message_value, nonce, queue_id, sandbox.pk, parsed_url[1]],
        )
        deleted = cursor.rowcount
    if not deleted:
        return False
    if parsed_url[1].endswith(".fifo"):  # the message's group may be free now
        notify_visible(queue_id)
    announce(sandbox.pk, f"SQS message {message_id[:8]} deleted from {parsed_url[1]}")
    return True


def _delete_one(queue: Queue, handle: str) -> None:
    """One conditional DELETE; only when it deletes nothing do we look at why."""
    parsed = logic.parse_receipt_handle(handle)
    if parsed is None or parsed[0] != queue.pk:
        raise ReceiptHandleIsInvalid(handle)
    _, message_id, nonce = parsed
    deleted, _ = Message.objects.filter(queue=queue, message_id=message_id, receipt_nonce=nonce).delete()
    if deleted:
        if queue.fifo:  # the message's group may be free now
            notify_visible(queue.pk)
        announce(queue.sandbox_id, f"SQS message {message_id[:8]} deleted from {queue.name}")
    elif Message.objects.filter(queue=queue, message_id=message_id).exists():
        raise ReceiptHandleIsInvalid(handle)  # received again since: this handle is stale


def delete_message_batch(
    *, sandbox: Sandbox, queue_url: str, entries: list[tuple[str, str]]
) -> tuple[list[str], list[tuple[str, SqsError]]]:
    with _rules():
        logic.check_batch_ids([entry_id for entry_id, _ in entries])
    done: list[str] = []
    failed: list[tuple[str, SqsError]] = []
    with _writing():
        queue = find_queue(sandbox=sandbox, queue_url=queue_url)
        for entry_id, handle in entries:
            try:
                _delete_one(queue, handle)
            except SqsError as error:
                failed.append((entry_id, error))
            else:
                done.append(entry_id)
    return done, failed


def _change_one(queue: Queue, handle: str, timeout: int, at: int) -> bool:
    if not 0 <= timeout <= MAX_VISIBILITY:
        raise InvalidParameterValue(
            logic.bad_value(timeout, "VisibilityTimeout", "Must be between 0 and 43200, if provided.")
        )
    row = _held_message(queue, handle)
    if row is None or row.visible_at <= at:
        raise MessageNotInflight()
    Message.objects.filter(pk=row.pk).update(visible_at=at + timeout * 1000)
    return timeout == 0


def change_message_visibility(*, sandbox: Sandbox, queue_url: str, receipt_handle: str, timeout: int) -> None:
    with _writing():
        queue = find_queue(sandbox=sandbox, queue_url=queue_url)
        if _change_one(queue, receipt_handle, timeout, now_ms()):
            notify_visible(queue.pk)


def change_message_visibility_batch(
    *, sandbox: Sandbox, queue_url: str, entries: list[tuple[str, str, int]]
) -> tuple[list[str], list[tuple[str, SqsError]]]:
    with _rules():
        logic.check_batch_ids([entry_id for entry_id, _, _ in entries])
    done: list[str] = []
    failed: list[tuple[str, SqsError]] = []
    at = now_ms()
    with _writing():
        queue = find_queue(sandbox=sandbox, queue_url=queue_url)
        for entry_id, handle, timeout in entries:
            try:
                if _change_one(queue, handle, timeout, at):
                    notify_visible(queue.pk)
            except SqsError as error:
                failed.append((entry_id, error))
            else:
                done.append(entry_id)
    return done, failed
