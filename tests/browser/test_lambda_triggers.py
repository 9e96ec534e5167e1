"""The Lambda console's Triggers tab in headless Chromium against the live lab (uvicorn + a real
Celery worker): add an SQS trigger, watch the pollers drain the queue and the monitoring count the
batches, disable it and see a message stay, enable it again, delete it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from serverless_lab.cloud.esm.models import Batch, EventSourceMapping
from serverless_lab.cloud.lambda_.models import Invocation
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _stop_pollers(live_lab) -> Iterator[None]:
    """Remove the mappings and let invocations in flight end before the database is flushed."""
    yield
    EventSourceMapping.objects.all().delete()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and Invocation.objects.filter(status__in=["queued", "running"]).exists():
        time.sleep(0.1)


def _depth(sqs, url: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _consumed_records(mapping: EventSourceMapping) -> int:
    return sum(len(batch.items) for batch in Batch.objects.filter(mapping=mapping, outcome="ok"))


def test_add_an_sqs_trigger_drain_the_queue_disable_it_and_delete_it(live_lab, page, cast):
    sqs = live_lab.client("sqs", cast.sandbox)
    queue_url = sqs.create_queue(QueueName="orders")["QueueUrl"]

    page.goto(f"{live_lab.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_lab.url}/sandboxes/{cast.sandbox.pk}/lambda/")
    page.get_by_label("Function name").fill("orders-worker")
    page.get_by_label("Blueprint").select_option("sqs-consumer-python")
    page.get_by_role("button", name="Create function").click()
    expect(page.get_by_role("heading", name="orders-worker", level=1)).to_be_visible()

    page.get_by_role("link", name="Triggers").click()
    expect(page.get_by_text("No event source mappings yet")).to_be_visible()
    expect(page.get_by_text("No S3 bucket notifications or SNS subscriptions invoke orders-worker")).to_be_visible()

    # Lambda's own rule, at the field it is about: more than 10 SQS records need a batching window.
    page.get_by_label("Source", exact=True).select_option(label="orders (visibility timeout 30 s)")
    page.get_by_label("Batch size").fill("20")
    page.get_by_role("button", name="Add trigger").click()
    expect(page.locator("#id_batching_window_s_error")).to_contain_text(
        "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"
    )
    assert not EventSourceMapping.objects.exists()
    page.get_by_label("Batch size").fill("5")
    page.get_by_label("Report batch item failures").check()
    page.get_by_role("button", name="Add trigger").click()
    expect(page.get_by_text("Trigger added (enabled)")).to_be_visible()
    row = page.locator("#trigger-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("orders")
    expect(row).to_contain_text("ReportBatchItemFailures")
    expect(row.locator(".badge")).to_have_text("Enabled")
    mapping = EventSourceMapping.objects.get()
    assert (mapping.batch_size, mapping.function_response_types) == (5, ["ReportBatchItemFailures"])

    # Twelve messages: the pollers take them in batches of at most five and delete what succeeded.
    sqs.send_message_batch(
        QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": f'{{"order": {i}}}'} for i in range(10)]
    )
    sqs.send_message(QueueUrl=queue_url, MessageBody="order 10")
    sqs.send_message(QueueUrl=queue_url, MessageBody="order 11")
    page.get_by_role("link", name="orders", exact=True).click()  # the source links to the SQS console
    expect(page.locator(".sqs-stat-visible dd")).to_have_text("0", timeout=90_000)
    expect(page.locator(".sqs-stat-flight dd")).to_have_text("0", timeout=90_000)
    assert _consumed_records(mapping) == 12
    assert all(len(batch.items) <= 5 for batch in Batch.objects.filter(mapping=mapping))

    # Monitoring tells the mapping's invocations apart from direct invokes.
    page.goto(f"{live_lab.url}/sandboxes/{cast.sandbox.pk}/lambda/functions/orders-worker/monitoring/")
    expect(page.locator("#chart-sources .main-svg").first).to_be_visible()
    expect(page.locator("#chart-sources")).to_contain_text("Event source mappings")
    batches = Batch.objects.filter(mapping=mapping).count()
    expect(page.locator(".lambda-stats > div", has_text="From triggers").locator("dd")).to_contain_text(
        re.compile(rf"^{batches}\b")
    )

    # Disabled, the trigger reads nothing: a message sent now stays in the queue.
    page.get_by_role("link", name="Triggers").click()
    expect(row.locator(".lambda-trigger-result")).to_have_text("OK")
    page.get_by_role("button", name="Disable the trigger from orders").click()
    expect(page.locator("#trigger-table [role=status]")).to_contain_text("Trigger from orders disabled")
    expect(row.locator(".badge")).to_have_text("Disabled")
    mapping.refresh_from_db()
    assert not mapping.enabled
    sqs.send_message(QueueUrl=queue_url, MessageBody="order 12, while disabled")
    # Past the few seconds a process trusts its cached list of enabled mappings, nothing took it.
    page.wait_for_timeout(6_000)
    assert _depth(sqs, queue_url) == (1, 0)
    assert _consumed_records(mapping) == 12

    # Enabled again, the poller picks it up.
    page.get_by_role("button", name="Enable the trigger from orders").click()
    expect(row.locator(".badge")).to_have_text("Enabled")
    page.get_by_role("link", name="orders", exact=True).click()
    expect(page.locator(".sqs-stat-visible dd")).to_have_text("0", timeout=90_000)
    expect(page.locator(".sqs-stat-flight dd")).to_have_text("0", timeout=90_000)
    assert _consumed_records(mapping) == 13

    # Delete, after a confirmation page.
    page.go_back()
    page.get_by_role("link", name="Delete the trigger from orders…").click()
    expect(page.get_by_role("heading", name="Delete the trigger from orders?")).to_be_visible()
    page.get_by_role("button", name="Delete trigger").click()
    expect(page.get_by_text("Trigger deleted")).to_be_visible()
    expect(page.get_by_text("No event source mappings yet")).to_be_visible()
    assert not EventSourceMapping.objects.exists()
