"""A batch whose invocation never reports back (its worker died) is settled by the watchdog, and its
SQS messages are not lost: they return after their visibility timeout and are delivered again.

Runs the pollers in this process against the database and Redis. The test's outer transaction holds
back the after-commit callbacks, so the invocation is never queued: exactly what a worker killed
after taking the batch leaves behind.
"""

from __future__ import annotations

import pytest

from serverless_lab.cloud.esm import backend, pollers
from serverless_lab.cloud.esm.models import Batch
from serverless_lab.cloud.lambda_ import backend as lambda_backend
from serverless_lab.cloud.lambda_ import coordination
from serverless_lab.cloud.sqs import backend as sqs
from serverless_lab.cloud.sqs.models import Message

from .conftest import ROLE, make_zip, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_a_lost_invocation_is_settled_and_its_messages_come_back(cast):
    sandbox = cast.sandbox
    queue = sqs.create_queue(sandbox=sandbox, name="work", attributes={"VisibilityTimeout": "1"}, tags={})
    function = lambda_backend.create_function(
        sandbox=sandbox, name="worker", runtime="python3.11", role=ROLE, handler="app.handler",
        zip_bytes=make_zip("def handler(event, context):\n    return None\n"), timeout_s=1,
    )
    mapping = backend.create_event_source_mapping(
        sandbox=sandbox, function_name="worker", event_source_arn=sqs.queue_arn_of(queue), params={}
    )
    sqs.send_message(sandbox=sandbox, queue_url=sqs.queue_url(queue), message=sqs.Outgoing(body="precious"))

    pollers.poll(mapping.pk)
    first = Batch.objects.get()
    assert first.invocation.status == "running" and first.finished_at is None
    message = Message.objects.get()
    assert message.receive_count == 1 and [first.items[0][0]] == [str(message.message_id)]

    pollers.poll(mapping.pk)  # one batch in flight per mapping: this poll takes nothing
    assert Batch.objects.count() == 1

    pollers.complete(first.pk)  # not finished, deadline not reached: the watchdog leaves it
    first.refresh_from_db()
    assert first.finished_at is None

    Batch.objects.filter(pk=first.pk).update(deadline_ms=0)  # the watchdog's time has come
    pollers.complete(first.pk)
    first.refresh_from_db()
    assert first.outcome == "failed" and "did not finish in time" in first.error
    assert first.invocation.status == "error"  # not left "queued" for the monitoring charts
    assert Message.objects.filter(body="precious").exists()  # not deleted: it will be delivered again

    def second_batch() -> Batch | None:
        pollers.poll(mapping.pk)
        return Batch.objects.exclude(pk=first.pk).first()

    again = wait_until(second_batch, "the message to return after its visibility timeout", timeout=15)
    assert again.items[0][0] == first.items[0][0] and again.items[0][2] == 2
    for batch in (first, again):
        coordination.release_lease(sandbox_id=sandbox.pk, function_id=function.pk, lease_id=batch.request_id)


def test_stream_records_older_than_the_maximum_age_are_skipped(cast):
    from datetime import timedelta

    from django.utils import timezone

    from serverless_lab.cloud.dynamodb import backend as dynamodb
    from serverless_lab.cloud.dynamodb.models import StreamRecord

    sandbox = cast.sandbox
    table = dynamodb.create_table(
        sandbox=sandbox, name="events", key_schema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        attribute_definitions=[{"AttributeName": "pk", "AttributeType": "S"}], billing_mode="PAY_PER_REQUEST",
        stream_specification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )
    function = lambda_backend.create_function(
        sandbox=sandbox, name="worker", runtime="python3.11", role=ROLE, handler="app.handler",
        zip_bytes=make_zip("def handler(event, context):\n    return None\n"),
    )
    for key in ("old", "new"):
        dynamodb.put_item(sandbox=sandbox, table_name="events", item={"pk": {"S": key}})
    StreamRecord.objects.filter(pk=StreamRecord.objects.order_by("pk").first().pk).update(
        created_at=timezone.now() - timedelta(minutes=2)  # written two minutes ago
    )
    mapping = backend.create_event_source_mapping(
        sandbox=sandbox, function_name="worker", event_source_arn=dynamodb.stream_arn(table),
        params={"StartingPosition": "TRIM_HORIZON", "MaximumRecordAgeInSeconds": 60},
    )
    pollers.poll(mapping.pk)
    batch = Batch.objects.get()
    assert len(batch.items) == 1
    payload = batch.invocation.request_preview
    assert '"Keys":{"pk":{"S":"new"}}' in payload and '"old"' not in payload
    coordination.release_lease(sandbox_id=sandbox.pk, function_id=function.pk, lease_id=batch.request_id)
