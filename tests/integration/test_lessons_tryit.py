"""The SNS and SQS "try it" buttons, run by the real worker against a real sandbox over /aws/."""

from __future__ import annotations

import re
import time

import pytest

from lessons.services import lessons_load

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def run_button(client, action: str, timeout: float = 60) -> str:
    """Press the button like htmx does and follow the polling fragment until the run is done."""
    response = client.post(f"/lessons/try/{action}/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    deadline = time.monotonic() + timeout
    while "Running in your sandbox" in html and time.monotonic() < deadline:
        url = re.search(r'hx-get="([^"]+)"', html).group(1)
        time.sleep(0.3)
        html = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "Running in your sandbox" not in html, "the run did not finish"
    return html


def test_sns_fanout_delivers_one_copy_to_each_queue(live_lab, cast, client):
    assert lessons_load().ok
    client.force_login(cast.alice)
    html = run_button(client, "sns-fanout")
    assert "CreateTopic" in html and "Publish" in html
    assert "try-it-billing got its copy" in html
    assert "try-it-shipping got its copy" in html
    assert "&quot;Type&quot;: &quot;Notification&quot;" in html  # the SNS envelope, escaped
    sqs = live_lab.client("sqs", cast.sandbox)
    assert {url.rsplit("/", 1)[-1] for url in sqs.list_queues()["QueueUrls"]} >= {"try-it-billing", "try-it-shipping"}


def test_sqs_dead_letter_moves_a_poison_message_after_two_receives(live_lab, cast, client):
    assert lessons_load().ok
    client.force_login(cast.alice)
    html = run_button(client, "sqs-dead-letter")
    assert "receive 1: got it (receive count 1)" in html
    assert "receive 2: got it (receive count 2)" in html
    assert "receive 3: empty" in html
    assert "dead-letter queue: found it in try-it-jobs-dlq" in html


def test_try_buttons_need_a_sandbox(live_lab, cast, client):
    client.force_login(cast.charlie)
    response = client.post("/lessons/try/sns-fanout/", headers={"HX-Request": "true"})
    assert "Create a sandbox first" in response.content.decode()
