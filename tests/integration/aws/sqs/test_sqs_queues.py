"""Queue operations over real HTTP: create/get/list/delete, attributes, tags, purge, errors."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_create_get_list_delete(sqs, cast, live_lab):
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    assert url == f"{live_lab.url}/aws/{cast.sandbox.account_id}/orders"
    assert sqs.create_queue(QueueName="orders")["QueueUrl"] == url  # idempotent with the same attributes
    assert sqs.get_queue_url(QueueName="orders")["QueueUrl"] == url
    for name in ("orders-dlq", "payments", "orders-eu"):
        sqs.create_queue(QueueName=name)
    assert [u.rsplit("/", 1)[1] for u in sqs.list_queues(QueueNamePrefix="orders")["QueueUrls"]] == [
        "orders",
        "orders-dlq",
        "orders-eu",
    ]
    page = sqs.list_queues(MaxResults=2)
    assert len(page["QueueUrls"]) == 2 and page["NextToken"]
    rest = sqs.list_queues(MaxResults=2, NextToken=page["NextToken"])
    assert len(rest["QueueUrls"]) == 2 and "NextToken" not in rest
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError) as excinfo:
        sqs.get_queue_url(QueueName="orders")
    assert error_of(excinfo) == ("AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix="nothing")


def test_attributes(sqs, cast):
    dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert dlq_arn == f"arn:aws:sqs:{cast.sandbox.region}:{cast.sandbox.account_id}:dead"
    url = sqs.create_queue(
        QueueName="work",
        Attributes={"VisibilityTimeout": "45", "DelaySeconds": "2", "MaximumMessageSize": "1048576"},
        tags={"team": "blue"},
    )["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "45"
    assert attributes["DelaySeconds"] == "2"
    assert attributes["MaximumMessageSize"] == "1048576"
    assert attributes["MessageRetentionPeriod"] == "345600"
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert int(attributes["CreatedTimestamp"]) > 1_700_000_000
    assert "FifoQueue" not in attributes
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    allow = json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [dlq_arn]})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": policy, "ReceiveMessageWaitTimeSeconds": "5"})
    sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": allow})
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy", "ReceiveMessageWaitTimeSeconds"])[
        "Attributes"
    ]
    assert json.loads(got["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}
    assert got["ReceiveMessageWaitTimeSeconds"] == "5"

    with pytest.raises(ClientError) as excinfo:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Colour"])
    assert error_of(excinfo) == ("InvalidAttributeName", "Unknown Attribute Colour.")
    with pytest.raises(ClientError) as excinfo:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "43201"})
    assert error_of(excinfo) == ("InvalidAttributeValue", "Invalid value for the parameter VisibilityTimeout.")
    with pytest.raises(ClientError) as excinfo:
        sqs.create_queue(QueueName="big", Attributes={"MaximumMessageSize": "1048577"})
    assert error_of(excinfo)[0] == "InvalidAttributeValue"
    with pytest.raises(ClientError) as excinfo:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": '{"maxReceiveCount": 3}'})
    assert error_of(excinfo)[0] == "InvalidAttributeValue"
    with pytest.raises(ClientError) as excinfo:
        sqs.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "10"})
    assert error_of(excinfo)[0] == "QueueAlreadyExists"
    with pytest.raises(ClientError) as excinfo:
        sqs.create_queue(QueueName="bad name!")
    assert error_of(excinfo)[0] == "InvalidParameterValue"
    with pytest.raises(ClientError) as excinfo:
        sqs.create_queue(QueueName="plain", Attributes={"ContentBasedDeduplication": "true"})
    assert error_of(excinfo)[0] == "InvalidAttributeName"


def test_tags_and_purge(sqs):
    url = sqs.create_queue(QueueName="tagged", tags={"a": "1"})["QueueUrl"]
    sqs.tag_queue(QueueUrl=url, Tags={"b": "2", "c": "3"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["a"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"b": "2", "c": "3"}
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(5)])
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"] == {
        "ApproximateNumberOfMessages": "5"
    }
    sqs.purge_queue(QueueUrl=url)
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None
