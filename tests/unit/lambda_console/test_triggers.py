"""The Lambda console's Triggers tab through the Django test client: event source mappings listed,
created (Lambda's own validation messages in the form), enabled and disabled, deleted; the S3 and SNS
invokers shown; and the monitoring split of invocations by source."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from serverless_lab.cloud.dynamodb import backend as dynamodb
from serverless_lab.cloud.esm import backend as esm_backend
from serverless_lab.cloud.esm.models import Batch, EventSourceMapping
from serverless_lab.cloud.lambda_ import code, console, selectors
from serverless_lab.cloud.lambda_.models import Function, Invocation
from serverless_lab.cloud.s3 import backend as s3
from serverless_lab.cloud.sns import backend as sns
from serverless_lab.cloud.sqs import backend as sqs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = str(tmp_path)
    code.code_storage.cache_clear()
    yield
    code.code_storage.cache_clear()


@pytest.fixture
def alice(client: Any, cast: Any) -> Any:
    client.force_login(cast.alice)
    return client


@pytest.fixture
def function(cast: Any) -> Function:
    return console.function_create_from_blueprint(
        sandbox=cast.sandbox, name="worker", blueprint_key="sqs-consumer-python"
    )


def url(name: str, cast: Any, *args: str) -> str:
    return reverse(f"lambda:{name}", args=[cast.sandbox.pk, *args])


def queue(cast: Any, name: str = "orders", **attributes: str) -> str:
    """A queue of the sandbox; its ARN."""
    return sqs.queue_arn_of(sqs.create_queue(sandbox=cast.sandbox, name=name, attributes=attributes, tags={}))


def stream(cast: Any, name: str = "events") -> str:
    """A table with a stream; the stream's ARN."""
    table = dynamodb.create_table(
        sandbox=cast.sandbox,
        name=name,
        key_schema=[{"AttributeName": "id", "KeyType": "HASH"}],
        attribute_definitions=[{"AttributeName": "id", "AttributeType": "S"}],
        billing_mode="PAY_PER_REQUEST",
        stream_specification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    return dynamodb.stream_arn(table)


def mapping(cast: Any, function: Function, arn: str, **params: Any) -> EventSourceMapping:
    return esm_backend.create_event_source_mapping(
        sandbox=cast.sandbox, function_name=function.name, event_source_arn=arn, params=params
    )


def test_the_tab_shows_empty_states_that_say_how_to_get_a_source(alice, cast, function):
    page = alice.get(url("triggers", cast, "worker")).content.decode()
    assert "No event source mappings yet" in page
    assert "Nothing to read from yet." in page
    assert reverse("sqs:queues", args=[cast.sandbox.pk]) in page
    assert "No S3 bucket notifications or SNS subscriptions invoke worker" in page
    assert 'aria-current="page">Triggers</a>' in page


def test_it_lists_mappings_with_their_settings_and_source_links(alice, cast, function):
    mapping(cast, function, queue(cast), BatchSize=5, FunctionResponseTypes=["ReportBatchItemFailures"])
    mapping(cast, function, stream(cast), StartingPosition="TRIM_HORIZON", Enabled=False)
    response = alice.get(url("triggers", cast, "worker"))
    page = response.content.decode()
    assert response.status_code == 200
    assert f'href="{reverse("sqs:queue", args=[cast.sandbox.pk, "orders"])}">orders</a>' in page
    assert f'href="{reverse("dynamodb:table", args=[cast.sandbox.pk, "events"])}">events</a>' in page
    assert "SQS queue" in page and "DynamoDB stream" in page
    assert "ReportBatchItemFailures" in page and "TRIM_HORIZON" in page
    assert page.count('class="badge badge-success">Enabled') == 1
    assert page.count('class="badge badge-warning">Disabled') == 1
    assert "No records processed" in page
    rows = selectors.triggers(sandbox=cast.sandbox, function=function).mappings
    assert [(r.kind, r.batch_size, r.enabled, r.report_failures) for r in rows] == [
        ("sqs", 5, True, True),
        ("dynamodb", 100, False, False),
    ]


def test_the_form_offers_queues_and_tables_with_a_stream(alice, cast, function):
    queue(cast, "mine", VisibilityTimeout="60")
    stream(cast, "with-stream")
    dynamodb.create_table(
        sandbox=cast.sandbox,
        name="no-stream",
        key_schema=[{"AttributeName": "id", "KeyType": "HASH"}],
        attribute_definitions=[{"AttributeName": "id", "AttributeType": "S"}],
        billing_mode="PAY_PER_REQUEST",
    )
    page = alice.get(url("triggers", cast, "worker")).content.decode()
    assert "mine (visibility timeout 60 s)" in page
    assert "with-stream stream (NEW_IMAGE)" in page
    assert "no-stream" not in page.split('id="id_source"')[1].split("</select>")[0]


def test_it_creates_an_sqs_trigger_through_the_backend(alice, cast, function):
    arn = queue(cast)
    response = alice.post(
        url("triggers", cast, "worker"),
        {
            "source": arn,
            "batch_size": "20",
            "batching_window_s": "2",
            "report_batch_item_failures": "on",
            "enabled": "on",
        },
    )
    assert response.status_code == 302 and response["Location"] == url("triggers", cast, "worker")
    created = EventSourceMapping.objects.get(function=function)
    assert (created.event_source_arn, created.batch_size, created.batching_window_s) == (arn, 20, 2)
    assert created.enabled
    assert created.function_response_types == ["ReportBatchItemFailures"]
    page = alice.get(response["Location"]).content.decode()
    assert "Trigger added (enabled)" in page


def test_it_creates_a_disabled_stream_trigger(alice, cast, function):
    arn = stream(cast)
    response = alice.post(url("triggers", cast, "worker"), {"source": arn, "starting_position": "LATEST"})
    assert response.status_code == 302
    created = EventSourceMapping.objects.get(function=function)
    assert (created.kind, created.starting_position, created.batch_size) == ("dynamodb", "LATEST", 100)
    assert not created.enabled


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"batch_size": "11"}, "batching_window_s", "Maximum batch window in seconds must be greater than 0"),
        ({"batch_size": "0"}, "batch_size", "Member must have value greater than or equal to 1"),
        ({"batch_size": "10001", "batching_window_s": "1"}, "batch_size", "less than or equal to 10000"),
        ({"batching_window_s": "301"}, "batching_window_s", "less than or equal to 300"),
        ({"starting_position": "LATEST"}, "starting_position", "Unsupported StartingPosition parameter"),
        ({"batch_size": "many"}, "batch_size", "Enter a whole number."),
    ],
)
def test_sqs_settings_lambda_refuses_are_errors_at_their_field(alice, cast, function, fields, field, message):
    response = alice.post(url("triggers", cast, "worker"), {"source": queue(cast), "enabled": "on", **fields})
    assert response.status_code == 400
    page = response.content.decode()
    error = page.split(f'id="id_{field}_error"')[1].split("</div>")[0]
    assert message in error
    assert not EventSourceMapping.objects.exists()


def test_a_stream_without_a_starting_position_is_lambdas_error(alice, cast, function):
    response = alice.post(url("triggers", cast, "worker"), {"source": stream(cast)})
    assert response.status_code == 400
    assert "StartingPosition is required for DynamoDB Streams event sources." in response.content.decode()


def test_a_visibility_timeout_shorter_than_the_function_timeout_is_refused(alice, cast, function):
    Function.objects.filter(pk=function.pk).update(timeout_s=60)
    response = alice.post(url("triggers", cast, "worker"), {"source": queue(cast, VisibilityTimeout="30")})
    assert response.status_code == 400
    error = response.content.decode().split('id="id_source_error"')[1]
    assert "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds" in error


def test_a_second_trigger_from_the_same_queue_is_a_conflict(alice, cast, function):
    arn = queue(cast)
    existing = mapping(cast, function, arn)
    response = alice.post(url("triggers", cast, "worker"), {"source": arn, "enabled": "on"})
    assert response.status_code == 400
    assert f"Please update or delete the existing mapping with UUID {existing.uuid}" in response.content.decode()
    assert EventSourceMapping.objects.count() == 1


def test_a_source_not_offered_is_a_form_error(alice, cast, function):
    queue(cast)
    other = "arn:aws:sqs:us-east-1:000000000000:not-mine"
    response = alice.post(url("triggers", cast, "worker"), {"source": other})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_toggle_disables_and_enables_through_the_backend(alice, cast, function):
    created = mapping(cast, function, queue(cast))
    toggle = url("trigger-toggle", cast, "worker", str(created.uuid))
    response = alice.post(toggle, {"enabled": "false"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'id="trigger-table"' in response.content.decode() and "<html" not in response.content.decode()
    assert "Trigger from orders disabled" in response.content.decode()
    created.refresh_from_db()
    assert not created.enabled
    response = alice.post(toggle, {"enabled": "true"})
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.enabled


def test_toggle_without_a_choice_changes_nothing(alice, cast, function):
    created = mapping(cast, function, queue(cast))
    response = alice.post(url("trigger-toggle", cast, "worker", str(created.uuid)), {}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Choose to enable or disable the trigger." in response.content.decode().split('role="alert"')[1]
    created.refresh_from_db()
    assert created.enabled


def test_toggling_a_trigger_whose_queue_is_gone_shows_lambdas_error(alice, cast, function):
    created = mapping(cast, function, queue(cast))
    created.refresh_from_db()
    orders = sqs.find_queue_by_arn(sandbox=cast.sandbox, arn=created.event_source_arn)
    sqs.delete_queue(sandbox=cast.sandbox, queue_url=sqs.queue_url(orders))
    toggle = url("trigger-toggle", cast, "worker", str(created.uuid))
    response = alice.post(toggle, {"enabled": "false"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'role="alert"' in page and "The specified queue does not exist" in page
    assert "orders <span class=\"muted\">(deleted)</span>" in page
    assert EventSourceMapping.objects.get(pk=created.pk).enabled
    response = alice.post(toggle, {"enabled": "false"}, follow=True)
    assert "The specified queue does not exist" in response.content.decode()


def test_delete_asks_for_confirmation_then_deletes(alice, cast, function):
    created = mapping(cast, function, queue(cast))
    delete = url("trigger-delete", cast, "worker", str(created.uuid))
    page = alice.get(delete).content.decode()
    assert "Delete the trigger from orders?" in page and created.event_source_arn in page
    assert EventSourceMapping.objects.filter(pk=created.pk).exists()
    response = alice.post(delete)
    assert response.status_code == 302 and response["Location"] == url("triggers", cast, "worker")
    assert not EventSourceMapping.objects.filter(pk=created.pk).exists()


def test_other_users_get_404_and_change_nothing(client, cast, function):
    created = mapping(cast, function, queue(cast))
    client.force_login(cast.charlie)
    uid = str(created.uuid)
    assert client.get(url("triggers", cast, "worker")).status_code == 404
    assert client.post(url("triggers", cast, "worker"), {"source": created.event_source_arn}).status_code == 404
    assert client.post(url("trigger-toggle", cast, "worker", uid), {"enabled": "false"}).status_code == 404
    assert client.get(url("trigger-delete", cast, "worker", uid)).status_code == 404
    assert client.post(url("trigger-delete", cast, "worker", uid)).status_code == 404
    created.refresh_from_db()
    assert created.enabled


def test_a_mapping_of_another_function_or_an_unknown_uuid_is_a_404(alice, cast, function):
    other = console.function_create_from_blueprint(
        sandbox=cast.sandbox, name="other", blueprint_key="hello-world-python"
    )
    created = mapping(cast, other, queue(cast))
    assert alice.post(url("trigger-toggle", cast, "worker", str(created.uuid)), {"enabled": "false"}).status_code == 404
    assert alice.get(url("trigger-delete", cast, "worker", str(uuid.uuid4()))).status_code == 404
    assert alice.get(url("trigger-delete", cast, "worker", "not-a-uuid")).status_code == 404
    assert EventSourceMapping.objects.get(pk=created.pk).enabled


def test_s3_notifications_and_sns_subscriptions_to_the_function_are_listed(alice, cast, function):
    arn = f"arn:aws:lambda:{cast.sandbox.region}:{cast.sandbox.account_id}:function:worker"
    s3.create_bucket(sandbox=cast.sandbox, name="uploads-of-alice", region=cast.sandbox.region)
    s3.put_bucket_notification_configuration(
        sandbox=cast.sandbox,
        name="uploads-of-alice",
        configuration={
            "LambdaFunctionConfigurations": [
                {
                    "Id": "thumbs",
                    "LambdaFunctionArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "Suffix", "Value": ".jpg"}]}},
                }
            ]
        },
    )
    topic = sns.create_topic(sandbox=cast.sandbox, name="alerts", attributes={}, tags={})
    sns.subscribe(
        sandbox=cast.sandbox, topic_arn=sns.topic_arn_of(topic), protocol="lambda", endpoint=arn, attributes={}
    )
    page = alice.get(url("triggers", cast, "worker")).content.decode()
    assert f'href="{reverse("s3:bucket", args=[cast.sandbox.pk, "uploads-of-alice"])}">uploads-of-alice</a>' in page
    assert "<code>s3:ObjectCreated:*</code>" in page and "suffix .jpg" in page
    assert f'href="{reverse("sns:topic", args=[cast.sandbox.pk, "alerts"])}">alerts</a>' in page
    assert "No S3 bucket notifications or SNS subscriptions" not in page


def _invocation(function: Function, *, ago_s: float, duration_ms: float = 2000.0) -> Invocation:
    created = timezone.now() - timedelta(seconds=ago_s)
    row = Invocation.objects.create(
        sandbox=function.sandbox,
        function=function,
        request_id=str(uuid.uuid4()),
        status="succeeded",
        cold=False,
        duration_ms=duration_ms,
        billed_duration_ms=int(duration_ms),
        memory_mb=128,
        started_at=created,
        finished_at=created + timedelta(milliseconds=duration_ms),
    )
    Invocation.objects.filter(pk=row.pk).update(created_at=created)
    return row


def test_monitoring_splits_invocations_by_source_and_shows_poller_concurrency(alice, cast, function):
    created = mapping(cast, function, queue(cast))
    _invocation(function, ago_s=60)  # a direct invoke
    for _ in range(3):  # three batches running together
        invocation = _invocation(function, ago_s=30)
        Batch.objects.create(
            sandbox=cast.sandbox,
            mapping=created,
            invocation=invocation,
            request_id=invocation.request_id,
            started_at=invocation.started_at,
            deadline_ms=0,
            finished_at=invocation.finished_at,
            outcome="ok",
        )
    monitor = selectors.monitoring(function=function)
    assert (monitor.invocations, monitor.mapping_invocations, monitor.mapping_peak_concurrency) == (4, 3, 3)
    direct, polled = monitor.figures["sources"]["data"]
    assert (sum(direct["y"]), sum(polled["y"])) == (1, 3)
    assert max(monitor.figures["concurrency"]["data"][1]["y"]) == 3
    page = alice.get(url("monitoring", cast, "worker")).content.decode()
    assert 'id="chart-sources"' in page and "(peak 3 at once)" in page
