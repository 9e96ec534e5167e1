"""Pure maths of the Lambda console's monitoring tab: time buckets, percentiles, concurrency, cost.

No Django here: ``selectors`` turns rows into :class:`Point` and calls these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Lambda's on-demand price (x86, us-east-1) and the monthly free tier.
PRICE_PER_REQUEST = 0.20 / 1_000_000
PRICE_PER_GB_SECOND = 0.0000166667
FREE_REQUESTS = 1_000_000
FREE_GB_SECONDS = 400_000
HOURS_PER_MONTH = 730  # AWS's pricing pages use 730 hours a month

ERROR_STATUSES = frozenset({"failed", "timed_out", "error"})


@dataclass(frozen=True)
class Point:
    """One invocation attempt, as the charts need it."""

    created_at: datetime
    status: str
    cold: bool | None = None
    duration_ms: float | None = None
    billed_duration_ms: int | None = None
    memory_mb: int = 128
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def gb_seconds(self) -> float:
        return (self.billed_duration_ms or 0) / 1000 * self.memory_mb / 1024


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (CloudWatch's pNN statistics are of this kind); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Series:
    """Per-bucket values over a window, ready for plotly (``times`` are the buckets' starts)."""

    times: list[datetime] = field(default_factory=list)
    invocations: list[int] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)
    throttles: list[int] = field(default_factory=list)
    p50: list[float | None] = field(default_factory=list)
    p99: list[float | None] = field(default_factory=list)
    concurrency: list[int] = field(default_factory=list)
    cold_share: list[float | None] = field(default_factory=list)  # percent of started invocations


def bucket_series(
    points: list[Point], throttled_at: list[datetime], *, start: datetime, end: datetime, step: timedelta
) -> Series:
    """Count, time and overlap invocations per ``step``-long bucket of ``[start, end)``.

    Concurrency is the most invocations running at the same moment within the bucket (a sweep over
    start/finish times); one still running counts until ``end``.
    """
    count = max(1, math.ceil((end - start) / step))
    series = Series(times=[start + step * i for i in range(count)])

    def index(moment: datetime) -> int | None:
        i = math.floor((moment - start) / step)
        return i if 0 <= i < count else None

    invocations, errors, throttles = [0] * count, [0] * count, [0] * count
    durations: list[list[float]] = [[] for _ in range(count)]
    colds, starts = [0] * count, [0] * count
    for point in points:
        i = index(point.created_at)
        if i is None:
            continue
        if point.status == "throttled":
            throttles[i] += 1
            continue
        invocations[i] += 1
        if point.status in ERROR_STATUSES:
            errors[i] += 1
        if point.duration_ms is not None:
            durations[i].append(point.duration_ms)
        if point.cold is not None:
            starts[i] += 1
            colds[i] += int(point.cold)
    for moment in throttled_at:
        i = index(moment)
        if i is not None:
            throttles[i] += 1

    series.invocations, series.errors, series.throttles = invocations, errors, throttles
    series.p50 = [_round(percentile(d, 50)) for d in durations]
    series.p99 = [_round(percentile(d, 99)) for d in durations]
    series.cold_share = [round(100 * c / s, 1) if s else None for c, s in zip(colds, starts, strict=True)]
    series.concurrency = _concurrency(points, start=start, end=end, step=step, count=count)
    return series


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _concurrency(points: list[Point], *, start: datetime, end: datetime, step: timedelta, count: int) -> list[int]:
    intervals = [(p.started_at, p.finished_at or end) for p in points if p.started_at is not None]
    peaks = []
    for i in range(count):
        low, high = start + step * i, start + step * (i + 1)
        active = [(s, f) for s, f in intervals if s < high and f > low]
        # A finish sorts before a start at the same instant: back-to-back invocations do not overlap.
        changes = sorted([(max(s, low), 1) for s, _ in active] + [(f, -1) for _, f in active if f < high])
        running = peak = 0
        for _, delta in changes:
            running += delta
            peak = max(peak, running)
        peaks.append(peak)
    return peaks


@dataclass(frozen=True)
class Cost:
    requests: int
    gb_seconds: float
    request_cost: float
    compute_cost: float
    free_requests_left: int
    free_gb_seconds_left: float

    @property
    def total(self) -> float:
        return self.request_cost + self.compute_cost


def monthly_cost(requests: int, gb_seconds: float, *, free_tier: bool = True) -> Cost:
    """What a month with this usage costs: $0.20 per million requests plus $0.0000166667 per GB-second,
    after the free tier (1M requests and 400,000 GB-seconds a month) when ``free_tier``."""
    free_r = FREE_REQUESTS if free_tier else 0
    free_gb = FREE_GB_SECONDS if free_tier else 0
    billed_requests = max(0, requests - free_r)
    billed_gb = max(0.0, gb_seconds - free_gb)
    return Cost(
        requests=requests,
        gb_seconds=gb_seconds,
        request_cost=billed_requests * PRICE_PER_REQUEST,
        compute_cost=billed_gb * PRICE_PER_GB_SECOND,
        free_requests_left=max(0, free_r - requests),
        free_gb_seconds_left=max(0.0, free_gb - gb_seconds),
    )


def project_to_month(count: float, window: timedelta) -> float:
    """Scale what happened in ``window`` to a 730-hour month at the same rate."""
    seconds = window.total_seconds()
    return 0.0 if seconds <= 0 else count * HOURS_PER_MONTH * 3600 / seconds
