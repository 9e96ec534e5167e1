"""Hops of AWS endpoint operations, recorded off the request path.

The endpoint calls ``endpoint_hop_begin`` when a signed request arrives and ``EndpointHop.finish``
with its outcome: two cheap calls that allocate ids and put a ``Finished`` record on a queue. One
writer per server process drains the queue, works each batch out into hops, saves it in one
statement and then sends the messages to the sandboxes' channel groups, so hops keep their order
and a request never waits for the database or Redis on tracing's behalf.

Where the writer runs (``LAB_TRACE_WRITER``): on PostgreSQL with Redis, in a child process of its
own (``writer_process``), fed through a pipe by a thread that only pickles, so its work never
holds the server's GIL while a request wants it; on SQLite (or ``thread``), in a thread of the
server process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
import weakref
from datetime import UTC, datetime
from typing import Any, ClassVar, NamedTuple

import redis
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction

from serverless_lab.ops.redis_pool import shared_client

from . import conf, nodes
from .broadcast import sandbox_group
from .ids import TraceHeader, new_hop_id, new_trace_id, parse_header
from .models import Hop, Trace
from .schema import HopBatch, HopMessage, hop_message
from .services import HopDraft, hops_save, prune_if_due

logger = logging.getLogger(__name__)

_HEADER = "x-amzn-trace-id"
_BATCH = 500
# While hops keep coming (the last batch ended under _BUSY_S ago), the writer waits _LINGER_S
# after the first hop of a batch for more, so they share one transaction and the writer takes the
# GIL far less often than once per request. A lone call is written at once.
_LINGER_S = 0.02
_BUSY_S = 0.25
# On SQLite a commit by the writer while a request's transaction is between its read and its write
# makes that request fail at once with "database is locked" (a deferred transaction cannot
# upgrade past a newer commit), so there the writer waits, up to this long, for the calls in
# flight in this process to finish.
_SQLITE_YIELD_S = 0.5
_STALE_S = 30.0
# After this long idle the writer checks its connection (CONN_MAX_AGE, a server that went away).
_RECHECK_S = 5.0
_KNOWN_TRACES = 4096
# Failed authentication is not the sandbox's activity (anyone can send a known key id with a bad
# signature), so it records nothing; a throttle is, and records a "throttled" hop.
_AUTH_FAILURES = frozenset(
    {
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "MissingAuthenticationToken",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "MissingAuthenticationTokenException",
        "InvalidAccessKeyId",
        "RequestTimeTooSkewed",
        "IncompleteSignature",
        "AuthFailure",
        "ExpiredToken",
        "AccessDenied",
    }
)
_THROTTLES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "SlowDown",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
    }
)


class EndpointHop:
    """One AWS API call in flight. ``header`` is what the handler passes on (Parent = this hop)."""

    __slots__ = (
        "access_key_id",
        "header",
        "hop_id",
        "invoked",
        "new_trace",
        "parent_hop_id",
        "request",
        "signing_service",
        "started",
        "started_at",
        "trace_id",
    )

    # Calls begun and not yet finished in this process: hop id → (start (monotonic), the call). A
    # call cut short (the client went away) never finishes; the writer ignores entries older than
    # _STALE_S. A synchronous Invoke is here while its function's own calls are recorded.
    in_flight: ClassVar[dict[str, tuple[float, EndpointHop]]] = {}

    def __init__(self, access_key_id: str, request: Any, signing_service: str = "") -> None:
        incoming = parse_header(request.headers.get(_HEADER))
        trace = incoming or TraceHeader(root=new_trace_id())
        self.new_trace = incoming is None
        self.access_key_id = access_key_id
        self.request = request
        self.signing_service = signing_service
        self.trace_id = trace.root
        self.parent_hop_id = trace.parent
        self.hop_id = new_hop_id()
        self.header = str(trace.child(self.hop_id))
        self.started = time.perf_counter()
        self.started_at = datetime.now(UTC)
        self.invoked: str | None = None  # an Invoke's FunctionName, once a call inside it asked
        EndpointHop.in_flight[self.hop_id] = (time.monotonic(), self)

    def finish(self, *, service: str | None, ctx: Any = None, params: Any = None, error_code: str = "") -> None:
        """Queue the hop: ``ctx``/``params`` when the handler ran, else the AWS ``error_code``."""
        EndpointHop.in_flight.pop(self.hop_id, None)
        if service is None or error_code in _AUTH_FAILURES:
            return
        _writer.submit(self.finished(service=service, ctx=ctx, params=params, error_code=error_code))

    def finished(self, *, service: str, ctx: Any = None, params: Any = None, error_code: str = "") -> Finished:
        """What the writer needs of this call, in plain picklable values: the sandbox and the
        parameters when the handler ran, else the request itself (the writer re-parses it)."""
        handled = ctx is not None
        return Finished(
            access_key_id=self.access_key_id,
            service=service,
            trace_id=self.trace_id,
            parent_hop_id=self.parent_hop_id,
            hop_id=self.hop_id,
            new_trace=self.new_trace,
            started_at=self.started_at,
            duration_ms=(time.perf_counter() - self.started) * 1000,
            error_code=error_code,
            sandbox=(ctx.sandbox.pk, ctx.region, ctx.sandbox.account_id) if handled else None,
            operation=ctx.operation if handled else "",
            params=_portable(params) if handled and isinstance(params, dict) else None,
            request=None if handled else _portable_request(self.request),
            parent_invoke=_invoke_in_flight(self.parent_hop_id),
        )


class Finished(NamedTuple):
    """A finished call as the writer receives it (pickled when the writer is a child process)."""

    access_key_id: str
    service: str
    trace_id: str
    parent_hop_id: str
    hop_id: str
    new_trace: bool
    started_at: datetime
    duration_ms: float
    error_code: str
    sandbox: tuple[int, str, str] | None  # (pk, region, account id) when the handler ran
    operation: str
    params: dict[str, Any] | None
    request: Any  # the AwsRequest of a call whose handler did not run, to re-parse
    parent_invoke: str  # FunctionName of the synchronous Invoke in flight here that is this call's parent


# A failed call's body is kept up to this size for the writer's re-parse (a JSON protocol's
# operation parameters are in it); the preview shows 240 characters of them anyway.
_REPARSE_BODY = 64 * 1024


def _portable(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with top-level bodies and streams replaced by what the preview shows of them, so
    a 1 MiB S3 body is not copied to the writer (nested values are small and pickle as they are)."""
    if not any(isinstance(value, (bytes, bytearray, memoryview)) or hasattr(value, "read") for value in params.values()):
        return params
    return {
        key: f"<{len(value)} bytes>"
        if isinstance(value, (bytes, bytearray, memoryview))
        else ("<stream>" if hasattr(value, "read") else value)
        for key, value in params.items()
    }


def _portable_request(aws_request: Any) -> Any:
    from serverless_lab.cloud.core.protocol.request import AwsRequest

    return AwsRequest(
        method=aws_request.method,
        path=aws_request.path,
        query=aws_request.query,
        headers=dict(aws_request.headers.items()),
        body=bytes(aws_request.body[:_REPARSE_BODY]),
    )


def _invoke_in_flight(parent_hop_id: str) -> str:
    """The FunctionName of the synchronous Invoke this call came from, while that Invoke is still in
    flight in this process (its function is running and calling out): only this process knows it."""
    if not parent_hop_id:
        return ""
    at_and_call = EndpointHop.in_flight.get(parent_hop_id)
    if at_and_call is None or at_and_call[1].signing_service != "lambda":
        return ""
    call = at_and_call[1]
    if call.invoked is None:
        operation, params = _operation_and_params("lambda", call.request)
        name = params.get("FunctionName") if operation in _INVOKES else None
        call.invoked = name if isinstance(name, str) else ""
    return call.invoked


def endpoint_hop_begin(aws_request: Any, info: Any) -> EndpointHop | None:
    """Start recording a signed request, or None when tracing is off.

    The handler then sees ``X-Amzn-Trace-Id`` (and ``RequestContext.trace_header``) as the header to
    pass on: the caller's trace, or a new one, with this hop as the parent. A header the client
    signed is left as sent (changing it would break the signature).
    """
    if info is None or not conf.enabled():
        return None
    hop = EndpointHop(info.access_key_id, aws_request, info.service or "")
    if _HEADER not in info.signed_headers:
        aws_request.headers[_HEADER] = hop.header
    return hop


def _draft(item: Finished) -> HopDraft | None:
    """Turn a finished call into a hop: the slow part (parsing, lookups) happens here, in the writer."""
    if item.sandbox is not None:
        sandbox_id, region, account = item.sandbox
        operation, params = item.operation, item.params
    else:
        from serverless_lab.sandboxes.selectors import sandbox_by_access_key

        sandbox = sandbox_by_access_key(item.access_key_id)
        if sandbox is None:
            return None
        sandbox_id, region, account = sandbox.pk, sandbox.region, sandbox.account_id
        operation, params = _operation_and_params(item.service, item.request)
    params = params if isinstance(params, dict) else {}
    status = Hop.Status.OK
    if item.error_code:
        status = Hop.Status.THROTTLED if item.error_code in _THROTTLES else Hop.Status.ERROR
    return HopDraft(
        sandbox_id=sandbox_id,
        trace_id=item.trace_id,
        hop_id=item.hop_id,
        parent_hop_id=item.parent_hop_id,
        from_node=_caller(sandbox_id, item, region, account),
        to_node=nodes.resource_node(item.service, params, region=region, account=account),
        action=f"{item.service}:{operation or 'Unknown'}",
        status=status,
        error_code=item.error_code,
        started_at=item.started_at,
        duration_ms=item.duration_ms,
        payload_preview=nodes.preview(params),
        new_trace=item.new_trace,
    )


# Hop id → the function it invoked, for hops this process saved lately that ended at a function:
# their children (the function's own AWS calls) come from that function.
_invoked: dict[str, str] = {}
_INVOKED_KEPT = 4096
_INVOKES = frozenset({"Invoke", "InvokeAsync", "InvokeWithResponseStream"})


def _is_function(node: str) -> bool:
    return node.startswith("arn:aws:lambda:") and ":function:" in node


def _caller(sandbox_id: int, item: Finished, region: str, account: str) -> str:
    """Where a call came from: the Lambda function whose invocation is its parent hop, else the
    client. The parent is looked up among the writer's recent hops, then among the server's calls in
    flight (a synchronous Invoke is still running while its function calls out: ``parent_invoke``),
    then in the database."""
    parent_hop_id = item.parent_hop_id
    if not parent_hop_id:
        return nodes.CLIENT
    function = _invoked.get(parent_hop_id)
    if function is None and item.parent_invoke:
        function = nodes.resource_node("lambda", {"FunctionName": item.parent_invoke}, region=region, account=account)
    if function is None:
        function = (
            Hop.objects.filter(trace__sandbox_id=sandbox_id, trace__trace_id=item.trace_id, hop_id=parent_hop_id)
            .values_list("to_node", flat=True)
            .first()
        )
    return function if function and _is_function(function) else nodes.CLIENT


def _callers_in_batch(drafts: list[HopDraft]) -> list[HopDraft]:
    """A function's call and the synchronous Invoke that ran it can finish in one batch (the Invoke
    last): the call then comes from the function too."""
    invoked = {draft.hop_id: draft.to_node for draft in drafts if _is_function(draft.to_node)}
    for draft in drafts:
        if draft.from_node == nodes.CLIENT and draft.parent_hop_id in invoked:
            draft.from_node = invoked[draft.parent_hop_id]
    return drafts


def _remember_invocations(drafts: list[HopDraft]) -> None:
    if len(_invoked) > _INVOKED_KEPT:
        _invoked.clear()
    _invoked.update((draft.hop_id, draft.to_node) for draft in drafts if _is_function(draft.to_node))


def _operation_and_params(service: str, aws_request: Any) -> tuple[str, dict[str, Any]]:
    """Re-derive what a failed call asked for (its handler never got to say)."""
    from serverless_lab.cloud.core.protocol import find_operation, load_service_model, parse_request

    try:
        operation_model, uri_params = find_operation(load_service_model(service), aws_request)
    except Exception:
        return "", {}
    try:
        return operation_model.name, parse_request(operation_model, aws_request, uri_params)
    except Exception:
        return operation_model.name, {}


class _Writer:
    """The queue ``finish`` puts on, and the one thread per process that drains it: the writer
    itself (``_run``), or, on PostgreSQL with Redis, a forwarder to the writer's child process."""

    def __init__(self) -> None:
        self._pid = -1
        self._queue: queue.SimpleQueue[Finished] = queue.SimpleQueue()
        self._lock = threading.Lock()

    def submit(self, item: Finished) -> None:
        if self._pid != os.getpid():  # first use, or a forked child (the parent's thread is not here)
            with self._lock:
                if self._pid != os.getpid():
                    from . import writer_process

                    self._queue = queue.SimpleQueue()
                    target = writer_process.forward if _in_child_process() else self._run
                    threading.Thread(target=target, args=(self._queue,), name="lab-trace-writer", daemon=True).start()
                    self._pid = os.getpid()
        self._queue.put(item)

    def _run(self, items: queue.SimpleQueue[Finished]) -> None:
        batches = BatchWriter()
        while True:
            batch = [items.get()]
            if batches.busy():
                time.sleep(_LINGER_S)
            if connection.vendor == "sqlite":
                deadline = time.monotonic() + _SQLITE_YIELD_S
                while _calls_in_flight() and time.monotonic() < deadline:
                    time.sleep(0.002)
            while len(batch) < _BATCH:  # after the wait: what finished meanwhile joins this batch
                try:
                    batch.append(items.get_nowait())
                except queue.Empty:
                    break
            batches.write(batch)


def _in_child_process() -> bool:
    """Whether this process's hops are written by a child process (see the module docstring)."""
    mode = conf.writer_mode()
    if mode == "auto":
        return connection.vendor == "postgresql" and bool(settings.REDIS_URL)
    return mode == "process"


class BatchWriter:
    """Works batches of finished calls out into hops, saves and broadcasts them; one per writer."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()  # owned by the writer's thread; it runs only while sending
        self.trace_pks: dict[tuple[int, str], int] = {}
        self.last_batch = 0.0

    def busy(self) -> bool:
        """Whether calls keep coming: then the writer waits ``_LINGER_S`` for more to batch with."""
        return time.monotonic() - self.last_batch < _BUSY_S

    def write(self, batch: list[Finished]) -> None:
        idle = time.monotonic() - self.last_batch
        drafts: list[HopDraft] = []
        try:
            if idle > _RECHECK_S:  # not per batch: on PostgreSQL each check is a SELECT 1
                close_old_connections()
            drafts = _callers_in_batch([draft for draft in map(_draft, batch) if draft is not None])
            if len(self.trace_pks) > _KNOWN_TRACES:
                self.trace_pks.clear()
            messages = _save(drafts, self.trace_pks)
            _remember_invocations(drafts)
            prune_if_due({draft.sandbox_id for draft in drafts})
        except DatabaseError as error:  # e.g. the sandbox, or a trace it knew, was deleted meanwhile
            self.trace_pks.clear()
            connection.close_if_unusable_or_obsolete()
            messages = _save_per_sandbox(drafts, self.trace_pks, error)
        except Exception:
            logger.exception("recording %d hops failed", len(batch))
            self.last_batch = time.monotonic()
            return
        messages = _to_watched(messages)
        if messages:
            self.loop.run_until_complete(_send(messages))
        self.last_batch = time.monotonic()


def _save_per_sandbox(
    drafts: list[HopDraft], trace_pks: dict[tuple[int, str], int], error: DatabaseError
) -> list[tuple[int, HopMessage]]:
    """After a failed batch, save each sandbox's hops on their own: one deleted sandbox loses its
    hops, not every sandbox's in the same batch."""
    messages: list[tuple[int, HopMessage]] = []
    by_sandbox: dict[int, list[HopDraft]] = {}
    for draft in drafts:
        by_sandbox.setdefault(draft.sandbox_id, []).append(draft)
    for sandbox_id, group in by_sandbox.items():
        try:
            messages += _save(group, trace_pks)
        except DatabaseError:
            trace_pks.clear()
            connection.close_if_unusable_or_obsolete()
            logger.warning("dropped %d hops of sandbox %s: %s", len(group), sandbox_id, error)
    return messages


def _calls_in_flight() -> bool:
    now = time.monotonic()
    started = list(EndpointHop.in_flight.items())  # one C-level copy: safe against the loop thread
    for key, (at, _) in started:
        if now - at > _STALE_S:
            EndpointHop.in_flight.pop(key, None)
    return any(now - at <= _STALE_S for _, (at, _) in started)


def _save(drafts: list[HopDraft], trace_pks: dict[tuple[int, str], int]) -> list[tuple[int, HopMessage]]:
    """Save a batch, giving way at once to anything holding table locks (a migration, a test's
    TRUNCATE): losing a hop beats a deadlock with someone else's schema work."""
    if not drafts:
        return []
    if connection.vendor == "postgresql":
        return _save_postgres(drafts)
    with transaction.atomic():
        return hops_save(drafts, trace_pks)


_PG_ROW = "(" + ", ".join(
    f"%s::{kind}"
    for kind in ("int", "bigint", "text", "text", "text", "text", "text", "text", "text", "text", "timestamptz", "float8", "text")
) + ")"
# One statement, so one round trip in autocommit: create the batch's traces that do not exist yet,
# then insert its hops in batch order (so their ids, the seq, follow it), joined to their traces.
_PG_INSERT = """
WITH batch (ord, sandbox_id, trace_id, hop_id, parent_hop_id, from_node, to_node, action, status,
            error_code, started_at, duration_ms, preview) AS (VALUES {rows}),
created AS (
    INSERT INTO {trace} (sandbox_id, trace_id, started_at, first_action)
    SELECT DISTINCT ON (sandbox_id, trace_id) sandbox_id, trace_id, started_at, action
    FROM batch ORDER BY sandbox_id, trace_id, ord
    ON CONFLICT (sandbox_id, trace_id) DO NOTHING
    RETURNING id, sandbox_id, trace_id
),
traces AS (
    SELECT id, sandbox_id, trace_id FROM created
    UNION ALL
    SELECT id, sandbox_id, trace_id FROM {trace}
    WHERE (sandbox_id, trace_id) IN (SELECT sandbox_id, trace_id FROM batch)
)
INSERT INTO {hop} (sandbox_id, trace_id, hop_id, parent_hop_id, from_node, to_node, action, status,
                   error_code, started_at, duration_ms, payload_preview)
SELECT b.sandbox_id, t.id, b.hop_id, b.parent_hop_id, b.from_node, b.to_node, b.action, b.status,
       b.error_code, b.started_at, b.duration_ms, b.preview
FROM batch b JOIN traces t ON t.sandbox_id = b.sandbox_id AND t.trace_id = b.trace_id
ORDER BY b.ord
RETURNING id, hop_id
"""
_pg_sessions: weakref.WeakSet[Any] = weakref.WeakSet()  # connections whose lock_timeout is set


def _save_postgres(drafts: list[HopDraft]) -> list[tuple[int, HopMessage]]:
    """The writer's PostgreSQL path: the batch in one statement instead of an ORM transaction (five
    round trips, and most of the writer's CPU). A trace that another process created after this
    statement's snapshot leaves its hops out; they go through ``hops_save`` right after."""
    connection.ensure_connection()
    with connection.cursor() as cursor:
        if connection.connection not in _pg_sessions:  # per session: the statement runs in autocommit
            # Hops are telemetry: their commits need not wait for the WAL's flush to disk, whose
            # fsync would otherwise queue in front of the next durable write of the student's own.
            cursor.execute("SET lock_timeout = '200ms'; SET synchronous_commit = off")
            _pg_sessions.add(connection.connection)
        params: list[Any] = []
        for ord_, d in enumerate(drafts):
            params += (
                ord_, d.sandbox_id, d.trace_id, d.hop_id, d.parent_hop_id, d.from_node[:512], d.to_node[:512],
                d.action[:128], d.status, d.error_code[:128], d.started_at, d.duration_ms, d.payload_preview[:512],
            )
        sql = _PG_INSERT.format(
            rows=", ".join([_PG_ROW] * len(drafts)), trace=Trace._meta.db_table, hop=Hop._meta.db_table
        )
        cursor.execute(sql, params)
        seqs = dict((hop_id, seq) for seq, hop_id in cursor.fetchall())
    messages = [(d.sandbox_id, hop_message(d, d.trace_id, seqs[d.hop_id])) for d in drafts if d.hop_id in seqs]
    missed = [d for d in drafts if d.hop_id not in seqs]
    if missed:
        with transaction.atomic():
            messages += hops_save(missed)
    return messages


def _to_watched(messages: list[tuple[int, HopMessage]]) -> list[tuple[int, HopMessage]]:
    """The messages for sandboxes whose live-event group has a member now.

    ``group_send`` itself sends to the members it finds at that moment, so leaving out the groups
    with none changes nothing a watcher sees; it saves the writer an event-loop run and two Redis
    round trips per group for every batch nobody watches (most API traffic), at the cost of one
    pipelined count. Only on a one-server Redis channel layer; elsewhere every group is asked."""
    layer = get_channel_layer()
    if not messages or not isinstance(layer, RedisChannelLayer) or layer.ring_size != 1 or not settings.REDIS_URL:
        return messages
    sandbox_ids = sorted({sandbox_id for sandbox_id, _ in messages})
    after = f"({int(time.time()) - layer.group_expiry}"  # members group_send would not discard as expired
    pipe = shared_client(settings.REDIS_URL).pipeline(transaction=False)
    for sandbox_id in sandbox_ids:
        pipe.zcount(layer._group_key(sandbox_group(sandbox_id)), after, "+inf")
    try:
        watched = {sandbox_id for sandbox_id, members in zip(sandbox_ids, pipe.execute()) if members}
    except redis.RedisError:
        return messages
    return [(sandbox_id, message) for sandbox_id, message in messages if sandbox_id in watched]


async def _send(messages: list[tuple[int, HopMessage]]) -> None:
    """One channel-layer message per sandbox per batch (each group_send is four Redis round trips)."""
    layer = get_channel_layer()
    if layer is None:
        return
    groups: dict[int, list[HopMessage]] = {}
    for sandbox_id, message in messages:
        groups.setdefault(sandbox_id, []).append(message)
    for sandbox_id, hops in groups.items():
        batch: HopBatch = {"type": "trace.hops", "hops": hops}
        try:
            await layer.group_send(sandbox_group(sandbox_id), dict(batch))
        except Exception:
            logger.exception("broadcasting %d hops to sandbox %s failed", len(hops), sandbox_id)


_writer = _Writer()
