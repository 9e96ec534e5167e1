"""What the console reads: the function list, and monitoring figures and cost from invocations and throttled hops."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from serverless_lab.cloud.lambda_ import code, console, selectors
from serverless_lab.cloud.lambda_.models import Function, Invocation
from serverless_lab.tracing import nodes
from serverless_lab.tracing.ids import new_hop_id, new_trace_id
from serverless_lab.tracing.models import Hop, Trace

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = str(tmp_path)
    code.code_storage.cache_clear()
    yield
    code.code_storage.cache_clear()


@pytest.fixture
def function(cast: Any) -> Function:
    return console.function_create_from_blueprint(
        sandbox=cast.sandbox, name="meter", blueprint_key="hello-world-python"
    )


def invocation(
    function: Function,
    *,
    ago_s: float,
    status: str = "succeeded",
    cold: bool = False,
    duration_ms: float = 10.0,
    billed_ms: int = 100,
    memory_mb: int = 1024,
) -> Invocation:
    created = timezone.now() - timedelta(seconds=ago_s)
    row = Invocation.objects.create(
        sandbox=function.sandbox,
        function=function,
        request_id=str(uuid.uuid4()),
        status=status,
        cold=cold,
        duration_ms=duration_ms,
        billed_duration_ms=billed_ms,
        memory_mb=memory_mb,
        started_at=created,
        finished_at=created + timedelta(milliseconds=duration_ms),
    )
    Invocation.objects.filter(pk=row.pk).update(created_at=created)  # auto_now_add: set the past afterwards
    return row


def throttle_hop(function: Function, *, ago_s: float) -> Hop:
    sandbox = function.sandbox
    started = timezone.now() - timedelta(seconds=ago_s)
    trace = Trace.objects.create(sandbox=sandbox, trace_id=new_trace_id(started.timestamp()), started_at=started)
    return Hop.objects.create(
        sandbox=sandbox,
        trace=trace,
        hop_id=new_hop_id(),
        from_node=nodes.CLIENT,
        to_node=nodes.lambda_function(sandbox.region, sandbox.account_id, function.name),
        action="lambda:Invoke",
        status=Hop.Status.THROTTLED,
        error_code="TooManyRequestsException",
        started_at=started,
    )


def test_function_rows_carry_the_last_invocation(cast, function):
    other = console.function_create_from_blueprint(
        sandbox=cast.sandbox, name="idle", blueprint_key="api-handler-nodejs"
    )
    latest = invocation(function, ago_s=5)
    invocation(function, ago_s=50)
    rows = {row.name: row for row in selectors.function_rows(sandbox=cast.sandbox)}
    assert rows["meter"].last_invocation == Invocation.objects.get(pk=latest.pk).created_at
    assert rows[other.name].last_invocation is None
    assert rows["idle"].runtime == "nodejs20.x"


def test_monitoring_counts_and_prices_the_window(function):
    invocation(function, ago_s=30, cold=True, duration_ms=200.0, billed_ms=200)
    invocation(function, ago_s=20, duration_ms=10.0, billed_ms=10)
    invocation(function, ago_s=10, status="failed", duration_ms=20.0, billed_ms=20)
    invocation(function, ago_s=60 * 60 * 2)  # outside the 15-minute window
    throttle_hop(function, ago_s=15)
    throttle_hop(function, ago_s=14)
    monitor = selectors.monitoring(function=function, window="15m")
    assert (monitor.invocations, monitor.errors, monitor.throttles, monitor.cold_starts) == (3, 1, 2, 1)
    assert monitor.cold_share == pytest.approx(33.3)
    assert (monitor.p50_ms, monitor.p99_ms) == (20.0, 200.0)
    # 230 billed ms at 1024 MB = 0.23 GB-s; 3 requests.
    assert monitor.usage.requests == 3
    assert monitor.usage.gb_seconds == pytest.approx(0.23)
    assert monitor.usage.total == pytest.approx(3 * 0.2 / 1e6 + 0.23 * 0.0000166667)
    # The month so far includes the older invocation, all inside the free tier.
    assert monitor.month_to_date.requests in (3, 4)  # the older one may fall in last month near midnight UTC
    assert monitor.month_to_date.total == 0.0
    # A month at this rate: 3 per 15 minutes is 8,760 requests, well inside the free tier.
    assert monitor.projected.requests == 8760 and monitor.projected.total == 0.0
    assert monitor.projected_without_free_tier.total == pytest.approx(8760 * 0.2 / 1e6 + 0.23 * 4 * 730 * 0.0000166667)
    figure = monitor.figures["invocations"]
    assert [trace["name"] for trace in figure["data"]] == ["Invocations", "Errors", "Throttles"]
    assert sum(figure["data"][0]["y"]) == 3 and sum(figure["data"][1]["y"]) == 1 and sum(figure["data"][2]["y"]) == 2
    assert len(figure["data"][0]["x"]) == 60  # 15 minutes of 15-second buckets
    assert max(monitor.figures["concurrency"]["data"][0]["y"]) == 1
    assert set(monitor.figures) == {"invocations", "sources", "duration", "concurrency", "cold"}


def test_monitoring_ignores_other_functions_and_other_sandboxes(cast, function):
    from serverless_lab.sandboxes.services import sandbox_create

    other = console.function_create_from_blueprint(
        sandbox=cast.sandbox, name="other", blueprint_key="hello-world-python"
    )
    invocation(other, ago_s=5)
    elsewhere = sandbox_create(owner=cast.charlie, name="charlie-sandbox")
    twin = console.function_create_from_blueprint(sandbox=elsewhere, name="meter", blueprint_key="hello-world-python")
    invocation(twin, ago_s=5)
    throttle_hop(twin, ago_s=5)
    monitor = selectors.monitoring(function=function, window="1h")
    assert (monitor.invocations, monitor.throttles) == (0, 0)
    assert len(monitor.figures["invocations"]["data"][0]["x"]) == 60  # an hour of minutes


def test_an_unknown_window_falls_back_to_15_minutes(function):
    assert selectors.monitoring(function=function, window="forever").window == "15m"
