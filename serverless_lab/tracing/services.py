"""Recording hops: the one API every service uses to say "this happened, from here to there".

``hop_record`` is for sync code (handlers, Celery tasks): it saves in the caller's transaction and
broadcasts after commit. The AWS endpoint records through ``recorder.submit`` instead, which batches
the same ``hops_save`` off the request path.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from . import conf
from .broadcast import broadcast_on_commit
from .ids import TraceHeader, new_hop_id, new_trace_id, parse_header
from .models import Hop, Trace
from .schema import HopMessage, hop_message

logger = logging.getLogger(__name__)

_PRUNE_EVERY_S = 60.0
_last_prune: dict[int, float] = {}


@dataclass
class HopDraft:
    """A hop before it is saved."""

    sandbox_id: int
    trace_id: str
    from_node: str
    to_node: str
    action: str
    status: str = Hop.Status.OK
    hop_id: str = field(default_factory=new_hop_id)
    parent_hop_id: str = ""
    error_code: str = ""
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    duration_ms: float = 0.0
    payload_preview: str = ""
    new_trace: bool = False  # this hop starts its trace: its Trace row cannot exist yet


def hops_save(
    drafts: list[HopDraft], trace_pks: dict[tuple[int, str], int] | None = None
) -> list[tuple[int, HopMessage]]:
    """Save ``drafts`` (creating their traces) in one transaction; return (sandbox id, message) pairs.

    ``trace_pks`` maps (sandbox id, trace id) to known Trace pks: it spares the trace lookup and
    learns the new ones. Only pass a map whose entries are committed (the writer thread's).
    """
    if not drafts:
        return []
    trace_pks = {} if trace_pks is None else trace_pks
    with transaction.atomic():
        first: dict[tuple[int, str], HopDraft] = {}
        for draft in drafts:
            if (draft.sandbox_id, draft.trace_id) not in trace_pks:
                first.setdefault((draft.sandbox_id, draft.trace_id), draft)
        fresh = {key: draft for key, draft in first.items() if draft.new_trace}
        if fresh and connection.features.can_return_rows_from_bulk_insert:
            # A delivery of the trace (run by a worker) may have saved its row first: the call that
            # started the trace still names it (an upsert, so the batch is not lost to a conflict).
            created = Trace.objects.bulk_create(
                [
                    Trace(sandbox_id=s, trace_id=t, started_at=d.started_at, first_action=d.action)
                    for (s, t), d in fresh.items()
                ],
                update_conflicts=True,
                unique_fields=["sandbox", "trace_id"],
                update_fields=["started_at", "first_action"],
            )
            trace_pks.update(zip(fresh, (trace.pk for trace in created), strict=True))
            first = {key: draft for key, draft in first.items() if key not in fresh}
        if first:
            Trace.objects.bulk_create(
                [
                    Trace(sandbox_id=s, trace_id=t, started_at=d.started_at, first_action=d.action)
                    for (s, t), d in first.items()
                ],
                ignore_conflicts=True,
            )
            found = Trace.objects.filter(sandbox_id__in={s for s, _ in first}, trace_id__in={t for _, t in first})
            trace_pks.update(((s, t), pk) for pk, s, t in found.values_list("pk", "sandbox_id", "trace_id"))
        hops = Hop.objects.bulk_create(
            [
                Hop(
                    sandbox_id=d.sandbox_id,
                    trace_id=trace_pks[(d.sandbox_id, d.trace_id)],
                    hop_id=d.hop_id,
                    parent_hop_id=d.parent_hop_id,
                    from_node=d.from_node[:512],
                    to_node=d.to_node[:512],
                    action=d.action[:128],
                    status=d.status,
                    error_code=d.error_code[:128],
                    started_at=d.started_at,
                    duration_ms=d.duration_ms,
                    payload_preview=d.payload_preview[:512],
                )
                for d in drafts
            ]
        )
    return [(d.sandbox_id, hop_message(hop, d.trace_id)) for d, hop in zip(drafts, hops, strict=True)]


def hop_record(
    *,
    sandbox_id: int,
    trace: str | TraceHeader | None,
    from_node: str,
    to_node: str,
    action: str,
    status: str = Hop.Status.OK,
    error_code: str = "",
    started_at: datetime | None = None,
    duration_ms: float = 0.0,
    payload_preview: str = "",
) -> TraceHeader:
    """Record one hop and broadcast it after commit; return the header to pass on downstream.

    ``trace`` is what arrived with the work (an ``X-Amzn-Trace-Id``/``AWSTraceHeader`` value or a
    parsed header): its Root is the trace and its Parent this hop's parent. None starts a new trace.
    Node ids come from ``tracing.nodes``. Example, an SQS → Lambda batch::

        header = hop_record(sandbox_id=q.sandbox_id, trace=message.attributes.get("AWSTraceHeader"),
                            from_node=nodes.sqs_queue(...), to_node=nodes.lambda_function(...),
                            action="sqs→lambda batch", duration_ms=12.5)
        environment |= ids.lambda_environment(header)
    """
    header = trace if isinstance(trace, TraceHeader) else parse_header(trace)
    draft = HopDraft(
        sandbox_id=sandbox_id,
        trace_id=header.root if header else "",
        from_node=from_node,
        to_node=to_node,
        action=action,
        status=status,
        parent_hop_id=header.parent if header else "",
        error_code=error_code,
        duration_ms=duration_ms,
        payload_preview=payload_preview,
    )
    if started_at is not None:
        draft.started_at = started_at
    if not draft.trace_id:
        draft.trace_id = new_trace_id(draft.started_at.timestamp())
        draft.new_trace = True
    passed_on = TraceHeader(root=draft.trace_id, parent=draft.hop_id)
    if not conf.enabled():
        return passed_on
    for group_sandbox, message in hops_save([draft]):
        broadcast_on_commit(group_sandbox, dict(message))
    prune_if_due({sandbox_id})
    return passed_on


def traces_prune(*, sandbox_id: int, keep: int | None = None, max_age_hours: float | None = None) -> int:
    """Delete the sandbox's traces beyond the newest ``keep`` or older than ``max_age_hours``."""
    keep = conf.keep_traces() if keep is None else keep
    max_age_hours = conf.max_age_hours() if max_age_hours is None else max_age_hours
    cutoff = datetime.now(UTC) - timedelta(hours=max_age_hours)
    newest = Trace.objects.filter(sandbox_id=sandbox_id).order_by("-started_at", "-pk")
    boundary = next(iter(newest.values_list("started_at", flat=True)[keep : keep + 1]), None)
    if boundary is not None and boundary >= cutoff:
        cutoff = boundary + timedelta(microseconds=1)
    # Plain SQL: the ORM's cascade would first load every doomed trace into Python, and a busy
    # sandbox sheds thousands a minute (each boto3 call without a trace header starts one).
    trace, hop = Trace._meta.db_table, Hop._meta.db_table
    doomed = f"SELECT id FROM {trace} WHERE sandbox_id = %s AND started_at < %s"
    params = [sandbox_id, connection.ops.adapt_datetimefield_value(cutoff)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {hop} WHERE trace_id IN ({doomed})", params)
        cursor.execute(f"DELETE FROM {trace} WHERE id IN ({doomed})", params)
        return cursor.rowcount


def prune_if_due(sandbox_ids: set[int]) -> None:
    """Prune each sandbox at most once a minute per process: pruning is housekeeping, not per hop."""
    now = time.monotonic()
    for sandbox_id in sandbox_ids:
        if now - _last_prune.get(sandbox_id, -_PRUNE_EVERY_S) >= _PRUNE_EVERY_S:
            _last_prune[sandbox_id] = now
            try:
                traces_prune(sandbox_id=sandbox_id)
            except Exception:
                logger.exception("pruning the traces of sandbox %s failed", sandbox_id)
