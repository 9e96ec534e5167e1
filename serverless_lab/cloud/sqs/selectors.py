"""What the SQS console pages read: display-ready queues, depths, polled messages and the depth chart.

Depth samples are written here, by the queue page's depth panel as it polls: a queue nobody
watches records nothing. A sample is stored when the depth changed since the last one or the last
one is older than ``SAMPLE_EVERY_MS``; samples older than ``SAMPLE_WINDOW_MS`` are dropped.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Count, Q

from serverless_lab.sandboxes.models import Sandbox

from . import backend, exceptions, logic
from .models import DepthSample, Queue

SAMPLE_EVERY_MS = 30_000
SAMPLE_WINDOW_MS = 60 * 60 * 1000
POLL_SECONDS = 3
CHART_MIN_SPAN_MS = 5 * 60 * 1000
BODY_PREVIEW_CHARS = 64 * 1024  # a poll shows up to 10 bodies of up to 1 MiB each: show the start


@dataclass
class Depth:
    visible: int
    in_flight: int
    delayed: int

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed


@dataclass
class QueueRow:
    name: str
    fifo: bool
    depth: Depth
    dlq_name: str  # where its dead letters go ("" without a RedrivePolicy)


@dataclass
class Redrive:
    dlq_name: str
    dlq_arn: str
    max_receive_count: int
    dlq_exists: bool


@dataclass
class QueueDetail:
    queue: Queue
    url: str
    arn: str
    depth: Depth
    attributes: list[tuple[str, str]]
    redrive: Redrive | None
    dead_letter_sources: list[str]  # queues whose dead letters come here
    tags: dict[str, str]


@dataclass
class PolledMessage:
    message_id: str
    receipt_handle: str
    body: str
    pretty_body: str  # indented when the body is JSON, else ""
    truncated: bool  # body cut at BODY_PREVIEW_CHARS
    attributes: list[tuple[str, str, str]]  # name, type, value
    receive_count: int
    sent_at: datetime
    group_id: str
    sequence: str


@dataclass
class DepthChart:
    figure: dict[str, Any]
    samples: int


def _depth_annotations(at: int) -> dict[str, Any]:
    alive = Q(messages__expires_at__gt=at)
    return {
        "n_visible": Count("messages", filter=alive & Q(messages__visible_at__lte=at)),
        "n_in_flight": Count("messages", filter=alive & Q(messages__visible_at__gt=at, messages__receive_count__gt=0)),
        "n_delayed": Count("messages", filter=alive & Q(messages__visible_at__gt=at, messages__receive_count=0)),
    }


def queue_rows(*, sandbox: Sandbox) -> list[QueueRow]:
    """The sandbox's queues with their depth, in one query."""
    at = backend.now_ms()
    rows = []
    for queue in Queue.objects.filter(sandbox=sandbox).annotate(**_depth_annotations(at)).order_by("name"):
        policy = logic.redrive_policy(queue.attributes)
        dlq = logic.parse_queue_arn(policy.dead_letter_target_arn) if policy else None
        rows.append(
            QueueRow(
                queue.name,
                queue.fifo,
                Depth(queue.n_visible, queue.n_in_flight, queue.n_delayed),  # type: ignore[attr-defined]
                dlq[2] if dlq else "",
            )
        )
    return rows


def version(rows: list[Any]) -> str:
    """A short digest of what a polled panel shows: when the poll brings the same one back, the view
    answers 204 and htmx leaves the page (and the student's focus and scroll) alone."""
    return hashlib.sha1(repr(rows).encode()).hexdigest()[:16]


def queue_choices(*, sandbox: Sandbox) -> list[tuple[str, str]]:
    """(ARN, name) of each queue, for the dead-letter queue picker."""
    return [
        (logic.queue_arn(sandbox.region, sandbox.account_id, name), name)
        for name in Queue.objects.filter(sandbox=sandbox).order_by("name").values_list("name", flat=True)
    ]


def get_queue(*, sandbox: Sandbox, name: str) -> Queue:
    """The sandbox's queue ``name``; raises QueueDoesNotExist."""
    queue = Queue.objects.filter(sandbox=sandbox, name=name).first()
    if queue is None:
        raise exceptions.QueueDoesNotExist()
    queue.sandbox = sandbox
    return queue


def settings_initial(queue: Queue) -> dict[str, Any]:
    """The settings form's starting values: the queue's current attributes."""
    attributes = backend.effective_attributes(queue)
    policy = logic.redrive_policy(queue.attributes)
    return {
        "visibility_timeout": attributes["VisibilityTimeout"],
        "delay_seconds": attributes["DelaySeconds"],
        "retention_period": attributes["MessageRetentionPeriod"],
        "content_dedup": attributes.get("ContentBasedDeduplication") == "true",
        "dead_letter_queue": policy.dead_letter_target_arn if policy else "",
        "max_receive_count": policy.max_receive_count if policy else 3,
    }


def depth(queue: Queue) -> Depth:
    counts = backend.queue_counts(queue)
    return Depth(counts["visible"], counts["in_flight"], counts["delayed"])


def queue_detail(*, sandbox: Sandbox, name: str) -> QueueDetail:
    queue = get_queue(sandbox=sandbox, name=name)
    url = backend.queue_url(queue)
    attributes = backend.get_queue_attributes(sandbox=sandbox, queue_url=url, names=["All"])
    current = Depth(
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        int(attributes["ApproximateNumberOfMessagesDelayed"]),
    )
    redrive = None
    policy = logic.redrive_policy(queue.attributes)
    if policy is not None:
        parsed = logic.parse_queue_arn(policy.dead_letter_target_arn)
        dlq_name = parsed[2] if parsed else policy.dead_letter_target_arn
        exists = backend.find_queue_by_arn(sandbox=sandbox, arn=policy.dead_letter_target_arn) is not None
        redrive = Redrive(dlq_name, policy.dead_letter_target_arn, policy.max_receive_count, exists)
    sources = [source.name for source in backend.dead_letter_sources(sandbox=sandbox, queue_url=url)]
    shown = sorted((key, _display_attribute(key, value)) for key, value in attributes.items())
    return QueueDetail(queue, url, attributes["QueueArn"], current, shown, redrive, sources, dict(queue.tags))


def _display_attribute(name: str, value: str) -> str:
    if name in ("CreatedTimestamp", "LastModifiedTimestamp") and value.isdigit():
        return f"{value} ({datetime.fromtimestamp(int(value), UTC):%Y-%m-%d %H:%M:%S} UTC)"
    return value


def polled_messages(received: list[backend.Received]) -> list[PolledMessage]:
    """Received messages as the poll panel shows them."""
    rows = []
    for item in received:
        row = item.row
        pretty = ""
        truncated = len(row.body) > BODY_PREVIEW_CHARS
        try:
            parsed = None if truncated else json.loads(row.body)
            if isinstance(parsed, (dict, list)):
                pretty = json.dumps(parsed, indent=2, ensure_ascii=False)
        except ValueError:
            pass
        attributes = []
        for name, value in sorted(row.attributes.items()):
            if "BinaryValue" in value:
                shown = f"{len(base64.b64decode(value['BinaryValue']))} bytes (base64 {value['BinaryValue'][:40]})"
            else:
                shown = value.get("StringValue", "")
            attributes.append((name, value.get("DataType", ""), shown))
        rows.append(
            PolledMessage(
                str(row.message_id),
                item.receipt_handle,
                row.body[:BODY_PREVIEW_CHARS],
                pretty,
                truncated,
                attributes,
                row.receive_count,
                datetime.fromtimestamp(row.sent_ms / 1000, UTC),
                row.group_id,
                f"{row.sequence:020d}" if row.sequence is not None else "",
            )
        )
    return rows


def record_depth(queue: Queue, current: Depth) -> bool:
    """Store a depth sample if it is news (see the module docstring); True when one was stored."""
    at = backend.now_ms()
    last = DepthSample.objects.filter(queue=queue).order_by("-at_ms").first()
    same = last is not None and (last.visible, last.in_flight, last.delayed) == (
        current.visible,
        current.in_flight,
        current.delayed,
    )
    if same and last is not None and at - last.at_ms < SAMPLE_EVERY_MS:
        return False
    DepthSample.objects.create(
        queue=queue, at_ms=at, visible=current.visible, in_flight=current.in_flight, delayed=current.delayed
    )
    DepthSample.objects.filter(queue=queue, at_ms__lt=at - SAMPLE_WINDOW_MS).delete()
    return True


def depth_chart(queue: Queue) -> DepthChart:
    """A plotly figure (stacked areas) of the queue's sampled depth over the last hour.

    The last sample is carried on to now (depth is sampled when it changes), and the time axis
    spans at least ``CHART_MIN_SPAN_MS`` so a fresh chart has a readable scale.
    """
    now = backend.now_ms()
    samples = list(DepthSample.objects.filter(queue=queue, at_ms__gte=now - SAMPLE_WINDOW_MS).order_by("at_ms"))
    points = [(s.at_ms, s.visible, s.in_flight, s.delayed) for s in samples]
    if points:
        points.append((now, *points[-1][1:]))

    def iso(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).isoformat()

    times = [iso(p[0]) for p in points]
    series = [("Delayed", 3, "#15803d"), ("In flight", 2, "#f59e0b"), ("Visible", 1, "#4338ca")]
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "line": {"shape": "hv", "color": color, "width": 2},
            "stackgroup": "depth",
            "name": name,
            "x": times,
            "y": [p[index] for p in points],
        }
        for name, index, color in series
    ]
    start = min(points[0][0] if points else now, now - CHART_MIN_SPAN_MS)
    highest = max((p[1] + p[2] + p[3] for p in points), default=0)
    layout = {
        "margin": {"t": 10, "r": 10, "b": 40, "l": 40},
        "height": 240,
        "legend": {"orientation": "h", "y": -0.25, "traceorder": "reversed"},
        "xaxis": {"type": "date", "range": [iso(start), iso(now)]},
        "yaxis": {"title": {"text": "messages"}, "range": [0, max(highest, 4) * 1.15], "tickformat": ",d"},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
    }
    return DepthChart({"data": data, "layout": layout}, len(samples))
