"""CloudWatch Logs operations on a sandbox: the reads of the API and the writer Lambda uses."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet

from serverless_lab.sandboxes.models import Sandbox

from . import exceptions, logic
from .models import LogEvent, LogGroup, LogStream

MAX_EVENTS = 10000


def _now_ms() -> int:
    return int(time.time() * 1000)


def _get_or_create(model: type[LogGroup] | type[LogStream], **fields: object) -> LogGroup | LogStream:
    """get_or_create that survives two workers creating the same row at once."""
    lookup = {key: value for key, value in fields.items() if key != "created_ms"}
    found = model.objects.filter(**lookup).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return model.objects.create(**fields)
    except IntegrityError:
        return model.objects.get(**lookup)


def put_log_lines(*, sandbox: Sandbox, group_name: str, stream_name: str, events: Sequence[tuple[int, str]]) -> None:
    """Append ``(timestamp ms, message)`` events, creating the group and stream on first use."""
    now = _now_ms()
    group = _get_or_create(LogGroup, sandbox=sandbox, name=group_name, created_ms=now)
    stream = _get_or_create(LogStream, sandbox=sandbox, group=group, name=stream_name, created_ms=now)
    if not events:
        return
    LogEvent.objects.bulk_create(
        LogEvent(sandbox=sandbox, stream=stream, timestamp_ms=ts, ingestion_ms=now, message=message)
        for ts, message in events
    )
    first, last = min(ts for ts, _ in events), max(ts for ts, _ in events)
    LogStream.objects.filter(pk=stream.pk, first_event_ms__isnull=True).update(first_event_ms=first)
    LogStream.objects.filter(pk=stream.pk).update(
        last_event_ms=last,
        last_ingestion_ms=now,
        stored_bytes=F("stored_bytes") + sum(len(message.encode()) for _, message in events),
    )


def group_arn(sandbox: Sandbox, name: str) -> str:
    return f"arn:aws:logs:{sandbox.region}:{sandbox.account_id}:log-group:{name}"


def _group(sandbox: Sandbox, name: str) -> LogGroup:
    group = LogGroup.objects.filter(sandbox=sandbox, name=name).first()
    if group is None:
        raise exceptions.ResourceNotFound("The specified log group does not exist.")
    return group


def _offset_page(rows: QuerySet, token: str | None, limit: int | None, default: int) -> tuple[list, str | None]:
    try:
        start = int(token) if token else 0
    except ValueError:
        raise exceptions.InvalidParameter("The specified nextToken is invalid.") from None
    size = max(1, min(limit or default, default))
    page = list(rows[start : start + size + 1])
    return page[:size], (str(start + size) if len(page) > size else None)


def describe_log_groups(
    *, sandbox: Sandbox, prefix: str | None, token: str | None, limit: int | None
) -> tuple[list[LogGroup], str | None]:
    groups = LogGroup.objects.filter(sandbox=sandbox).order_by("name")
    if prefix:
        groups = groups.filter(name__startswith=prefix)
    return _offset_page(groups, token, limit, 50)


def describe_log_streams(
    *,
    sandbox: Sandbox,
    group_name: str,
    prefix: str | None,
    order_by: str,
    descending: bool,
    token: str | None,
    limit: int | None,
) -> tuple[list[LogStream], str | None]:
    streams = LogStream.objects.filter(group=_group(sandbox, group_name))
    if prefix:
        if order_by == "LastEventTime":
            raise exceptions.InvalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
        streams = streams.filter(name__startswith=prefix)
    key = "last_event_ms" if order_by == "LastEventTime" else "name"
    streams = streams.order_by(F(key).desc(nulls_last=True) if descending else F(key).asc(nulls_first=True), "id")
    return _offset_page(streams, token, limit, 50)


@dataclass
class EventsPage:
    events: list[LogEvent]
    forward_token: str
    backward_token: str


def get_log_events(
    *,
    sandbox: Sandbox,
    group_name: str,
    stream_name: str,
    start_ms: int | None,
    end_ms: int | None,
    token: str | None,
    limit: int | None,
    start_from_head: bool,
) -> EventsPage:
    """One page of a stream, oldest first; without a token the newest page, or the oldest with start_from_head."""
    stream = LogStream.objects.filter(group=_group(sandbox, group_name), name=stream_name).first()
    if stream is None:
        raise exceptions.ResourceNotFound("The specified log stream does not exist.")
    events = stream.events.all()
    if start_ms is not None:
        events = events.filter(timestamp_ms__gte=start_ms)
    if end_ms is not None:
        events = events.filter(timestamp_ms__lte=end_ms)
    size = max(1, min(limit or MAX_EVENTS, MAX_EVENTS))
    if token:
        try:
            direction, anchor = logic.parse_event_token(token)
        except logic.BadPattern as exc:
            raise exceptions.InvalidParameter(str(exc)) from None
    else:
        direction, anchor = ("f", 0) if start_from_head else ("b", 2**62)
    if direction == "f":
        page = list(events.filter(id__gt=anchor).order_by("id")[:size])
    else:
        page = list(events.filter(id__lt=anchor).order_by("-id")[:size])[::-1]
    if page:
        return EventsPage(page, logic.event_token("f", page[-1].pk), logic.event_token("b", page[0].pk))
    return EventsPage([], logic.event_token("f", anchor if direction == "f" else 0), logic.event_token("b", anchor))


def filter_log_events(
    *,
    sandbox: Sandbox,
    group_name: str,
    stream_names: list[str] | None,
    stream_prefix: str | None,
    start_ms: int | None,
    end_ms: int | None,
    pattern: str | None,
    token: str | None,
    limit: int | None,
) -> tuple[list[LogEvent], list[LogStream], str | None]:
    """Matching events across the group's streams in time order, the streams searched, and the next token."""
    if stream_names and stream_prefix:
        raise exceptions.InvalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive")
    try:
        matches = logic.compile_filter_pattern(pattern)
    except logic.BadPattern as exc:
        raise exceptions.InvalidParameter(str(exc)) from None
    streams = LogStream.objects.filter(group=_group(sandbox, group_name))
    if stream_names:
        streams = streams.filter(name__in=stream_names)
    if stream_prefix:
        streams = streams.filter(name__startswith=stream_prefix)
    stream_list = list(streams)
    events = LogEvent.objects.filter(stream__in=stream_list).select_related("stream").order_by("timestamp_ms", "id")
    if start_ms is not None:
        events = events.filter(timestamp_ms__gte=start_ms)
    if end_ms is not None:
        events = events.filter(timestamp_ms__lte=end_ms)
    try:
        skip = int(token) if token else 0
    except ValueError:
        raise exceptions.InvalidParameter("The specified nextToken is invalid.") from None
    size = max(1, min(limit or MAX_EVENTS, MAX_EVENTS))
    found: list[LogEvent] = []
    seen = 0
    for event in events.iterator(chunk_size=2000):
        if not matches(event.message):
            continue
        seen += 1
        if seen <= skip:
            continue
        if len(found) == size:
            return found, stream_list, str(skip + size)
        found.append(event)
    return found, stream_list, None
