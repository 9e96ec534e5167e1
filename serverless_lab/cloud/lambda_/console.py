"""What the Lambda console does, on top of the same backend and runtime services the Lambda API uses.

Creating from a blueprint and deploying edited code go through ``backend`` (CreateFunction,
UpdateFunctionCode); running a test event or a burst goes through
``runtime.services.invoke_request_response``, exactly as a boto3 ``Invoke`` does, and records a
``browser → function`` hop so the sandbox's live diagram shows it (a throttle as a throttled hop,
which the monitoring tab counts).
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime

from asgiref.sync import sync_to_async
from django.db import IntegrityError, close_old_connections
from django.utils import timezone

from serverless_lab.cloud.core.errors import AwsError
from serverless_lab.runtime import services as runtime
from serverless_lab.sandboxes.models import Sandbox
from serverless_lab.tracing import nodes
from serverless_lab.tracing.models import Hop
from serverless_lab.tracing.services import hop_record

from . import backend, blueprints, exceptions
from .models import Function, Invocation, TestEvent
from .test_events import TEMPLATES

MAX_BURST = 50


def function_create_from_blueprint(*, sandbox: Sandbox, name: str, blueprint_key: str) -> Function:
    """CreateFunction with the blueprint's one file; a role the sandbox owns (not enforced, like AWS's
    console it is created for the student)."""
    blueprint = blueprints.BLUEPRINTS[blueprint_key]
    function = backend.create_function(
        sandbox=sandbox,
        name=name,
        runtime=blueprint.runtime,
        role=f"arn:aws:iam::{sandbox.account_id}:role/service-role/{name}-role",
        handler=blueprint.handler,
        zip_bytes=blueprint.zip_bytes(),
    )
    template = blueprint.test_event
    TestEvent.objects.create(sandbox=sandbox, function=function, name=template, payload=TEMPLATES[template].text())
    return function


def function_code_deploy(
    *, sandbox: Sandbox, function: Function, filename: str, source: str, current_zip: bytes
) -> Function:
    """UpdateFunctionCode with ``filename`` replaced by ``source`` and every other file of the zip kept."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(current_zip)) as old, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename != filename:
                new.writestr(info, old.read(info))
        new.writestr(zipfile.ZipInfo(filename, date_time=time.localtime()[:6]), source)
    backend.update_function_code(sandbox=sandbox, function_name=function.name, zip_bytes=buffer.getvalue())
    function.refresh_from_db()
    return function


def test_event_save(*, function: Function, name: str, payload: str) -> TestEvent:
    """Save (or overwrite) a test event of the function."""
    try:
        event, _ = TestEvent.objects.update_or_create(
            function=function, name=name, defaults={"sandbox": function.sandbox, "payload": payload}
        )
    except IntegrityError:  # two saves of a new name at once: the other one won, overwrite it
        event = TestEvent.objects.get(function=function, name=name)
        event.payload = payload
        event.save(update_fields=["payload", "updated_at"])
    return event


# --- invoking ------------------------------------------------------------------------------------


@dataclass
class ConsoleInvoke:
    """What the result pane shows: the response, or why there is none, and the invocation's row."""

    request_id: str
    status_code: int
    payload: str = ""
    function_error: str = ""
    log: str = ""
    error_code: str = ""  # an API error instead of a run (TooManyRequestsException, ...)
    error_message: str = ""
    invocation: Invocation | None = None

    @property
    def throttled(self) -> bool:
        return self.error_code == exceptions.TooManyRequests.code


def _record_hop(function: Function, started_at: datetime, duration_ms: float, status: str, error_code: str) -> None:
    close_old_connections()
    try:
        sandbox = function.sandbox
        hop_record(
            sandbox_id=sandbox.pk,
            trace=None,
            from_node=nodes.BROWSER,
            to_node=nodes.lambda_function(sandbox.region, sandbox.account_id, function.name),
            action="lambda:Invoke",
            status=status,
            error_code=error_code,
            started_at=started_at,
            duration_ms=duration_ms,
        )
    finally:
        close_old_connections()


def _finished(request_id: str) -> Invocation | None:
    close_old_connections()
    try:
        return Invocation.objects.filter(request_id=request_id).order_by("attempt").first()
    finally:
        close_old_connections()


async def invoke(*, function: Function, payload: bytes) -> ConsoleInvoke:
    """A synchronous invoke of $LATEST, as boto3's ``Invoke`` (RequestResponse) runs it.

    ``function`` must have its ``sandbox`` loaded. Never raises an ``AwsError``: the result says
    what went wrong (a throttle is status 429, as the API answers).
    """
    request_id = str(uuid.uuid4())
    started_at, clock = timezone.now(), time.perf_counter()
    result = ConsoleInvoke(request_id=request_id, status_code=200)
    try:
        target = await sync_to_async(backend.resolve)(sandbox=function.sandbox, function_name=function.name)
        outcome = await runtime.invoke_request_response(
            target=target, request_id=request_id, payload=payload, trace_header=None, client_context=None
        )
    except AwsError as error:
        result.status_code, result.error_code, result.error_message = error.status, error.code, error.message
    else:
        result.payload = outcome.payload.decode("utf-8", errors="replace")
        result.function_error = outcome.function_error or ""
        result.log = outcome.log_tail
    status = Hop.Status.OK
    if result.throttled:
        status = Hop.Status.THROTTLED
    elif result.error_code or result.function_error:
        status = Hop.Status.ERROR
    await sync_to_async(_record_hop)(
        function, started_at, (time.perf_counter() - clock) * 1000, status, result.error_code or result.function_error
    )
    if not result.error_code:
        result.invocation = await sync_to_async(_finished)(request_id)
        if result.invocation is not None:
            result.log = result.invocation.log_text or result.log  # the whole log, not only its 4 KB tail
    return result


@dataclass
class BurstSummary:
    count: int
    succeeded: int
    function_errors: int
    throttled: int
    other_errors: int
    cold_starts: int
    seconds: float


async def burst(*, function: Function, count: int, payload: bytes) -> BurstSummary:
    """Fire ``count`` (at most ``MAX_BURST``) synchronous invokes at once; over the concurrency limit
    they are throttled (429), as they would be through the API."""
    count = max(1, min(count, MAX_BURST))
    clock = time.perf_counter()
    results = await asyncio.gather(*(invoke(function=function, payload=payload) for _ in range(count)))
    return BurstSummary(
        count=count,
        succeeded=sum(1 for r in results if not r.error_code and not r.function_error),
        function_errors=sum(1 for r in results if r.function_error),
        throttled=sum(1 for r in results if r.throttled),
        other_errors=sum(1 for r in results if r.error_code and not r.throttled),
        cold_starts=sum(1 for r in results if r.invocation is not None and r.invocation.cold),
        seconds=round(time.perf_counter() - clock, 2),
    )
