"""What the Lambda console pages read: display-ready rows, the editable code, and monitoring figures."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO
from typing import Any

from django.db.models import Count, Exists, F, Max, OuterRef, Q, Sum
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from serverless_lab.sandboxes.models import Sandbox
from serverless_lab.tracing import nodes
from serverless_lab.tracing.models import Hop

from . import backend, code, exceptions, metrics
from .models import Function, Invocation, TestEvent

MAX_EDITABLE_BYTES = 256 * 1024
MAX_CHART_ROWS = 20_000
RECENT_INVOCATIONS = 10

# The monitoring tab's windows: (label, length, bucket size).
WINDOWS: dict[str, tuple[str, timedelta, timedelta]] = {
    "15m": ("Last 15 minutes", timedelta(minutes=15), timedelta(seconds=15)),
    "1h": ("Last hour", timedelta(hours=1), timedelta(minutes=1)),
    "1d": ("Last 24 hours", timedelta(days=1), timedelta(minutes=30)),
}
DEFAULT_WINDOW = "15m"


def function_get(*, sandbox: Sandbox, name: str) -> Function:
    """The sandbox's function, or a 404 (another sandbox's function does not exist here)."""
    try:
        return backend.get_function(sandbox=sandbox, function_name=name)
    except exceptions.LambdaError:
        raise Http404("No such function") from None


@dataclass
class FunctionRow:
    name: str
    runtime: str
    memory_mb: int
    timeout_s: int
    last_modified: datetime
    reserved_concurrency: int | None
    last_invocation: datetime | None
    code_size: int


def function_rows(*, sandbox: Sandbox) -> list[FunctionRow]:
    functions = Function.objects.filter(sandbox=sandbox).annotate(last_invocation=Max("invocations__created_at"))
    return [
        FunctionRow(
            name=f.name,
            runtime=f.runtime,
            memory_mb=f.memory_mb,
            timeout_s=f.timeout_s,
            last_modified=f.last_modified,
            reserved_concurrency=f.reserved_concurrency,
            last_invocation=f.last_invocation,  # type: ignore[attr-defined]
            code_size=f.code_size,
        )
        for f in functions.order_by("name")
    ]


# --- code ----------------------------------------------------------------------------------------


@dataclass
class EditableCode:
    """The handler's file in the function's zip, or why the console cannot edit it."""

    filename: str
    language: str  # python | javascript
    source: str
    problem: str = ""

    @property
    def editable(self) -> bool:
        return not self.problem


def _candidates(function: Function) -> tuple[str, list[str]]:
    module = function.handler.rsplit(".", 1)[0] if "." in function.handler else ""
    if function.runtime.startswith("python"):
        return "python", [f"{module}.py"]
    if function.runtime.startswith("nodejs"):
        return "javascript", [f"{module}{ext}" for ext in (".js", ".mjs", ".cjs")]
    return "", []


def function_code(*, function: Function) -> tuple[EditableCode, bytes]:
    """The handler's source file and the whole zip (deploying keeps the zip's other files)."""
    language, candidates = _candidates(function)
    data = code.read_zip(function.code_name)
    if not language:
        return EditableCode(
            "",
            "",
            "",
            f"The console edits Python and Node.js handlers; {function.runtime} "
            "functions are deployed with boto3 or the AWS CLI (UpdateFunctionCode).",
        ), data
    with zipfile.ZipFile(BytesIO(data)) as archive:
        names = set(archive.namelist())
        filename = next((c for c in candidates if c in names), None)
        if filename is None:
            return EditableCode(
                candidates[0],
                language,
                "",
                f"The package has no {' or '.join(candidates)} "
                f"for the handler {function.handler}; fix the handler in Configuration, or "
                "deploy a zip that has it.",
            ), data
        info = archive.getinfo(filename)
        if info.file_size > MAX_EDITABLE_BYTES:
            return EditableCode(
                filename,
                language,
                "",
                f"{filename} is larger than the console edits ({MAX_EDITABLE_BYTES // 1024} KB).",
            ), data
        raw = archive.read(filename)
    try:
        return EditableCode(filename, language, raw.decode("utf-8")), data
    except UnicodeDecodeError:
        return EditableCode(filename, language, "", f"{filename} is not UTF-8 text."), data


def test_events(*, function: Function) -> list[TestEvent]:
    return list(function.test_events.order_by("name"))


def recent_invocations(*, function: Function, limit: int = RECENT_INVOCATIONS) -> list[Invocation]:
    return list(function.invocations.order_by("-created_at", "-pk")[:limit])


# --- monitoring ----------------------------------------------------------------------------------


def _figure(title: str, times: list[str], traces: list[dict[str, Any]], y_title: str) -> dict[str, Any]:
    for trace in traces:
        trace.setdefault("x", times)
        trace.setdefault("type", "scatter")
        trace.setdefault("mode", "lines+markers")
    return {
        "data": traces,
        "layout": {
            "title": {"text": title, "font": {"size": 14}},
            "margin": {"l": 48, "r": 16, "t": 40, "b": 36},
            "height": 260,
            "xaxis": {"type": "date"},
            "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
            "legend": {"orientation": "h", "y": -0.25},
            "hovermode": "x unified",
        },
    }


@dataclass
class Monitoring:
    window: str
    window_label: str
    figures: dict[str, dict[str, Any]]
    invocations: int
    errors: int
    throttles: int
    cold_starts: int
    cold_share: float | None
    p50_ms: float | None
    p99_ms: float | None
    usage: metrics.Cost  # this window's usage, priced without the free tier
    month_to_date: metrics.Cost  # this calendar month so far, after the free tier
    projected: metrics.Cost  # a month at this window's rate, after the free tier
    projected_without_free_tier: metrics.Cost
    mapping_invocations: int = 0  # started by event source mappings (SQS, DynamoDB streams)
    mapping_peak_concurrency: int = 0  # the most mapping batches running at once in the window


def monitoring(*, function: Function, window: str = DEFAULT_WINDOW, now: datetime | None = None) -> Monitoring:
    """Charts and cost of ``function`` over the window ending ``now``, from its Invocation rows and,
    for synchronous throttles (which never became invocations), its throttled hops."""
    if window not in WINDOWS:
        window = DEFAULT_WINDOW
    label, length, step = WINDOWS[window]
    end = now or timezone.now()
    # Align buckets to the step so a refresh does not shift every bar.
    step_s = step.total_seconds()
    end = datetime.fromtimestamp((end.timestamp() // step_s + 1) * step_s, tz=end.tzinfo)
    start = end - length
    from serverless_lab.cloud.esm.models import Batch

    rows = (
        function.invocations.filter(created_at__gte=start, created_at__lt=end)
        .annotate(from_mapping=Exists(Batch.objects.filter(invocation=OuterRef("pk"))))
        .values_list(
            "created_at",
            "status",
            "cold",
            "duration_ms",
            "billed_duration_ms",
            "memory_mb",
            "started_at",
            "finished_at",
            "from_mapping",
        )[:MAX_CHART_ROWS]
    )
    points, mapped = [], []
    for *fields, from_mapping in rows:
        points.append(metrics.Point(*fields))
        if from_mapping:
            mapped.append(points[-1])
    sandbox = function.sandbox
    throttled_at = list(
        Hop.objects.filter(
            sandbox=sandbox,
            to_node=nodes.lambda_function(sandbox.region, sandbox.account_id, function.name),
            status=Hop.Status.THROTTLED,
            started_at__gte=start,
            started_at__lt=end,
        ).values_list("started_at", flat=True)[:MAX_CHART_ROWS]
    )
    series = metrics.bucket_series(points, throttled_at, start=start, end=end, step=step)
    # The same maths over the invocations event source mappings started: their pollers' share.
    polled = metrics.bucket_series(mapped, [], start=start, end=end, step=step)
    direct = [total - by_mapping for total, by_mapping in zip(series.invocations, polled.invocations, strict=True)]
    times = [t.isoformat() for t in series.times]
    bar = {"type": "bar"}
    figures = {
        "invocations": _figure(
            "Invocations, errors and throttles",
            times,
            [
                {**bar, "name": "Invocations", "y": series.invocations, "marker": {"color": "#4338ca"}},
                {**bar, "name": "Errors", "y": series.errors, "marker": {"color": "#dc2626"}},
                {**bar, "name": "Throttles", "y": series.throttles, "marker": {"color": "#f59e0b"}},
            ],
            "count",
        ),
        "duration": _figure(
            "Duration",
            times,
            [
                {"name": "p50", "y": series.p50, "line": {"color": "#4338ca"}, "connectgaps": False},
                {"name": "p99", "y": series.p99, "line": {"color": "#db2777", "dash": "dot"}, "connectgaps": False},
            ],
            "ms",
        ),
        "sources": _figure(
            "Invocations by source",
            times,
            [
                {**bar, "name": "Invoke (boto3, console, S3, SNS)", "y": direct, "marker": {"color": "#4338ca"}},
                {**bar, "name": "Event source mappings", "y": polled.invocations, "marker": {"color": "#059669"}},
            ],
            "count",
        ),
        "concurrency": _figure(
            "Concurrent executions",
            times,
            [
                {"name": "All", "y": series.concurrency, "line": {"shape": "hv", "color": "#0891b2"}},
                {
                    "name": "Event source mapping batches (pollers)",
                    "y": polled.concurrency,
                    "line": {"shape": "hv", "color": "#059669", "dash": "dot"},
                },
            ],
            "executions",
        ),
        "cold": _figure(
            "Cold starts",
            times,
            [{**bar, "name": "Cold-start share", "y": series.cold_share, "marker": {"color": "#0ea5e9"}}],
            "% of invocations",
        ),
    }
    figures["cold"]["layout"]["yaxis"]["range"] = [0, 100]
    for figure in figures.values():
        figure["layout"]["xaxis"]["range"] = [start.isoformat(), end.isoformat()]
    figures["invocations"]["layout"]["barmode"] = "group"
    figures["sources"]["layout"]["barmode"] = "stack"

    ran = [p for p in points if p.status != "throttled"]
    durations = [p.duration_ms for p in ran if p.duration_ms is not None]
    started = [p for p in ran if p.cold is not None]
    colds = sum(1 for p in started if p.cold)
    gb_seconds = sum(p.gb_seconds for p in ran)
    month_start = end.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    month = (
        function.invocations.filter(created_at__gte=month_start)
        .exclude(status=Invocation.Status.THROTTLED)
        .aggregate(requests=Count("pk"), mb_ms=Sum(F("billed_duration_ms") * F("memory_mb")))
    )
    month_gb_seconds = (month["mb_ms"] or 0) / 1000 / 1024
    return Monitoring(
        window=window,
        window_label=label,
        figures=figures,
        invocations=len(ran),
        errors=sum(1 for p in ran if p.status in metrics.ERROR_STATUSES),
        throttles=sum(series.throttles),
        cold_starts=colds,
        cold_share=round(100 * colds / len(started), 1) if started else None,
        p50_ms=metrics.percentile(durations, 50),
        p99_ms=metrics.percentile(durations, 99),
        usage=metrics.monthly_cost(len(ran), gb_seconds, free_tier=False),
        month_to_date=metrics.monthly_cost(month["requests"], month_gb_seconds),
        projected=metrics.monthly_cost(
            round(metrics.project_to_month(len(ran), length)), metrics.project_to_month(gb_seconds, length)
        ),
        projected_without_free_tier=metrics.monthly_cost(
            round(metrics.project_to_month(len(ran), length)),
            metrics.project_to_month(gb_seconds, length),
            free_tier=False,
        ),
        mapping_invocations=sum(1 for p in mapped if p.status != "throttled"),
        mapping_peak_concurrency=max(polled.concurrency, default=0),
    )


# --- triggers ------------------------------------------------------------------------------------


@dataclass
class MappingRow:
    """One event source mapping of the function, display-ready."""

    uuid: str
    kind: str  # sqs | dynamodb
    kind_label: str
    source_name: str
    source_url: str  # the source's console page; "" when the queue or table is gone
    event_source_arn: str
    qualifier: str
    batch_size: int
    batching_window_s: int
    starting_position: str
    enabled: bool
    report_failures: bool
    last_result: str  # LastProcessingResult: "OK", "PROBLEM: …" or "No records processed"
    in_flight: int
    last_modified: datetime

    @property
    def state(self) -> str:
        return "Enabled" if self.enabled else "Disabled"


@dataclass
class S3TriggerRow:
    bucket: str
    url: str
    events: list[str]
    filters: str  # "prefix images/, suffix .jpg", or ""
    configuration_id: str


@dataclass
class SnsTriggerRow:
    topic: str
    url: str
    subscription_id: str
    filtered: bool


@dataclass
class Triggers:
    mappings: list[MappingRow]
    s3: list[S3TriggerRow]
    sns: list[SnsTriggerRow]

    @property
    def count(self) -> int:
        return len(self.mappings) + len(self.s3) + len(self.sns)


def _targets_function(arn: str, function_arn: str) -> bool:
    return arn == function_arn or arn.startswith(function_arn + ":")


def source_name(event_source_arn: str) -> str:
    """The queue's or table's name in a mapping's source ARN (the ARN itself if it is not one)."""
    from serverless_lab.cloud.esm import logic as esm_logic

    try:
        return esm_logic.parse_source_arn(event_source_arn).name
    except esm_logic.Invalid:
        return event_source_arn


def _mapping_rows(sandbox: Sandbox, function: Function) -> list[MappingRow]:
    from serverless_lab.cloud.dynamodb.models import Table
    from serverless_lab.cloud.esm import logic as esm_logic
    from serverless_lab.cloud.esm.models import EventSourceMapping
    from serverless_lab.cloud.sqs.models import Queue

    mappings = list(
        EventSourceMapping.objects.filter(sandbox=sandbox, function=function)
        .annotate(in_flight=Count("batches", filter=Q(batches__finished_at__isnull=True)))
        .order_by("pk")
    )
    queues = set(Queue.objects.filter(sandbox=sandbox).values_list("name", flat=True))
    tables = set(Table.objects.filter(sandbox=sandbox).values_list("name", flat=True))
    rows = []
    for m in mappings:
        name = source_name(m.event_source_arn)
        if m.kind == esm_logic.SQS:
            url = reverse("sqs:queue", args=[sandbox.pk, name]) if name in queues else ""
        else:
            url = reverse("dynamodb:table", args=[sandbox.pk, name]) if name in tables else ""
        rows.append(
            MappingRow(
                uuid=str(m.uuid),
                kind=m.kind,
                kind_label="SQS queue" if m.kind == esm_logic.SQS else "DynamoDB stream",
                source_name=name,
                source_url=url,
                event_source_arn=m.event_source_arn,
                qualifier=m.qualifier,
                batch_size=m.batch_size,
                batching_window_s=m.batching_window_s,
                starting_position=m.starting_position,
                enabled=m.enabled,
                report_failures=esm_logic.REPORT_BATCH_ITEM_FAILURES in (m.function_response_types or []),
                last_result=m.last_processing_result,
                in_flight=m.in_flight,  # type: ignore[attr-defined]
                last_modified=m.last_modified,
            )
        )
    return rows


def _s3_rows(sandbox: Sandbox, arn: str) -> list[S3TriggerRow]:
    from serverless_lab.cloud.s3.models import Bucket

    rows = []
    buckets = Bucket.objects.filter(sandbox=sandbox).order_by("name").values_list("name", "notification")
    for name, notification in buckets:
        for config in (notification or {}).get("LambdaFunctionConfigurations", []):
            if not _targets_function(config.get("LambdaFunctionArn", ""), arn):
                continue
            rules = config.get("Filter", {}).get("Key", {}).get("FilterRules", [])
            rows.append(
                S3TriggerRow(
                    bucket=name,
                    url=reverse("s3:bucket", args=[sandbox.pk, name]),
                    events=list(config.get("Events", [])),
                    filters=", ".join(f"{r.get('Name', '').lower()} {r.get('Value', '')}" for r in rules),
                    configuration_id=config.get("Id", ""),
                )
            )
    return rows


def _sns_rows(sandbox: Sandbox, arn: str) -> list[SnsTriggerRow]:
    from serverless_lab.cloud.sns.models import Subscription

    subscriptions = (
        Subscription.objects.filter(sandbox=sandbox, protocol="lambda")
        .filter(Q(endpoint=arn) | Q(endpoint__startswith=arn + ":"))
        .select_related("topic")
        .order_by("topic__name", "pk")
    )
    return [
        SnsTriggerRow(
            topic=s.topic.name,
            url=reverse("sns:topic", args=[sandbox.pk, s.topic.name]),
            subscription_id=str(s.subscription_id),
            filtered=bool(s.attributes.get("FilterPolicy")),
        )
        for s in subscriptions
    ]


def triggers(*, sandbox: Sandbox, function: Function) -> Triggers:
    """What invokes ``function``: its event source mappings, and (read-only) the S3 bucket
    notifications and SNS lambda subscriptions that target it or one of its versions or aliases."""
    arn = backend.function_arn(function)
    return Triggers(
        mappings=_mapping_rows(sandbox, function),
        s3=_s3_rows(sandbox, arn),
        sns=_sns_rows(sandbox, arn),
    )


@dataclass
class TriggerSources:
    """What the add-trigger form offers: (ARN, label) of the sandbox's queues and table streams."""

    queues: list[tuple[str, str]]
    streams: list[tuple[str, str]]
    tables_without_stream: int

    @property
    def choices(self) -> list[tuple[str, Any]]:
        groups: list[tuple[str, Any]] = [("", "Choose a queue or stream…")]
        if self.queues:
            groups.append(("SQS queues", self.queues))
        if self.streams:
            groups.append(("DynamoDB streams", self.streams))
        return groups


def trigger_sources(*, sandbox: Sandbox) -> TriggerSources:
    from serverless_lab.cloud.dynamodb import backend as dynamodb
    from serverless_lab.cloud.dynamodb.models import Table
    from serverless_lab.cloud.sqs import backend as sqs
    from serverless_lab.cloud.sqs.models import Queue

    queues = []
    for queue in Queue.objects.filter(sandbox=sandbox).order_by("name"):
        queue.sandbox = sandbox
        visibility = sqs.effective_attributes(queue)["VisibilityTimeout"]
        queues.append((sqs.queue_arn_of(queue), f"{queue.name} (visibility timeout {visibility} s)"))
    streams, without = [], 0
    for table in Table.objects.filter(sandbox=sandbox).order_by("name"):
        if not dynamodb.stream_enabled(table):
            without += 1
            continue
        table.sandbox = sandbox
        view = (table.stream_specification or {}).get("StreamViewType", "")
        streams.append((dynamodb.stream_arn(table), f"{table.name} stream ({view})" if view else table.name))
    return TriggerSources(queues=queues, streams=streams, tables_without_stream=without)
