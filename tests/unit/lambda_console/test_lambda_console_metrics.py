"""The monitoring tab's maths: cost with and without the free tier, projection, percentiles, buckets, concurrency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from serverless_lab.cloud.lambda_ import metrics
from serverless_lab.cloud.lambda_.metrics import Point

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("requests", "gb_seconds", "free_tier", "request_cost", "compute_cost"),
    [
        (0, 0.0, True, 0.0, 0.0),
        (1_000_000, 400_000.0, True, 0.0, 0.0),  # exactly the free tier
        (3_000_000, 400_000.0, True, 0.40, 0.0),  # 2M billed requests at $0.20 per million
        (1_000_000, 500_000.0, True, 0.0, 100_000 * 0.0000166667),
        (1_000_000, 400_000.0, False, 0.20, 400_000 * 0.0000166667),
    ],
)
def test_monthly_cost(requests, gb_seconds, free_tier, request_cost, compute_cost):
    cost = metrics.monthly_cost(requests, gb_seconds, free_tier=free_tier)
    assert cost.request_cost == pytest.approx(request_cost)
    assert cost.compute_cost == pytest.approx(compute_cost)
    assert cost.total == pytest.approx(request_cost + compute_cost)


def test_aws_pricing_example():
    # aws.amazon.com/lambda/pricing: 3M requests of 1 s at 512 MB a month, after the free tier:
    # compute (1.5M - 400K) GB-s × $0.0000166667 = $18.33, requests (3M - 1M) × $0.20/M = $0.40.
    cost = metrics.monthly_cost(3_000_000, 3_000_000 * 1.0 * 512 / 1024)
    assert round(cost.compute_cost, 2) == 18.33
    assert round(cost.request_cost, 2) == 0.40
    assert round(cost.total, 2) == 18.73


def test_free_tier_left():
    cost = metrics.monthly_cost(250_000, 100_000.5)
    assert cost.free_requests_left == 750_000
    assert cost.free_gb_seconds_left == pytest.approx(299_999.5)
    assert metrics.monthly_cost(2_000_000, 1e6).free_requests_left == 0


def test_gb_seconds_of_a_point_use_billed_duration_and_memory():
    assert Point(T0, "succeeded", billed_duration_ms=1000, memory_mb=1024).gb_seconds == 1.0
    assert Point(T0, "succeeded", billed_duration_ms=100, memory_mb=512).gb_seconds == pytest.approx(0.05)
    assert Point(T0, "queued").gb_seconds == 0.0


def test_projection_scales_a_window_to_a_730_hour_month():
    assert metrics.project_to_month(6, timedelta(minutes=15)) == pytest.approx(6 * 4 * 730)
    assert metrics.project_to_month(10, timedelta(hours=730)) == pytest.approx(10)
    assert metrics.project_to_month(10, timedelta(0)) == 0.0


def test_nearest_rank_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert metrics.percentile(values, 50) == 50.0
    assert metrics.percentile(values, 99) == 99.0
    assert metrics.percentile([7.0], 99) == 7.0
    assert metrics.percentile([], 50) is None


def test_buckets_count_invocations_errors_throttles_durations_and_cold_share():
    points = [
        Point(at(1), "succeeded", cold=True, duration_ms=100.0),
        Point(at(2), "succeeded", cold=False, duration_ms=10.0),
        Point(at(3), "failed", cold=False, duration_ms=20.0),
        Point(at(4), "timed_out", cold=False, duration_ms=3000.0),
        Point(at(16), "succeeded", cold=False, duration_ms=5.0),
        Point(at(17), "throttled"),  # an async invoke that gave up: a throttle, not an invocation
        Point(at(-5), "succeeded"),  # before the window
    ]
    series = metrics.bucket_series(points, [at(5), at(31)], start=T0, end=at(45), step=timedelta(seconds=15))
    assert series.times == [T0, at(15), at(30)]
    assert series.invocations == [4, 1, 0]
    assert series.errors == [2, 0, 0]
    assert series.throttles == [1, 1, 1]
    assert series.p50 == [20.0, 5.0, None]
    assert series.p99 == [3000.0, 5.0, None]
    assert series.cold_share == [25.0, 0.0, None]


def test_concurrency_is_the_peak_overlap_in_each_bucket():
    def ran(start: float, end: float | None) -> Point:
        return Point(at(start), "succeeded", started_at=at(start), finished_at=at(end) if end is not None else None)

    points = [
        ran(1, 5),
        ran(2, 6),
        ran(3, 4),  # three at once at t=3
        ran(6, 8),  # starts as the second ends: back to back, not overlapping
        ran(12, 29),  # spans into the next bucket, where it overlaps the next one
        ran(28, None),  # still running: counts to the end
        Point(at(29), "queued"),  # never started
    ]
    series = metrics.bucket_series(points, [], start=T0, end=at(40), step=timedelta(seconds=10))
    assert series.concurrency == [3, 1, 2, 1]
