"""The SQS and SNS consoles in headless Chromium against the live lab (uvicorn + a Celery worker):
a queue and a topic made by hand, fan-out with a filter policy, poll and delete, the filter tester,
and an email subscription confirmed from the inbox. Screenshots of each page go to pytest's tmp_path
(or to the folder in LAB_SCREENSHOTS, to look at them after the run)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from serverless_lab.cloud.sqs.models import Message
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def shot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_fan_out_from_a_topic_to_a_queue_poll_delete_and_explain_a_filter(live_lab, page, cast, tmp_path):
    tmp_path = Path(os.environ.get("LAB_SCREENSHOTS") or tmp_path)
    tmp_path.mkdir(parents=True, exist_ok=True)
    page.goto(f"{live_lab.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # A queue, made in the SQS console.
    page.goto(f"{live_lab.url}/sandboxes/{cast.sandbox.pk}/")
    page.get_by_role("link", name="SQS queues").click()
    expect(page.get_by_text("No queues yet")).to_be_visible()
    shot(page, tmp_path, "sqs-empty")
    page.get_by_label("Queue name").fill("orders")
    page.get_by_label("FIFO: exactly-once, ordered").check()
    page.get_by_role("button", name="Create queue").click()
    expect(page.locator("#id_name_error")).to_contain_text("must end in .fifo")
    page.get_by_label("Standard: at-least-once, best-effort order").check()
    page.get_by_role("button", name="Create queue").click()
    expect(page.get_by_role("heading", name="orders", level=1)).to_be_visible()
    queue_arn = page.locator("#queue-arn").inner_text()

    # Polling an empty queue keeps asking; a message sent by boto3 meanwhile shows up.
    page.wait_for_load_state("domcontentloaded")  # htmx (deferred) is ready: the poll is an htmx request
    page.get_by_label("Keep polling for").fill("20")
    page.get_by_role("button", name="Poll for messages").click()
    expect(page.get_by_text("Polling… no messages yet")).to_be_visible()
    shot(page, tmp_path, "sqs-polling")
    sqs = live_lab.client("sqs", cast.sandbox)
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="orders")["QueueUrl"], MessageBody="sent by boto3")
    expect(page.locator("#poll-panel .sqs-message .sqs-body")).to_have_text("sent by boto3")
    page.get_by_role("button", name="Delete selected").click()
    expect(page.locator("#poll-panel .sqs-message")).to_have_count(0)

    # A topic with the queue subscribed through a filter policy, and an email subscription.
    page.goto(f"{live_lab.url}/sandboxes/{cast.sandbox.pk}/")
    page.get_by_role("link", name="SNS topics").click()
    expect(page.get_by_text("No topics yet")).to_be_visible()
    page.get_by_label("Topic name").fill("order-events")
    page.get_by_role("button", name="Create topic").click()
    expect(page.get_by_role("heading", name="order-events", level=1)).to_be_visible()
    page.get_by_label("Protocol", exact=True).select_option("sqs")
    page.get_by_label("Endpoint", exact=True).fill(queue_arn)
    page.get_by_label("Filter policy").fill('{"color": ["red"]}')
    page.get_by_role("button", name="Subscribe", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Subscribed")).to_be_visible()
    page.get_by_label("Protocol", exact=True).select_option("email")
    page.get_by_label("Endpoint", exact=True).fill("alice@example.com")
    page.get_by_role("button", name="Subscribe", exact=True).click()
    expect(page.get_by_text("Pending confirmation")).to_be_visible()

    # Publish with attributes: the red message passes the filter, the blue one does not.
    for colour in ("blue", "red"):
        page.get_by_label("Message", exact=True).fill(f"a {colour} order")
        page.get_by_label("Attribute 1 name").fill("color")
        page.get_by_label("Attribute 1 value").fill(colour)
        page.get_by_role("button", name="Publish message").click()
        expect(page.get_by_label("Message", exact=True)).to_have_value("")  # a fresh form: this one was published
        expect(page.locator("#publish-panel").get_by_role("status")).to_contain_text("Published message")
    shot(page, tmp_path, "sns-topic")

    # The queue page's live depth sees the delivery; poll receives it, delete removes it.
    page.goto(f"{live_lab.url}/sandboxes/{cast.sandbox.pk}/sqs/queues/orders/")
    expect(page.locator(".sqs-stat-visible dd")).to_have_text("1", timeout=30_000)
    page.get_by_label("Keep polling for").fill("0")
    page.get_by_role("button", name="Poll for messages").click()
    received = page.locator("#poll-panel .sqs-message")
    expect(received).to_have_count(1)
    expect(received.locator(".sqs-body")).to_contain_text('"Message": "a red order"')
    expect(received.locator(".sqs-body")).to_contain_text('"Value": "red"')
    expect(received).to_contain_text("Receive count")
    expect(page.locator(".sqs-stat-flight dd")).to_have_text("1")
    page.wait_for_function("document.querySelector('#depth-chart .main-svg') !== null")
    shot(page, tmp_path, "sqs-queue-polled")
    page.get_by_role("button", name="Delete selected").click()
    expect(page.locator("#delete-status")).to_have_text("1 message deleted.")
    expect(received).to_have_count(0)
    expect(page.locator(".sqs-stat-flight dd")).to_have_text("0")
    assert not Message.objects.filter(queue__name="orders").exists()

    # The filter tester explains why the blue message was filtered out.
    page.goto(f"{live_lab.url}/sandboxes/{cast.sandbox.pk}/sns/topics/order-events/")
    page.get_by_role("link", name="Test the filter").click()
    expect(page.get_by_label("Filter policy", exact=True)).to_have_value(json.dumps({"color": ["red"]}, indent=2))
    page.get_by_label("Attribute 1 name").fill("color")
    page.get_by_label("Attribute 1 value").fill("blue")
    page.get_by_role("button", name="Explain").click()
    expect(page.locator("#verdict")).to_contain_text("Filtered out")
    expect(page.locator(".sns-step")).to_contain_text('"blue" is not "red"')
    shot(page, tmp_path, "sns-filter-tester")

    # The email subscription's confirmation waits in the inbox; confirming it makes it deliverable.
    page.goto(f"{live_lab.url}/sandboxes/{cast.sandbox.pk}/sns/inbox/")
    expect(page.get_by_text("Confirm the subscription", exact=True)).to_be_visible()
    shot(page, tmp_path, "sns-inbox")
    page.get_by_role("button", name="Confirm subscription").click()
    expect(page.get_by_role("status").filter(has_text="Subscription confirmed")).to_be_visible()

    page.goto(f"{live_lab.url}/sandboxes/{cast.sandbox.pk}/sns/topics/order-events/")
    page.get_by_role("link", name=f"Edit the subscription of {queue_arn}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit subscription")
    expect(page.get_by_label("Raw message delivery")).not_to_be_checked()
    shot(page, tmp_path, "sns-subscription-edit")

    # A dead-letter queue made with boto3: its console page redrives the messages back.
    dlq_url = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.create_queue(
        QueueName="payments",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})},
    )
    sqs.send_message(QueueUrl=dlq_url, MessageBody="a payment that kept failing")
    page.goto(f"{live_lab.url}/sandboxes/{cast.sandbox.pk}/sqs/queues/orders-dlq/")
    expect(page.get_by_text("This is the dead-letter queue of")).to_be_visible()
    shot(page, tmp_path, "sqs-dlq")
    page.get_by_role("button", name="Redrive 1 message to payments").click()
    expect(page.get_by_role("status").filter(has_text="1 message(s) moved back")).to_be_visible()
    assert Message.objects.get().queue.name == "payments"

    # A FIFO queue's send form asks for a group id; the message shows its group and sequence number.
    sqs.create_queue(QueueName="jobs.fifo", Attributes={"FifoQueue": "true"})
    page.goto(f"{live_lab.url}/sandboxes/{cast.sandbox.pk}/sqs/queues/jobs.fifo/")
    page.wait_for_load_state("domcontentloaded")
    page.get_by_label("Message body").fill('{"job": 1}')
    page.get_by_role("button", name="Send message").click()  # the browser holds it back: the group id is required
    assert page.get_by_label("Message group ID").evaluate("input => input.validity.valueMissing")
    page.get_by_label("Message group ID").fill("reports")
    page.get_by_label("Deduplication ID").fill("job-1")
    page.get_by_role("button", name="Send message").click()
    expect(page.locator("#send-panel").get_by_role("status")).to_contain_text("sequence number")
    page.get_by_label("Keep polling for").fill("0")
    page.get_by_role("button", name="Poll for messages").click()
    expect(page.locator("#poll-panel .sqs-message")).to_contain_text("reports")
    shot(page, tmp_path, "sqs-fifo")

    for name, path in [
        ("sqs-settings", "sqs/queues/payments/settings/"),
        ("sqs-list", "sqs/"),
        ("sqs-purge", "sqs/queues/orders/purge/"),
        ("sns-list", "sns/"),
        ("sns-topic-delete", "sns/topics/order-events/delete/"),
    ]:
        page.goto(f"{live_lab.url}/sandboxes/{cast.sandbox.pk}/{path}")
        shot(page, tmp_path, name)
    print(f"screenshots in {tmp_path}")
