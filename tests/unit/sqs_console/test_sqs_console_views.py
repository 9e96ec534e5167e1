"""The SQS console's views through the Django test client: ownership, forms, htmx partials, messages."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.urls import reverse

from serverless_lab.cloud.sqs import backend, selectors
from serverless_lab.cloud.sqs.models import DepthSample, Message, Queue

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def alice(client: Any, cast: Any) -> Any:
    client.force_login(cast.alice)
    return client


def url(name: str, cast: Any, *args: str) -> str:
    return reverse(name, args=[cast.sandbox.pk, *args])


def make_queue(cast: Any, name: str = "orders", **attributes: str) -> Queue:
    return backend.create_queue(sandbox=cast.sandbox, name=name, attributes=attributes, tags={})


def send(cast: Any, queue: Queue, body: str, **kwargs: Any) -> backend.Sent:
    return backend.send_message(
        sandbox=cast.sandbox, queue_url=backend.queue_url(queue), message=backend.Outgoing(body=body, **kwargs)
    )


def polled(response: Any) -> list[tuple[str, str]]:
    """(message id, receipt handle) of each message a poll panel shows."""
    html = response.content.decode()
    ids = re.findall(r'id="msg-([0-9a-f-]+)"', html)
    return list(zip(ids, re.findall(r'name="handles" value="([^"]+)"', html), strict=True))


def test_pages_need_a_login(client, cast):
    response = client.get(url("sqs:queues", cast))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize(
    "name,method,with_queue",
    [
        ("sqs:queues", "get", False),
        ("sqs:queues", "post", False),
        ("sqs:queue", "get", True),
        ("sqs:depth", "get", True),
        ("sqs:send", "post", True),
        ("sqs:poll", "post", True),
        ("sqs:delete-messages", "post", True),
        ("sqs:settings", "post", True),
        ("sqs:purge", "post", True),
        ("sqs:redrive", "post", True),
        ("sqs:delete", "post", True),
    ],
)
def test_charlie_gets_a_404_for_alices_console(client, cast, name, method, with_queue):
    queue = make_queue(cast)
    send(cast, queue, "secret")
    client.force_login(cast.charlie)
    args = ["orders"] if with_queue else []
    response = getattr(client, method)(url(name, cast, *args), {"body": "x", "max_messages": "1", "name": "evil"})
    assert response.status_code == 404
    assert Message.objects.filter(queue=queue).count() == 1 and Queue.objects.count() == 1


def test_an_unknown_queue_is_a_404(alice, cast):
    assert alice.get(url("sqs:queue", cast, "nope")).status_code == 404


def test_the_empty_list_invites_a_first_queue(alice, cast):
    response = alice.get(url("sqs:queues", cast))
    assert response.status_code == 200
    assert "No queues yet" in response.content.decode()


def test_it_creates_a_queue_with_a_dead_letter_queue(alice, cast):
    dlq = make_queue(cast, "orders-dlq")
    response = alice.post(
        url("sqs:queues", cast),
        {
            "name": "orders",
            "kind": "standard",
            "visibility_timeout": "45",
            "delay_seconds": "0",
            "retention_period": "3600",
            "dead_letter_queue": backend.queue_arn_of(dlq),
            "max_receive_count": "2",
        },
    )
    assert response.status_code == 302 and response["Location"] == url("sqs:queue", cast, "orders")
    queue = Queue.objects.get(name="orders")
    assert queue.attributes["VisibilityTimeout"] == "45"
    assert json.loads(queue.attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": backend.queue_arn_of(dlq),
        "maxReceiveCount": 2,
    }


@pytest.mark.parametrize(
    "data,field,text",
    [
        ({"name": "bad name!", "kind": "standard"}, "name", "Can only include alphanumeric"),
        ({"name": "jobs", "kind": "fifo"}, "name", "must end in .fifo"),
        ({"name": "jobs.fifo", "kind": "standard"}, "kind", "FIFO queues"),
        ({"name": "jobs", "kind": "standard", "visibility_timeout": "99999"}, "visibility_timeout", "less than"),
        ({"name": "jobs", "kind": "standard", "dead_letter_queue": "arn:aws:sqs:x:1:y"}, "dead_letter_queue", "valid"),
    ],
)
def test_bad_queue_settings_are_form_errors(alice, cast, data, field, text):
    payload = {"visibility_timeout": "30", "delay_seconds": "0", "retention_period": "345600", "max_receive_count": "3"}
    response = alice.post(url("sqs:queues", cast), payload | data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert text in " ".join(errors.get(field, []) + errors.get("__all__", []))
    assert not Queue.objects.filter(name="jobs").exists()


def test_the_list_shows_live_depth_and_polls_as_a_partial(alice, cast):
    queue = make_queue(cast)
    send(cast, queue, "one")
    send(cast, queue, "two", delay_seconds=60)
    response = alice.get(url("sqs:queues", cast), HTTP_HX_TARGET="queue-table", **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<div id="queue-table"')
    [row] = response.context["queues"]
    assert (row.depth.visible, row.depth.in_flight, row.depth.delayed) == (1, 0, 1)
    version = re.search(r"\?v=([0-9a-f]+)", body).group(1)
    again = alice.get(url("sqs:queues", cast) + f"?v={version}", HTTP_HX_TARGET="queue-table", **HTMX)
    assert again.status_code == 204  # unchanged: htmx leaves the table alone
    send(cast, queue, "three")
    changed = alice.get(url("sqs:queues", cast) + f"?v={version}", HTTP_HX_TARGET="queue-table", **HTMX)
    assert changed.status_code == 200 and changed.context["queues"][0].depth.visible == 2


def test_send_with_attributes_then_poll_and_delete(alice, cast):
    queue = make_queue(cast)
    response = alice.post(
        url("sqs:send", cast, "orders"),
        {
            "body": '{"order": 7}',
            "attr_name_1": "colour",
            "attr_type_1": "String",
            "attr_value_1": "red",
            "attr_name_2": "weight",
            "attr_type_2": "Number",
            "attr_value_2": "2.5",
        },
        **HTMX,
    )
    assert response.status_code == 200 and "Sent message" in response.content.decode()
    assert "sqs-depth-changed" in json.loads(response["HX-Trigger"])
    stored = Message.objects.get(queue=queue)
    assert stored.attributes == {
        "colour": {"DataType": "String", "StringValue": "red"},
        "weight": {"DataType": "Number", "StringValue": "2.5"},
    }

    response = alice.post(url("sqs:poll", cast, "orders"), {"max_messages": "10", "wait_seconds": "0"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "&quot;order&quot;: 7" in html and "colour" in html
    [(message_id, handle)] = polled(response)
    assert message_id == str(stored.message_id) and "Receive count" in html
    assert selectors.depth(queue).in_flight == 1

    response = alice.post(url("sqs:delete-messages", cast, "orders"), {"handles": [handle]}, **HTMX)
    assert response.status_code == 200
    assert f'id="msg-{message_id}" hx-swap-oob="delete"' in response.content.decode()
    assert not Message.objects.filter(queue=queue).exists()


def test_send_errors_stay_in_the_form(alice, cast):
    make_queue(cast, "jobs.fifo", FifoQueue="true")
    response = alice.post(url("sqs:send", cast, "jobs.fifo"), {"body": "hi"}, **HTMX)
    assert response.status_code == 400
    assert "group_id" in response.context["send_form"].errors
    response = alice.post(url("sqs:send", cast, "jobs.fifo"), {"body": "hi", "group_id": "g1"}, **HTMX)
    assert response.status_code == 400
    assert "ContentBasedDeduplication" in " ".join(response.context["send_form"].non_field_errors())
    response = alice.post(
        url("sqs:send", cast, "jobs.fifo"),
        {
            "body": "hi",
            "group_id": "g1",
            "dedup_id": "d1",
            "attr_name_1": "raw",
            "attr_type_1": "Binary",
            "attr_value_1": "not base64!",
        },
        **HTMX,
    )
    assert response.status_code == 400 and "base64" in " ".join(response.context["send_form"].errors["attr_value_1"])
    assert not Message.objects.exists()


def test_polling_an_empty_queue_says_so(alice, cast):
    make_queue(cast)
    response = alice.post(url("sqs:poll", cast, "orders"), {"max_messages": "10", "wait_seconds": "0"}, **HTMX)
    assert response.status_code == 200 and "No messages available" in response.content.decode()
    response = alice.post(url("sqs:poll", cast, "orders"), {"max_messages": "11", "wait_seconds": "0"}, **HTMX)
    assert response.status_code == 400


def test_polling_keeps_asking_until_a_message_comes_or_the_wait_ends(alice, cast):
    queue = make_queue(cast)
    response = alice.post(url("sqs:poll", cast, "orders"), {"max_messages": "10", "wait_seconds": "5"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "Polling… no messages yet, 5 s left" in html
    assert 'hx-trigger="submit, load delay:1s"' in html
    until = re.search(r'name="until_ms" value="(\d+)"', html).group(1)

    send(cast, queue, "arrived while waiting")
    again = {"max_messages": "10", "wait_seconds": "5", "until_ms": until}
    html = alice.post(url("sqs:poll", cast, "orders"), again, **HTMX).content.decode()
    assert "arrived while waiting" in html and "load delay" not in html

    over = again | {"until_ms": str(backend.now_ms() - 1)}
    html = alice.post(url("sqs:poll", cast, "orders"), over, **HTMX).content.decode()
    assert "No messages available" in html and "load delay" not in html
    stopped = alice.post(url("sqs:poll", cast, "orders"), again | {"stop": "1"}, **HTMX).content.decode()
    assert "No messages available" in stopped and "load delay" not in stopped


def test_a_stale_receipt_handle_is_reported_not_a_500(alice, cast):
    queue = make_queue(cast, VisibilityTimeout="0")
    send(cast, queue, "hello")
    once = {"max_messages": "1", "wait_seconds": "0"}
    [(_, first)] = polled(alice.post(url("sqs:poll", cast, "orders"), once, **HTMX))
    alice.post(url("sqs:poll", cast, "orders"), once, **HTMX)  # received again: the first handle is stale
    response = alice.post(url("sqs:delete-messages", cast, "orders"), {"handles": [first]}, **HTMX)
    assert response.status_code == 200 and "not a valid receipt handle" in response.content.decode()
    assert Message.objects.filter(queue=queue).count() == 1
    response = alice.post(url("sqs:delete-messages", cast, "orders"), {}, **HTMX)
    assert response.status_code == 400 and "Tick the messages" in response.content.decode()


def test_the_depth_panel_records_samples_only_when_the_depth_changes(alice, cast):
    queue = make_queue(cast)
    response = alice.get(url("sqs:depth", cast, "orders"), **HTMX)
    assert response.status_code == 200 and 'id="depth-figure"' in response.content.decode()
    alice.get(url("sqs:depth", cast, "orders"), **HTMX)
    assert DepthSample.objects.filter(queue=queue).count() == 1
    send(cast, queue, "hello")
    response = alice.get(url("sqs:depth", cast, "orders"), **HTMX)
    assert DepthSample.objects.filter(queue=queue).count() == 2
    script = re.search(r'<script id="depth-figure" type="application/json">(.*?)</script>', response.content.decode())
    figure = json.loads(script.group(1))
    assert [trace["name"] for trace in figure["data"]] == ["Delayed", "In flight", "Visible"]
    assert figure["data"][2]["y"] == [0, 1, 1]  # two samples, the last carried on to now


def test_purge_asks_first_then_empties_the_queue(alice, cast):
    queue = make_queue(cast)
    send(cast, queue, "a")
    response = alice.get(url("sqs:purge", cast, "orders"))
    assert response.status_code == 200 and "cannot be undone" in response.content.decode()
    assert Message.objects.count() == 1
    response = alice.post(url("sqs:purge", cast, "orders"))
    assert response.status_code == 302 and not Message.objects.exists()
    assert Queue.objects.filter(pk=queue.pk).exists()


def test_the_dead_letter_queue_page_redrives_its_messages_back(alice, cast):
    dlq = make_queue(cast, "orders-dlq")
    make_queue(
        cast,
        "orders",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": backend.queue_arn_of(dlq), "maxReceiveCount": 1}),
    )
    send(cast, dlq, "failed order")
    page = alice.get(url("sqs:queue", cast, "orders-dlq")).content.decode()
    assert "This is the dead-letter queue of" in page and "Redrive 1 message to orders" in page
    response = alice.post(url("sqs:redrive", cast, "orders-dlq"), follow=True)
    assert "1 message(s) moved back" in response.content.decode()
    assert Message.objects.get().queue.name == "orders"


def test_redriving_a_queue_that_is_no_dlq_is_a_message_not_a_500(alice, cast):
    make_queue(cast)
    response = alice.post(url("sqs:redrive", cast, "orders"), follow=True)
    assert response.status_code == 200 and "Redrive failed" in response.content.decode()


def test_delete_queue(alice, cast):
    make_queue(cast)
    response = alice.post(url("sqs:delete", cast, "orders"))
    assert response.status_code == 302 and not Queue.objects.exists()


def test_settings_start_from_the_queue_and_save_or_clear_its_redrive_policy(alice, cast):
    dlq = make_queue(cast, "orders-dlq")
    make_queue(cast, VisibilityTimeout="45")
    page = alice.get(url("sqs:settings", cast, "orders"))
    assert page.status_code == 200 and page.context["form"].initial["visibility_timeout"] == "45"
    assert [c[1] for c in page.context["form"].fields["dead_letter_queue"].choices] == ["None", "orders-dlq"]
    data = {
        "visibility_timeout": "60",
        "delay_seconds": "5",
        "retention_period": "600",
        "dead_letter_queue": backend.queue_arn_of(dlq),
        "max_receive_count": "4",
    }
    assert alice.post(url("sqs:settings", cast, "orders"), data).status_code == 302
    queue = Queue.objects.get(name="orders")
    assert queue.attributes["VisibilityTimeout"] == "60" and queue.attributes["DelaySeconds"] == "5"
    assert json.loads(queue.attributes["RedrivePolicy"])["maxReceiveCount"] == 4
    assert alice.post(url("sqs:settings", cast, "orders"), data | {"dead_letter_queue": ""}).status_code == 302
    assert "RedrivePolicy" not in backend.effective_attributes(Queue.objects.get(name="orders"))
    response = alice.post(url("sqs:settings", cast, "orders"), data | {"retention_period": "10"})
    assert response.status_code == 400 and "retention_period" in response.context["form"].errors


def test_a_huge_body_is_shown_cut(alice, cast):
    queue = make_queue(cast)
    send(cast, queue, "x" * (selectors.BODY_PREVIEW_CHARS + 10))
    html = alice.post(url("sqs:poll", cast, "orders"), {"max_messages": "1", "wait_seconds": "0"}, **HTMX).content
    assert b"Showing the first 64 KB" in html and b"x" * (selectors.BODY_PREVIEW_CHARS + 1) not in html


@pytest.mark.parametrize(
    "name,data,text",
    [
        ("sqs:send", {"body": "bad \x00 byte"}, "Null characters are not allowed"),
        ("sqs:send", {"body": "bad \x01 byte"}, "InvalidMessageContents"),
        ("sqs:send", {"body": "x", "delay_seconds": "901"}, "less than or equal to 900"),
        ("sqs:send", {"body": "x", "attr_name_1": ".starts-with-dot", "attr_value_1": "v"}, "InvalidParameterValue"),
        ("sqs:send", {"body": "x", "attr_value_1": "no name"}, "Give the attribute a name"),
        ("sqs:poll", {"max_messages": "0", "wait_seconds": "0"}, "greater than or equal to 1"),
        ("sqs:poll", {"max_messages": "1", "wait_seconds": "21"}, "less than or equal to 20"),
        ("sqs:delete-messages", {"handles": [f"h{i}" for i in range(11)]}, "at most 10"),
    ],
)
def test_bad_message_input_is_a_form_error_never_a_500(alice, cast, name, data, text):
    make_queue(cast)
    response = alice.post(url(name, cast, "orders"), data, **HTMX)
    assert response.status_code == 400
    assert text in response.content.decode()
    assert not Message.objects.exists()
