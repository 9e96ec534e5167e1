"""The editor block's Run, through the real worker and Lambda runtime over /aws/."""

from __future__ import annotations

import re
import time

import pytest

from lessons.services import lessons_load

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

COUNTER = """
count = 0


def lambda_handler(event, context):
    global count
    count += 1
    print("invocation", count, "for", event["name"])
    return {"count": count, "hello": event["name"]}
"""


def run(client, code: str, function: str = "hello-editor", lesson: str = "aws-lambda", timeout: float = 90) -> str:
    response = client.post(f"/lessons/{lesson}/editor/{function}/run/", {"code": code}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    deadline = time.monotonic() + timeout
    while "Deploying and invoking" in html and time.monotonic() < deadline:
        time.sleep(0.3)
        url = re.search(r'hx-get="([^"]+)"', html).group(1)
        html = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "Deploying and invoking" not in html, "the run did not finish"
    return html


def test_run_deploys_invokes_and_shows_response_logs_and_cold_then_warm(live_lab, cast, client):
    assert lessons_load().ok
    client.force_login(cast.alice)

    first = run(client, COUNTER)
    assert "CreateFunction" in first
    assert "Invoke: status 200" in first
    assert "&quot;count&quot;: 1" in first and "&quot;hello&quot;: &quot;Ada&quot;" in first
    assert "invocation 1 for Ada" in first  # the log tail
    assert "Cold start" in first

    second = run(client, COUNTER)
    assert "Code unchanged" in second
    assert "&quot;count&quot;: 2" in second
    assert "Warm" in second

    changed = run(client, COUNTER.replace('"hello"', '"hi"'))
    assert "UpdateFunctionCode" in changed
    assert "&quot;hi&quot;: &quot;Ada&quot;" in changed and "&quot;count&quot;: 1" in changed
    assert "Cold start" in changed

    functions = live_lab.client("lambda", cast.sandbox).list_functions()["Functions"]
    assert [f["FunctionName"] for f in functions] == ["hello-editor"]


def test_an_exception_in_the_handler_is_shown_with_its_log(live_lab, cast, client):
    assert lessons_load().ok
    client.force_login(cast.alice)
    html = run(client, "def lambda_handler(event, context):\n    raise ValueError('no ' + event['name'])\n")
    assert "Unhandled error" in html
    assert "no Ada" in html


def shipped_editors() -> list[tuple[str, str]]:
    from lessons.services import content_read

    return [
        (lesson.slug, block["data"]["function"])
        for lesson in content_read().lessons
        for block in lesson.blocks
        if block["kind"] == "editor"
    ]


@pytest.mark.parametrize(("lesson", "function"), shipped_editors())
def test_every_shipped_editor_runs_its_starter_cleanly(live_lab, cast, client, lesson: str, function: str):
    from lessons.models import Lesson
    from lessons.services import editor_block

    assert lessons_load().ok
    client.force_login(cast.alice)
    starter = editor_block(lesson=Lesson.objects.get(slug=lesson), function=function)["starter"]
    html = run(client, starter, function=function, lesson=lesson)
    assert "Invoke: status 200" in html
    assert "error</span>" not in html  # no FunctionError badge
