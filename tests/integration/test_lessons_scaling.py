"""The auto-scaling demo: a real burst through /aws/, the real runtime and its Invocation rows."""

from __future__ import annotations

import json
import re
import time

import pytest

from lessons.services import lessons_load
from serverless_lab.cloud.lambda_.models import Invocation

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def burst(client, size: int, timeout: float = 150) -> str:
    response = client.post("/lessons/scaling/burst/", {"size": str(size)}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    deadline = time.monotonic() + timeout
    while "Firing the burst" in html and time.monotonic() < deadline:
        time.sleep(0.5)
        url = re.search(r'hx-get="([^"]+)"', html).group(1)
        html = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "Firing the burst" not in html, "the burst did not finish"
    return html


def figure(html: str) -> dict:
    found = re.search(r'<script id="scaling-figure" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_a_burst_over_the_limit_is_throttled_and_plotted(live_lab, cast, client):
    assert lessons_load().ok
    client.force_login(cast.alice)
    html = burst(client, 15)
    ran = int(re.search(r"(\d+) of 15 ran", html).group(1))
    throttled = int(re.search(r"(\d+) throttled \(429\)", html).group(1))
    failed = int(match.group(1)) if (match := re.search(r"(\d+) failed", html)) else 0
    assert ran + throttled + failed == 15
    assert throttled >= 1  # 15 simultaneous requests cannot all fit under a limit of 10
    # every accepted request has its row; a throttled one never reached the runtime
    assert Invocation.objects.filter(sandbox=cast.sandbox, function__name="scaling-demo").count() == 15 - throttled
    names = [trace["name"] for trace in figure(html)["data"]]
    assert names == ["Requests in flight", "Throttled (429)"]
    accepted = figure(html)["data"][0]["y"]
    assert 1 <= max(accepted) <= 10  # never more in flight than the limit
    assert "concurrency limit 10" in json.dumps(figure(html)["layout"])


def test_a_small_burst_fits_under_the_limit(live_lab, cast, client):
    assert lessons_load().ok
    client.force_login(cast.alice)
    html = burst(client, 3)
    assert "3 of 3 ran" in html
    assert "throttled (429)" not in html
    assert "nothing was throttled" in html
    assert [trace["name"] for trace in figure(html)["data"]] == ["Requests in flight"]


def test_a_burst_size_out_of_range_is_refused(live_lab, cast, client):
    client.force_login(cast.alice)
    response = client.post("/lessons/scaling/burst/", {"size": "500"}, headers={"HX-Request": "true"})
    assert "Choose a burst of 1 to 30 requests." in response.content.decode()
