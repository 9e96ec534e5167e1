"""FIFO queues over real HTTP: order per group, group locking, deduplication, sequence numbers."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_fifo_order_groups_and_dedup(sqs):
    url = sqs.create_queue(
        QueueName="jobs.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["FifoQueue"])["Attributes"] == {"FifoQueue": "true"}
    sequences = []
    for i in range(3):
        sequences.append(sqs.send_message(QueueUrl=url, MessageBody=f"a{i}", MessageGroupId="A")["SequenceNumber"])
    sqs.send_message(QueueUrl=url, MessageBody="b0", MessageGroupId="B")
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    again = sqs.send_message(QueueUrl=url, MessageBody="a0", MessageGroupId="A")  # content-based duplicate
    assert again["SequenceNumber"] == sequences[0]
    explicit = sqs.send_message(QueueUrl=url, MessageBody="a3", MessageGroupId="A", MessageDeduplicationId="d-1")
    assert (
        sqs.send_message(QueueUrl=url, MessageBody="other", MessageGroupId="A", MessageDeduplicationId="d-1")[
            "MessageId"
        ]
        == explicit["MessageId"]
    )

    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in first] == ["a0", "a1"]
    assert first[0]["Attributes"]["MessageGroupId"] == "A" and first[0]["Attributes"]["SequenceNumber"] == sequences[0]
    # Group A is locked while a0/a1 are in flight; only B is available.
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["b0"]
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") is None
    for message in first:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in rest] == ["a2", "a3"]


def test_fifo_errors(sqs):
    url = sqs.create_queue(QueueName="plain.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert excinfo.value.response["Error"]["Code"] == "MissingParameter"
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g")
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d", DelaySeconds=5)
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as excinfo:
        sqs.create_queue(QueueName="nofifo", Attributes={"FifoQueue": "true"})
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as excinfo:
        sqs.create_queue(QueueName="wrong.fifo")
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterValue"
    standard = sqs.create_queue(QueueName="std")["QueueUrl"]
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=standard, MessageBody="x", MessageDeduplicationId="d")
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterValue"
