"""The auto-scaling demo's pure parts: the concurrency step series and the block on the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lessons.scaling import concurrency_steps
from lessons.selectors import scaling_figure
from lessons.services import lessons_load


def test_overlapping_intervals_add_up_and_drain():
    xs, ys = concurrency_steps([(0.1, 1.0), (0.2, 0.6), (0.5, 1.0)])
    assert list(zip(xs, ys, strict=True)) == [(0.0, 0), (0.1, 1), (0.2, 2), (0.5, 3), (0.6, 2), (1.0, 0)]


def test_no_intervals_is_a_flat_zero():
    assert concurrency_steps([]) == ([0.0], [0])


def test_the_figure_marks_throttles_at_the_limit():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {"created_at": t0, "started_at": t0 + timedelta(seconds=s), "finished_at": t0 + timedelta(seconds=s + 1),
         "cold": s == 0}
        for s in (0, 0.5)
    ]
    burst = scaling_figure(
        started=t0, rows=rows, throttled_at=[t0 + timedelta(seconds=0.1)], errors=[], limit=2, size=3
    )
    assert (burst["succeeded"], burst["throttled"], burst["peak_accepted"], burst["cold"]) == (2, 1, 2, 1)
    throttles = burst["figure"]["data"][1]
    assert throttles["name"] == "Throttled (429)" and throttles["x"] == [0.1] and throttles["y"] == [2]


@pytest.mark.django_db
def test_the_demo_sits_next_to_the_cost_calculator(client, cast):
    assert lessons_load().ok
    html = client.get("/lessons/what-is-serverless/").content.decode()
    assert html.index('id="cost-calculator"') < html.index('id="scaling-demo"')
    assert "to fire a burst at a function in your own sandbox" in html
    client.force_login(cast.alice)
    html = client.get("/lessons/what-is-serverless/").content.decode()
    assert 'name="size" type="number" min="1" max="30" value="15"' in html
    assert "js/pages/lessons_scaling.js" in html
