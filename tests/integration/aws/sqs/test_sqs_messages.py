"""Messages over real HTTP: send/receive/delete, batches, visibility, receipt handles, DLQ, long polling."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_send_receive_delete_with_attributes(sqs):
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="héllo ✓",
        MessageAttributes={
            "timestamp": {"StringValue": "1493147359900", "DataType": "Number"},
            "blob": {"BinaryValue": b"\x00\x01", "DataType": "Binary"},
        },
        MessageSystemAttributes={
            "AWSTraceHeader": {"StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793", "DataType": "String"}
        },
    )
    assert sent["MD5OfMessageBody"] == hashlib.md5("héllo ✓".encode()).hexdigest()
    got = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"], MaxNumberOfMessages=10
    )["Messages"]
    assert len(got) == 1
    message = got[0]
    assert message["MessageId"] == sent["MessageId"] and message["Body"] == "héllo ✓"
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert message["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\x01"
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert message["Attributes"]["AWSTraceHeader"].startswith("Root=1-")
    assert int(message["Attributes"]["ApproximateFirstReceiveTimestamp"]) >= int(message["Attributes"]["SentTimestamp"])
    only = sqs.send_message(
        QueueUrl=url, MessageBody="x", MessageAttributes={"a.b": {"StringValue": "v", "DataType": "String"}}
    )
    partial = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["a.*"], AttributeNames=["SentTimestamp"])[
        "Messages"
    ][0]
    assert partial["MessageId"] == only["MessageId"] and list(partial["Attributes"]) == ["SentTimestamp"]
    assert partial["MessageAttributes"] == {"a.b": {"StringValue": "v", "DataType": "String"}}
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])  # deleting twice is fine
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) == ("0", "1")


def test_send_validation(sqs):
    url = sqs.create_queue(QueueName="strict", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="bad \x00 char")
    assert error_of(excinfo)[0] == "InvalidMessageContents"
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="x" * 1025)
    assert error_of(excinfo) == (
        "InvalidParameterValue",
        "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.",
    )
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="x", DelaySeconds=901)
    assert error_of(excinfo)[0] == "InvalidParameterValue"
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(
            QueueUrl=url, MessageBody="x", MessageAttributes={"n": {"StringValue": "abc", "DataType": "Number"}}
        )
    assert error_of(excinfo)[0] == "InvalidParameterValue"
    with pytest.raises(ClientError) as excinfo:
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    assert error_of(excinfo)[0] == "InvalidParameterValue"
    with pytest.raises(ClientError) as excinfo:
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=21)
    assert error_of(excinfo)[0] == "InvalidParameterValue"


def test_batches(sqs):
    url = sqs.create_queue(QueueName="batch")["QueueUrl"]
    result = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "ok1", "MessageBody": "one"},
            {"Id": "bad", "MessageBody": "\x01"},
            {"Id": "ok2", "MessageBody": "two", "DelaySeconds": 0},
        ],
    )
    assert [s["Id"] for s in result["Successful"]] == ["ok1", "ok2"]
    assert result["Failed"] == [
        {"Id": "bad", "SenderFault": True, "Code": "InvalidMessageContents", "Message": result["Failed"][0]["Message"]}
    ]
    with pytest.raises(sqs.exceptions.BatchEntryIdsNotDistinct):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "1"}, {"Id": "a", "MessageBody": "2"}])
    with pytest.raises(sqs.exceptions.TooManyEntriesInBatchRequest):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "m"} for i in range(11)])
    with pytest.raises(sqs.exceptions.EmptyBatchRequest):
        sqs.delete_message_batch(QueueUrl=url, Entries=[])
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in messages) == ["one", "two"]
    changed = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "c1", "ReceiptHandle": messages[0]["ReceiptHandle"], "VisibilityTimeout": 60},
            {"Id": "c2", "ReceiptHandle": "junk", "VisibilityTimeout": 5},
        ],
    )
    assert [s["Id"] for s in changed["Successful"]] == ["c1"] and changed["Failed"][0][
        "Code"
    ] == "ReceiptHandleIsInvalid"
    deleted = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        + [{"Id": "dx", "ReceiptHandle": "nope"}],
    )
    assert sorted(s["Id"] for s in deleted["Successful"]) == ["d0", "d1"]
    assert deleted["Failed"][0]["Id"] == "dx" and deleted["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"


def test_visibility_and_receipt_handles(sqs):
    url = sqs.create_queue(QueueName="vis", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="job")
    first = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None  # hidden while in flight
    time.sleep(1.1)
    second = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30, AttributeNames=["ApproximateReceiveCount"])[
        "Messages"
    ][0]
    assert second["MessageId"] == first["MessageId"] and second["Attributes"]["ApproximateReceiveCount"] == "2"
    with pytest.raises(ClientError) as excinfo:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])  # superseded by the re-receive
    assert error_of(excinfo)[0] == "ReceiptHandleIsInvalid"
    for forged in ("not-a-handle", base64.urlsafe_b64encode(b"1:not-a-uuid:x").decode()):
        with pytest.raises(ClientError) as excinfo:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=forged)
        assert error_of(excinfo)[0] == "ReceiptHandleIsInvalid"
        with pytest.raises(ClientError) as excinfo:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=forged, VisibilityTimeout=5)
        assert error_of(excinfo)[0] == "ReceiptHandleIsInvalid"
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0)
    third = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert third["MessageId"] == first["MessageId"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=third["ReceiptHandle"])
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])[
        "Attributes"
    ]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None
    delayed = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3)["Messages"][0]
    assert delayed["Body"] == "later"
    time.sleep(1.1)
    with pytest.raises(ClientError) as excinfo:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=delayed["ReceiptHandle"], VisibilityTimeout=10)
    assert error_of(excinfo)[0] == "AWS.SimpleQueueService.MessageNotInflight"


def test_dead_letter_queue(sqs):
    dlq = sqs.create_queue(QueueName="work-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName="work",
        Attributes={
            "VisibilityTimeout": "0",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "2"}),
        },
    )["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="poison")
    for _ in range(2):
        assert sqs.receive_message(QueueUrl=url)["Messages"][0]["MessageId"] == sent["MessageId"]
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None  # third receive moves it
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [url]
    moved = sqs.receive_message(QueueUrl=dlq, VisibilityTimeout=0)["Messages"][0]
    assert moved["MessageId"] == sent["MessageId"] and moved["Body"] == "poison"
    sqs.start_message_move_task(SourceArn=arn)  # redrive back to the source queue
    back = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert back["MessageId"] == sent["MessageId"] and back["Attributes"]["ApproximateReceiveCount"] == "1"
    with pytest.raises(ClientError) as excinfo:
        sqs.start_message_move_task(SourceArn=arn.replace("work-dlq", "work"))
    assert error_of(excinfo)[0] == "InvalidParameterValue"


def test_retention_expiry(sqs):
    url = sqs.create_queue(QueueName="short", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    from serverless_lab.cloud.sqs.models import Message

    Message.objects.filter(queue__name="short").update(expires_at=0)
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None
    assert not Message.objects.filter(queue__name="short").exists()


def test_long_poll_returns_when_a_message_lands(sqs, live_lab, cast):
    url = sqs.create_queue(QueueName="waiting")["QueueUrl"]
    sender = live_lab.client("sqs", cast.sandbox)
    sent_at: list[float] = []

    def send_later() -> None:
        time.sleep(1.0)
        sent_at.append(time.monotonic())
        sender.send_message(QueueUrl=url, MessageBody="ping")

    thread = threading.Thread(target=send_later)
    started = time.monotonic()
    thread.start()
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)
    returned = time.monotonic()
    thread.join()
    assert got["Messages"][0]["Body"] == "ping"
    assert returned - sent_at[0] < 1.0
    assert returned - started < 3.0
    empty_started = time.monotonic()
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages") is None
    assert 0.9 < time.monotonic() - empty_started < 2.5


def test_concurrent_consumers_never_share_a_message(sqs, live_lab, cast):
    url = sqs.create_queue(QueueName="shared", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    for start in range(0, 60, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(start, start + 10)]
        )
    seen: list[str] = []
    lock = threading.Lock()

    def consume() -> None:
        client = live_lab.client("sqs", cast.sandbox)
        while True:
            messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=4).get("Messages", [])
            if not messages:
                return
            with lock:
                seen.extend(m["Body"] for m in messages)

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen, key=int) == [str(i) for i in range(60)]
