"""Create/Get/List/Update/DeleteEventSourceMapping through boto3, and the errors Lambda answers."""

from __future__ import annotations

from datetime import datetime

import pytest
from botocore.exceptions import ClientError

from serverless_lab.cloud.esm.models import EventSourceMapping
from serverless_lab.sandboxes.services import sandbox_reset

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def error_of(call, **kwargs) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response
    return error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]


def test_create_get_list_update_delete(lambda_client, sqs, recorder, cast):
    function_arn = recorder()
    queue_arns = []
    for name in ("orders", "refunds"):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arns.append(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])

    created = lambda_client.create_event_source_mapping(
        EventSourceArn=queue_arns[0], FunctionName="recorder", BatchSize=5, Enabled=False
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["State"] == "Creating"
    assert created["StateTransitionReason"] == "USER_INITIATED"
    assert created["FunctionArn"] == function_arn
    assert created["EventSourceArn"] == queue_arns[0]
    assert created["BatchSize"] == 5 and created["MaximumBatchingWindowInSeconds"] == 0
    assert isinstance(created["LastModified"], datetime)
    assert created["EventSourceMappingArn"].endswith(f":event-source-mapping:{created['UUID']}")
    assert "StartingPosition" not in created
    uuid = created["UUID"]

    assert lambda_client.get_event_source_mapping(UUID=uuid)["State"] == "Disabled"
    second = lambda_client.create_event_source_mapping(
        EventSourceArn=queue_arns[1], FunctionName=function_arn, FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    assert second["BatchSize"] == 10 and second["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

    by_function = lambda_client.list_event_source_mappings(FunctionName="recorder")["EventSourceMappings"]
    assert [m["UUID"] for m in by_function] == [uuid, second["UUID"]]
    by_source = lambda_client.list_event_source_mappings(EventSourceArn=queue_arns[1])["EventSourceMappings"]
    assert [m["UUID"] for m in by_source] == [second["UUID"]]
    page = lambda_client.list_event_source_mappings(MaxItems=1)
    assert len(page["EventSourceMappings"]) == 1 and page["NextMarker"]
    rest = lambda_client.list_event_source_mappings(Marker=page["NextMarker"])
    assert [m["UUID"] for m in rest["EventSourceMappings"]] == [second["UUID"]] and "NextMarker" not in rest
    pages = lambda_client.get_paginator("list_event_source_mappings").paginate(PaginationConfig={"PageSize": 1})
    assert sum(len(p["EventSourceMappings"]) for p in pages) == 2

    updated = lambda_client.update_event_source_mapping(
        UUID=uuid, Enabled=True, BatchSize=50, MaximumBatchingWindowInSeconds=2
    )
    assert updated["State"] == "Enabling" and updated["BatchSize"] == 50
    assert updated["MaximumBatchingWindowInSeconds"] == 2
    assert lambda_client.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"
    assert lambda_client.update_event_source_mapping(UUID=uuid, BatchSize=40)["State"] == "Updating"
    assert lambda_client.update_event_source_mapping(UUID=uuid, Enabled=False)["State"] == "Disabling"
    assert lambda_client.get_event_source_mapping(UUID=uuid)["State"] == "Disabled"

    deleted = lambda_client.delete_event_source_mapping(UUID=uuid)
    assert deleted["State"] == "Deleting" and deleted["UUID"] == uuid
    code, _, status = error_of(lambda_client.get_event_source_mapping, UUID=uuid)
    assert (code, status) == ("ResourceNotFoundException", 404)

    sandbox_reset(sandbox=cast.sandbox)  # a reset takes the mappings with it
    assert not EventSourceMapping.objects.filter(sandbox=cast.sandbox).exists()


def test_errors_in_lambdas_codes(lambda_client, sqs, ddb, recorder):
    recorder(Timeout=5)
    url = sqs.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    fifo_url = sqs.create_queue(QueueName="jobs.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    fifo_arn = sqs.get_queue_attributes(QueueUrl=fifo_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    short_url = sqs.create_queue(QueueName="short", Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
    short_arn = sqs.get_queue_attributes(QueueUrl=short_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    create = lambda_client.create_event_source_mapping

    assert error_of(create, EventSourceArn=arn, FunctionName="nobody")[0] == "ResourceNotFoundException"
    code, message, _ = error_of(create, EventSourceArn=arn.replace("jobs", "missing"), FunctionName="recorder")
    assert code == "InvalidParameterValueException" and "NonExistentQueue" in message
    code, message, _ = error_of(create, EventSourceArn="arn:aws:kinesis:us-east-1:123456789012:stream/s",
                                FunctionName="recorder")
    assert code == "InvalidParameterValueException"
    code, message, _ = error_of(create, EventSourceArn=arn, FunctionName="recorder", StartingPosition="LATEST")
    assert code == "InvalidParameterValueException" and "StartingPosition" in message
    code, message, _ = error_of(create, EventSourceArn=arn, FunctionName="recorder", BatchSize=20)
    assert code == "InvalidParameterValueException" and "batch window" in message
    code, message, status = error_of(create, EventSourceArn=arn, FunctionName="recorder", BatchSize=20000)
    assert (code, status) == ("ValidationException", 400) and "10000" in message
    code, message, _ = error_of(create, EventSourceArn=fifo_arn, FunctionName="recorder", BatchSize=11,
                                MaximumBatchingWindowInSeconds=1)
    assert code == "InvalidParameterValueException"
    code, message, _ = error_of(create, EventSourceArn=short_arn, FunctionName="recorder")
    assert code == "InvalidParameterValueException" and message.startswith("Queue visibility timeout: 2 seconds")
    code, message, _ = error_of(create, EventSourceArn=arn, FunctionName="recorder", MaximumRetryAttempts=2)
    assert code == "InvalidParameterValueException" and "MaximumRetryAttempts" in message
    code, _, _ = error_of(create, EventSourceArn=arn, FunctionName="recorder", FunctionResponseTypes=["Nope"])
    assert code == "ValidationException"

    mapping = create(EventSourceArn=arn, FunctionName="recorder")
    code, message, status = error_of(create, EventSourceArn=arn, FunctionName="recorder")
    assert (code, status) == ("ResourceConflictException", 409) and mapping["UUID"] in message
    recorder("other")
    moved = create(EventSourceArn=arn, FunctionName="other")
    code, message, _ = error_of(lambda_client.update_event_source_mapping, UUID=moved["UUID"], FunctionName="recorder")
    assert code == "ResourceConflictException" and mapping["UUID"] in message
    code, _, _ = error_of(lambda_client.update_event_source_mapping, UUID=mapping["UUID"], BatchSize=100)
    assert code == "InvalidParameterValueException"  # > 10 needs a batching window
    assert error_of(lambda_client.get_event_source_mapping, UUID="x" * 36)[0] == "ResourceNotFoundException"
    assert error_of(lambda_client.delete_event_source_mapping,
                    UUID="6a1c3b8e-0000-4000-8000-000000000000")[0] == "ResourceNotFoundException"

    table = ddb.create_table(
        TableName="events",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    stream_arn = table["LatestStreamArn"]
    code, message, _ = error_of(create, EventSourceArn=stream_arn, FunctionName="recorder")
    assert code == "InvalidParameterValueException" and "StartingPosition" in message
    code, _, _ = error_of(create, EventSourceArn=stream_arn, FunctionName="recorder", StartingPosition="AT_TIMESTAMP")
    assert code == "InvalidParameterValueException"
    code, _, _ = error_of(create, EventSourceArn=stream_arn + "x", FunctionName="recorder", StartingPosition="LATEST")
    assert code == "InvalidParameterValueException"
    stream = create(EventSourceArn=stream_arn, FunctionName="recorder", StartingPosition="TRIM_HORIZON",
                    MaximumRetryAttempts=3, BisectBatchOnFunctionError=True)
    assert stream["StartingPosition"] == "TRIM_HORIZON" and stream["BatchSize"] == 100
    assert stream["MaximumRetryAttempts"] == 3 and stream["BisectBatchOnFunctionError"] is True
    assert stream["MaximumRecordAgeInSeconds"] == -1 and stream["ParallelizationFactor"] == 1
    code, _, _ = error_of(lambda_client.update_event_source_mapping, UUID=stream["UUID"],
                          ScalingConfig={"MaximumConcurrency": 5})
    assert code == "InvalidParameterValueException"


def test_another_sandbox_sees_no_mapping_and_cannot_map_this_sandboxs_queue(live_lab, lambda_client, sqs, recorder,
                                                                            cast):
    from serverless_lab.sandboxes.services import sandbox_create

    recorder()
    url = sqs.create_queue(QueueName="private")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    uuid = lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName="recorder")["UUID"]

    other = sandbox_create(owner=cast.charlie, name="charlie-sandbox")
    charlie = live_lab.client("lambda", other)
    charlie.create_function(FunctionName="recorder", Runtime="python3.11", Handler="app.handler",
                            Role="arn:aws:iam::123456789012:role/r", Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18})
    assert error_of(charlie.get_event_source_mapping, UUID=uuid)[0] == "ResourceNotFoundException"
    assert error_of(charlie.delete_event_source_mapping, UUID=uuid)[0] == "ResourceNotFoundException"
    assert charlie.list_event_source_mappings()["EventSourceMappings"] == []
    code, message, _ = error_of(charlie.create_event_source_mapping, EventSourceArn=arn, FunctionName="recorder")
    assert code == "InvalidParameterValueException" and "NonExistentQueue" in message
    assert lambda_client.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"
