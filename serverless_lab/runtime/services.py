"""Invocations: the only code that changes an ``Invocation`` row, and the glue from the Lambda API to the
execution environments of :mod:`serverless_lab.runtime.environment`.

A synchronous invoke takes a concurrency lease in the web process (so a throttle answers 429 at
once), queues ``serverless_lab.runtime.invoke_request_response`` and waits on the result mailbox;
the worker writes its ``Invocation`` row, complete, before it answers (one write, where recording
it first and completing it later took three trips to the database). An asynchronous one records the
invocation and queues ``serverless_lab.runtime.invoke``, which takes the lease itself and, when
throttled, queues itself again a little later. The tasks run the function in an environment of this
worker process's pool, store the metrics and the CloudWatch log lines, and post the result for a
waiting caller; a failed asynchronous attempt is retried twice.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import queue
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models.sql import InsertQuery
from django.utils import timezone

from serverless_lab.cloud.core import offloop
from serverless_lab.cloud.lambda_ import backend, cache, code, coordination, exceptions
from serverless_lab.cloud.lambda_.models import Function, FunctionConfig, Invocation
from serverless_lab.cloud.logs.backend import put_log_lines
from serverless_lab.runtime import Credentials, EnvironmentPool, FunctionSpec, InvokeResult
from serverless_lab.sandboxes.models import Sandbox

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # an asynchronous invoke: the first attempt and two retries, as Lambda does
PREVIEW_CHARS = 1024
LOG_TAIL_BYTES = 4096
_STATUSES = {
    "ok": Invocation.Status.SUCCEEDED,
    "error": Invocation.Status.FAILED,
    "timeout": Invocation.Status.TIMED_OUT,
    "oom": Invocation.Status.FAILED,
    "crash": Invocation.Status.FAILED,
}


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def _preview(data: bytes) -> str:
    return data[:PREVIEW_CHARS].decode("utf-8", errors="replace")


def _trace_header(incoming: str | None) -> str:
    """X-Ray's header as Lambda passes it on: the caller's, else a new sampled-out root."""
    if incoming and "Root=" in incoming:
        return incoming
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


# --- the rows ---------------------------------------------------------------------------------------


@contextmanager
def _quick_commit() -> Iterator[None]:
    """A transaction whose commit does not wait for the WAL to reach the disk (PostgreSQL's
    ``synchronous_commit = off``, for this transaction only).

    Each synchronous commit costs an fsync, 2.5-3.5 ms on this machine and far more when the disk is
    shared, and an invoke commits up to four times. The rows are visible to other sessions at once
    either way; a crash of the database server can lose the last fraction of a second of invocation
    records, never corrupt them. Inside a caller's transaction (an S3 or SNS delivery), it is just a
    savepoint and the caller's commit keeps its own durability.
    """
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def invocation_create(
    *,
    target: backend.Target,
    request_id: str,
    invocation_type: str,
    payload: bytes,
    trace_header: str | None,
    attempt: int = 1,
    status: str = Invocation.Status.QUEUED,
) -> Invocation:
    with _quick_commit():
        return Invocation.objects.create(
            status=status,
            started_at=timezone.now() if status == Invocation.Status.RUNNING else None,
            sandbox=target.function.sandbox,
            function=target.function,
            request_id=request_id,
            version=target.version,
            invocation_type=invocation_type,
            attempt=attempt,
            memory_mb=target.config.memory_mb,
            request_preview=_preview(payload),
            trace_header=_trace_header(trace_header),
        )


def invocation_start(invocation: Invocation) -> None:
    invocation.status, invocation.started_at = Invocation.Status.RUNNING, timezone.now()
    with _quick_commit():
        Invocation.objects.filter(pk=invocation.pk).update(status=invocation.status, started_at=invocation.started_at)


def invocation_complete(invocation: Invocation, result: InvokeResult, *, log_stream: str) -> None:
    """Store what the environment reported (one UPDATE; the log lines follow in ``invocation_store_logs``)."""
    fields = {
        "status": _STATUSES.get(result.status, Invocation.Status.FAILED),
        "cold": result.cold,
        "duration_ms": result.duration_ms,
        "billed_duration_ms": result.billed_duration_ms,
        "max_memory_used_mb": result.max_memory_used_mb,
        "init_duration_ms": result.init_duration_ms,
        "error_type": result.error_type or "",
        "log_text": result.log,
        "log_stream": log_stream,
        "response_preview": _preview(result.payload),
        "finished_at": timezone.now(),
    }
    _store(invocation, fields)


def _store(invocation: Invocation, fields: dict[str, Any]) -> None:
    """Set ``fields``, and UPDATE the row, or INSERT it whole when a synchronous invoke's worker
    writes it for the first time (if its function was deleted meanwhile, there is nothing to record,
    as an UPDATE of the deleted row would have changed nothing)."""
    for key, value in fields.items():
        setattr(invocation, key, value)
    if invocation.pk is not None:
        with _quick_commit():
            Invocation.objects.filter(pk=invocation.pk).update(**fields)
        return
    try:
        _insert(invocation)
    except IntegrityError:
        logger.warning("invocation %s not recorded: its function is gone", invocation.request_id)


_INSERT_FIELDS = [f for f in Invocation._meta.concrete_fields if not f.primary_key]
_insert_sql: str | None = None


def _insert(invocation: Invocation) -> None:
    """INSERT a new row as ``_quick_commit`` would, but in one round trip to PostgreSQL instead of four.

    Outside a transaction, BEGIN, SET LOCAL, the INSERT and COMMIT go as one query string (Django's
    client-side binding cursor sends several statements at once). Each trip waits for the database
    process to be scheduled, and this write is on the caller's path: 2.0 -> 1.3 ms p50 at load ~4.
    The statement is compiled once per process: Django's compiler took more CPU than the database.
    """
    global _insert_sql
    if connection.in_atomic_block or connection.vendor != "postgresql" or _server_side_binding():
        with _quick_commit():
            invocation.save(force_insert=True)
        return
    if _insert_sql is None:
        query = InsertQuery(Invocation)
        query.insert_values(_INSERT_FIELDS, [invocation])
        [(sql, _)] = query.get_compiler(connection=connection).as_sql()
        _insert_sql = f"BEGIN; SET LOCAL synchronous_commit TO OFF; {sql}; COMMIT"
    params = [f.get_db_prep_save(getattr(invocation, f.attname), connection) for f in _INSERT_FIELDS]
    with connection.cursor() as cursor:
        try:
            cursor.execute(_insert_sql, params)
        except Exception:
            cursor.execute("ROLLBACK")  # the failed statement left the block open (or, at COMMIT, closed)
            raise


def _server_side_binding() -> bool:
    return bool(connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"))


def invocation_store_logs(invocation: Invocation, *, started_ms: int) -> None:
    """The completed invocation's log lines as CloudWatch events of its environment's stream.

    In a worker they go to this process's log writer and land a moment later, as on AWS; inside a
    caller's transaction (an eager task in a test) they are written at once, in that transaction.
    """
    finished_ms = int(time.time() * 1000)
    lines = invocation.log_text.rstrip("\n").split("\n") if invocation.log_text else []
    # INIT output and START carry the start time; the function's output, END and REPORT the end time.
    start = next((i for i, line in enumerate(lines) if line.startswith("START RequestId:")), -1)
    batch = _LogBatch(
        invocation.sandbox,
        f"/aws/lambda/{invocation.function.name}",
        invocation.log_stream,
        [(started_ms if i <= start else finished_ms, line) for i, line in enumerate(lines)],
    )
    if connection.in_atomic_block:
        batch.write()
    else:
        _log_writer().put(batch)


@dataclass
class _LogBatch:
    sandbox: Sandbox
    group: str
    stream: str
    events: list[tuple[int, str]]

    def write(self) -> None:
        put_log_lines(sandbox=self.sandbox, group_name=self.group, stream_name=self.stream, events=self.events)


class _LogWriter:
    """Stores invocations' log lines off the task's path: the task hands them over and returns.

    One thread per worker process writes whatever has queued up in one transaction, the lines of
    one stream (one environment, so consecutive invocations of a busy function) in one
    ``put_log_lines``: under load, a handful of round trips for many invocations. It lets lines
    gather for ``GATHER_S`` first, so that invocations one after another (not only at once) share a
    write: one each cost about as much CPU as the invocation itself. If that transaction fails (a
    sandbox deleted meanwhile), each stream is retried on its own.
    """

    GATHER_S = 0.1  # CloudWatch Logs itself shows lines seconds after they were written

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_LogBatch] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending = 0
        self._drained = threading.Event()
        self._drained.set()
        threading.Thread(target=self._run, name="lambda-log-writer", daemon=True).start()

    def put(self, batch: _LogBatch) -> None:
        with self._lock:
            self._pending += 1
            self._drained.clear()
        self._queue.put(batch)

    def flush(self, timeout: float) -> bool:
        """Wait until everything handed over is written; False if that took longer than ``timeout``."""
        return self._drained.wait(timeout)

    def _run(self) -> None:
        while True:
            batches = [self._queue.get()]
            deadline = time.monotonic() + self.GATHER_S
            while len(batches) < 500:
                try:
                    batches.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            try:
                self._write(batches)
            except Exception:  # the thread must outlive a database outage
                logger.exception("could not store the log lines of %d invocations", len(batches))
            finally:
                with self._lock:
                    self._pending -= len(batches)
                    if not self._pending:
                        self._drained.set()

    @staticmethod
    def _write(batches: list[_LogBatch]) -> None:
        merged: dict[tuple[int, str, str], _LogBatch] = {}
        for batch in batches:
            key = (batch.sandbox.pk, batch.group, batch.stream)
            if key in merged:
                merged[key].events.extend(batch.events)
            else:
                merged[key] = _LogBatch(batch.sandbox, batch.group, batch.stream, list(batch.events))
        close_old_connections()
        try:
            with _quick_commit():
                for batch in merged.values():
                    batch.write()
        except Exception:
            for batch in merged.values():
                try:
                    with _quick_commit():
                        batch.write()
                except Exception:
                    logger.exception("could not store the log lines of %s %s", batch.group, batch.stream)


_writer: _LogWriter | None = None
_writer_pid: int | None = None


def _log_writer() -> _LogWriter:
    global _writer, _writer_pid
    with _pool_lock:
        if _writer is None or _writer_pid != os.getpid():
            _writer, _writer_pid = _LogWriter(), os.getpid()
        return _writer


def invocation_fail(invocation: Invocation, *, status: str, error_type: str, message: str) -> None:
    """The lab could not run the invocation (throttled for too long, no runtime, no sandbox)."""
    fields = {
        "status": status,
        "error_type": error_type,
        "response_preview": message[:PREVIEW_CHARS],
        "finished_at": timezone.now(),
    }
    _store(invocation, fields)


# --- the web side -----------------------------------------------------------------------------------


def _enqueue(
    invocation: Invocation,
    payload: bytes,
    timeout_s: int,
    *,
    lease_held: bool,
    client_context: str | None = None,
    countdown: float = 0,
    throttled_since: float | None = None,
) -> None:
    """Queue the task, its time limits just above the function's timeout (the environment enforces that)."""
    from .tasks import invoke

    invoke.apply_async(
        args=[invocation.pk, base64.b64encode(payload).decode()],
        kwargs={"lease_held": lease_held, "client_context": client_context, "throttled_since": throttled_since},
        countdown=countdown or None,
        soft_time_limit=timeout_s + 30,
        time_limit=timeout_s + 40,
    )


def invoke_event(
    *, target: backend.Target, request_id: str, payload: bytes, trace_header: str | None, client_context: str | None
) -> Invocation:
    """Queue an asynchronous (``Event``) invoke: the caller gets 202 and nothing else."""
    invocation = invocation_create(
        target=target, request_id=request_id, invocation_type="Event", payload=payload, trace_header=trace_header
    )
    _enqueue(invocation, payload, target.config.timeout_s, lease_held=False, client_context=client_context)
    return invocation


@dataclass
class SyncResult:
    payload: bytes
    function_error: str | None
    log_tail: str  # the last 4 KB of the log, as LogType=Tail returns it (before base64)
    executed_version: str


def invoke_request_response_start(
    *,
    target: backend.Target,
    request_id: str,
    payload: bytes,
    trace_header: str | None,
    client_context: str | None,
    config_token: str | None = None,
) -> bool:
    """A synchronous invoke's first half, in a thread: take a concurrency slot (``TooManyRequests``
    when there is none) and queue the invocation, both in one Redis script; the worker records it.

    ``config_token`` is the token ``target`` was cached under (``lambda_.cache.resolve``): if it is
    no longer current, nothing happens and the answer is False (resolve again). Without it, the
    target must have just been read from the database.
    """
    from .tasks import request_response_message

    function = target.function
    checked = config_token is not None
    token = config_token if checked else coordination.config_token(function.sandbox_id)
    timeout_s = target.config.timeout_s
    request = {
        "sandbox_id": function.sandbox_id,
        "function_id": function.pk,
        "version": target.version,
        "config_token": token,
        "request_id": request_id,
        "trace_header": _trace_header(trace_header),
        "accepted_at": time.time(),
    }
    message = request_response_message(
        request,
        base64.b64encode(payload).decode(),
        client_context=client_context,
        soft_time_limit=timeout_s + 30,
        time_limit=timeout_s + 40,
    )
    reason = coordination.acquire_lease(
        sandbox_id=function.sandbox_id,
        function_id=function.pk,
        lease_id=request_id,
        sandbox_limit=backend.sandbox_concurrency_limit(function.sandbox),
        reserved=function.reserved_concurrency,
        timeout_s=timeout_s,
        config_token=token if checked else None,
        enqueue=message,
    )
    if reason == coordination.STALE_CONFIG:
        return False
    if reason is not None:
        raise exceptions.TooManyRequests(reason)
    return True


async def invoke_request_response_wait(*, target: backend.Target, request_id: str) -> SyncResult:
    """A synchronous invoke's second half: the worker's answer, awaited without holding a thread."""
    posted = await coordination.wait_for_result(
        request_id, target.config.timeout_s + _setting("LAB_LAMBDA_QUEUE_WAIT_S", 60)
    )
    if posted is None:
        raise exceptions.LambdaError(
            "The invocation did not finish in time: the lab's runtime workers are busy or down."
        )
    if posted.get("lab_error"):
        raise exceptions.LambdaError(posted["lab_error"])
    return SyncResult(
        payload=base64.b64decode(posted["payload"]),
        function_error=posted["function_error"],
        log_tail=posted["log_tail"],
        executed_version=target.version,
    )


async def invoke_request_response(
    *, target: backend.Target, request_id: str, payload: bytes, trace_header: str | None, client_context: str | None
) -> SyncResult:
    """Run the function and wait for its result without holding a thread while it runs."""
    await offloop.run_sync(
        invoke_request_response_start,
        target=target,
        request_id=request_id,
        payload=payload,
        trace_header=trace_header,
        client_context=client_context,
    )
    return await invoke_request_response_wait(target=target, request_id=request_id)


# --- the worker side --------------------------------------------------------------------------------

_pool: EnvironmentPool | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()


def worker_pool() -> EnvironmentPool:
    """This worker process's pool of warm environments (a forked child builds its own)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool, _pool_pid = EnvironmentPool(), os.getpid()
        return _pool


def close_worker_pool() -> None:
    """Close this process's environments, once the log lines still queued are written."""
    with _pool_lock:
        writer = _writer if _writer_pid == os.getpid() else None
    if writer is not None and not writer.flush(timeout=10):
        logger.warning("log lines of some invocations were not stored before the worker stopped")
    with _pool_lock:
        if _pool is not None and _pool_pid == os.getpid():
            _pool.close_all()


def _endpoint() -> tuple[str, int]:
    """Where a function's AWS calls go: this lab's own endpoint (the sandbox is told by the keys)."""
    url = urlsplit(settings.LAB_PUBLIC_URL)
    return url.hostname or "127.0.0.1", url.port or (443 if url.scheme == "https" else 80)


def build_spec(function: Function, config: FunctionConfig, version: str) -> FunctionSpec:
    sandbox = function.sandbox
    return FunctionSpec(
        function_name=function.name,
        function_arn=backend.function_arn(function, None if version == "$LATEST" else version),
        runtime=config.runtime,
        handler=config.handler,
        code_dir=code.code_dir(sandbox.pk, config.code_name, config.code_sha256),
        memory_mb=config.memory_mb,
        timeout_s=float(config.timeout_s),
        environment=dict(config.environment),
        region=sandbox.region,
        credentials=Credentials(sandbox.access_key_id, sandbox.secret_access_key),
        endpoint=_endpoint(),
        endpoint_path="/" + settings.AWS_ENDPOINT_PREFIX,
        version=version,
        code_sha256=config.code_sha256,
    )


_specs: dict[tuple[int, str], tuple[FunctionConfig, FunctionSpec]] = {}


def _spec(function: Function, config: FunctionConfig, version: str) -> FunctionSpec:
    """``build_spec``, kept while ``config`` is the very object ``lambda_.cache`` hands out."""
    key = (function.pk, version)
    kept = _specs.get(key)
    if kept is not None and kept[0] is config:
        return kept[1]
    spec = build_spec(function, config, version)
    if len(_specs) >= cache.MAX_ENTRIES:
        _specs.clear()
    _specs[key] = (config, spec)
    return spec


def _config_of(invocation: Invocation) -> FunctionConfig:
    if invocation.version == "$LATEST":
        return invocation.function
    return invocation.function.versions.get(number=int(invocation.version))


def run_invocation(
    invocation_id: int, payload: bytes, *, lease_held: bool, client_context: str | None, throttled_since: float | None
) -> None:
    """The ``invoke`` task's body, for an invocation already recorded (an asynchronous one, or an
    event source mapping's batch): take the lease unless held, then ``_run``."""
    try:  # get(), not first(): no ORDER BY to compile, which costs more than the query itself
        invocation = Invocation.objects.select_related("function__sandbox").get(pk=invocation_id)
    except Invocation.DoesNotExist:  # the function was deleted meanwhile
        return
    invocation.sandbox = invocation.function.sandbox
    function = invocation.function
    synchronous = invocation.invocation_type == "RequestResponse"
    config = _config_of(invocation)
    lease = {
        "sandbox_id": function.sandbox_id,
        "function_id": function.pk,
        "lease_id": f"{invocation.request_id}#{invocation.attempt}",
    }
    if synchronous:
        lease["lease_id"] = invocation.request_id
    elif not lease_held:
        reason = coordination.acquire_lease(
            **lease,
            sandbox_limit=backend.sandbox_concurrency_limit(function.sandbox),
            reserved=function.reserved_concurrency,
            timeout_s=config.timeout_s,
        )
        if reason is not None:
            _throttled(invocation, payload, client_context, reason, throttled_since or time.time())
            return
    _run(invocation, function, config, payload, client_context, lease)


def run_request_response(request: dict[str, Any], payload: bytes, *, client_context: str | None) -> None:
    """A synchronous invoke from ``invoke_request_response_start`` (its lease is held): run it, and
    write its row, complete, before answering."""
    lease = {
        "sandbox_id": request["sandbox_id"],
        "function_id": request["function_id"],
        "lease_id": request["request_id"],
    }
    try:
        function, config = cache.function_config(
            function_id=request["function_id"], version=request["version"], token=request["config_token"]
        )
    except ObjectDoesNotExist:  # deleted since the call came in
        coordination.release_lease(**lease, answer={"lab_error": "The function was deleted before it could run."})
        return
    accepted_at = datetime.fromtimestamp(request["accepted_at"], UTC)
    invocation = Invocation(
        status=Invocation.Status.RUNNING,
        created_at=accepted_at,
        started_at=accepted_at,  # as the row of any synchronous invoke: running since the call came in
        sandbox=function.sandbox,
        function=function,
        request_id=request["request_id"],
        version=request["version"],
        invocation_type="RequestResponse",
        memory_mb=config.memory_mb,
        request_preview=_preview(payload),
        trace_header=request["trace_header"],
    )
    _run(invocation, function, config, payload, client_context, lease)


def _run(
    invocation: Invocation,
    function: Function,
    config: FunctionConfig,
    payload: bytes,
    client_context: str | None,
    lease: dict[str, Any],
) -> None:
    """Run one attempt whose lease is held, record it, answer the caller or schedule what comes next."""
    synchronous = invocation.invocation_type == "RequestResponse"
    worker_pool().reap(_setting("LAB_LAMBDA_IDLE_SECONDS", 300))
    try:
        if not synchronous:  # a synchronous invocation's row says running since the call came in
            invocation_start(invocation)
        started_ms = int(time.time() * 1000)
        spec = _spec(function, config, invocation.version)
        pool = worker_pool()
        environment = pool.acquire(spec)
        try:
            result = environment.invoke(
                payload,
                request_id=invocation.request_id,
                trace_id=invocation.trace_header,
                client_context=client_context,
            )
        finally:
            pool.release(environment)
    except Exception as exc:
        logger.exception("invocation %s could not run", invocation.request_id)
        invocation_fail(invocation, status=Invocation.Status.ERROR, error_type=type(exc).__name__, message=str(exc))
        answer = {"lab_error": f"The lab could not run the function: {exc}"} if synchronous else None
        coordination.release_lease(**lease, answer=answer)
        return
    # The caller gets its answer as soon as the row says how the invocation ended (what a reader of
    # the row after the response must see); the log lines, as on AWS, land a moment later.
    invocation_complete(invocation, result, log_stream=environment.log_stream_name)
    answer = None
    if synchronous:
        answer = {
            "payload": base64.b64encode(result.payload).decode(),
            "function_error": result.function_error,
            "log_tail": result.log.encode()[-LOG_TAIL_BYTES:].decode("utf-8", errors="ignore"),
        }
    coordination.release_lease(**lease, answer=answer)
    invocation_store_logs(invocation, started_ms=started_ms)
    if not synchronous and result.function_error and invocation.attempt < MAX_ATTEMPTS:
        _retry(invocation, payload, client_context)


def _retry(invocation: Invocation, payload: bytes, client_context: str | None) -> None:
    """Lambda retries a failed asynchronous invoke twice (after 1 and 2 minutes; here, seconds)."""
    delays = _setting("LAB_LAMBDA_RETRY_DELAYS_S", (1, 2))
    target = backend.Target(invocation.function, invocation.version, _config_of(invocation), invocation.version)
    retry = invocation_create(
        target=target,
        request_id=invocation.request_id,
        invocation_type="Event",
        payload=payload,
        trace_header=invocation.trace_header,
        attempt=invocation.attempt + 1,
    )
    _enqueue(
        retry,
        payload,
        target.config.timeout_s,
        lease_held=False,
        client_context=client_context,
        countdown=delays[min(invocation.attempt, len(delays)) - 1],
    )


def _throttled(invocation: Invocation, payload: bytes, client_context: str | None, reason: str, since: float) -> None:
    """An asynchronous invoke over the concurrency limit waits and tries again, backing off to 5 s, for a while."""
    waited = time.time() - since
    if waited > _setting("LAB_LAMBDA_THROTTLE_RETRY_S", 300):
        invocation_fail(
            invocation, status=Invocation.Status.THROTTLED, error_type=reason, message=json.dumps({"Reason": reason})
        )
        return
    _enqueue(
        invocation,
        payload,
        _config_of(invocation).timeout_s,
        lease_held=False,
        client_context=client_context,
        countdown=min(5.0, 0.5 + waited / 4),
        throttled_since=since,
    )
