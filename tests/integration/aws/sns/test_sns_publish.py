"""Publishing over real HTTP with the real Celery worker: fan-out, filters, envelopes, raw, FIFO, inboxes."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from serverless_lab.cloud.sns.models import InboxMessage

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def test_fan_out_with_filters_envelope_and_raw(sns, make_queue, drain, cast):
    topic = sns.create_topic(Name="shop")["TopicArn"]
    all_url, all_arn = make_queue("all")
    eu_url, eu_arn = make_queue("eu")
    big_url, big_arn = make_queue("big")
    raw_url, raw_arn = make_queue("raw")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=all_arn)
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=eu_arn,
        Attributes={"FilterPolicy": json.dumps({"region": [{"prefix": "eu-"}]})},
    )
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=big_arn,
        Attributes={
            "FilterPolicyScope": "MessageBody",
            "FilterPolicy": json.dumps({"order": {"total": [{"numeric": [">", 100]}]}}),
        },
    )
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=raw_arn, Attributes={"RawMessageDelivery": "true"})

    small = sns.publish(
        TopicArn=topic,
        Message=json.dumps({"order": {"total": 5}}),
        Subject="small",
        MessageAttributes={"region": string("eu-west-1")},
    )
    sns.publish(
        TopicArn=topic, Message=json.dumps({"order": {"total": 500}}), MessageAttributes={"region": string("us-east-1")}
    )

    everything = drain(all_url, 2)
    assert len(everything) == 2
    first = next(doc for doc in everything if doc["MessageId"] == small["MessageId"])
    assert first["Type"] == "Notification" and first["TopicArn"] == topic and first["Subject"] == "small"
    assert json.loads(first["Message"]) == {"order": {"total": 5}}
    assert first["MessageAttributes"] == {"region": {"Type": "String", "Value": "eu-west-1"}}
    assert (
        first["SignatureVersion"] == "1" and first["Signature"] and first["SigningCertURL"] and first["UnsubscribeURL"]
    )
    assert first["Timestamp"].endswith("Z")
    assert [doc["MessageId"] for doc in drain(eu_url, 1)] == [small["MessageId"]]
    assert [json.loads(doc["Message"])["order"]["total"] for doc in drain(big_url, 1)] == [500]
    raw = drain(raw_url, 2, raw=True)
    assert sorted(json.loads(m["Body"])["order"]["total"] for m in raw) == [5, 500]
    assert {m["MessageAttributes"]["region"]["StringValue"] for m in raw} == {"eu-west-1", "us-east-1"}
    time.sleep(0.3)  # nothing else trickles in to the filtered queues
    assert drain(eu_url, 1, timeout=0.5) == [] and drain(big_url, 1, timeout=0.5) == []


def test_message_structure_and_inboxes(sns, make_queue, drain, live_lab):
    topic = sns.create_topic(Name="notify")["TopicArn"]
    url, arn = make_queue("notify-q")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint="+15555550123")
    sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint="bob@example.com")
    hook = f"{live_lab.url}/hooks/orders"
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=hook)
    for inbox in InboxMessage.objects.filter(headers__has_key="x-amz-sns-message-type"):
        sns.confirm_subscription(TopicArn=topic, Token=json.loads(inbox.body)["Token"])
    message = json.dumps({"default": "plain", "sqs": "for queues", "sms": "for phones"})
    sns.publish(TopicArn=topic, Message=message, MessageStructure="json", Subject="Hi")
    assert drain(url, 1)[0]["Message"] == "for queues"
    deadline = time.monotonic() + 10
    while (
        InboxMessage.objects.filter(topic_arn=topic).exclude(subscription_arn="").count() < 3
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    delivered = {m.protocol: m for m in InboxMessage.objects.filter(topic_arn=topic).exclude(subscription_arn="")}
    assert delivered["sms"].body == "for phones"
    assert json.loads(delivered["email-json"].body)["Message"] == "plain"
    assert delivered["http"].endpoint == hook and delivered["http"].headers["x-amz-sns-message-type"] == "Notification"
    direct = sns.publish(PhoneNumber="+15555550999", Message="your code is 1234")
    assert (
        direct["MessageId"] and InboxMessage.objects.filter(endpoint="+15555550999", body="your code is 1234").exists()
    )

    for kwargs, detail in [
        ({"Message": ""}, "Invalid parameter: Empty message"),
        (
            {"Message": "{}", "MessageStructure": "json"},
            "Invalid parameter: Message Structure - No default entry in JSON message body",
        ),
        (
            {"Message": "nope", "MessageStructure": "json"},
            "Invalid parameter: Message Structure - JSON message body failed to parse",
        ),
        ({"Message": "x", "Subject": "a\nb"}, "Invalid parameter: Subject"),
        ({"Message": "x" * 262_145}, "Invalid parameter: Message too long"),
    ]:
        with pytest.raises(ClientError) as excinfo:
            sns.publish(TopicArn=topic, **kwargs)
        assert excinfo.value.response["Error"]["Message"] == detail
    with pytest.raises(ClientError) as excinfo:
        sns.publish(TopicArn=topic, Message="x", MessageAttributes={"n": {"DataType": "Number", "StringValue": "abc"}})
    assert excinfo.value.response["Error"]["Code"] == "ParameterValueInvalid"


def test_publish_batch_and_fifo(sns, make_queue, drain):
    topic = sns.create_topic(Name="events.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    url, arn = make_queue("events.fifo", FifoQueue="true")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    result = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[
            {"Id": f"e{i}", "Message": f"m{i}", "MessageGroupId": "g", "MessageDeduplicationId": f"d{i}"}
            for i in range(3)
        ]
        + [{"Id": "nogroup", "Message": "x", "MessageDeduplicationId": "dx"}],
    )
    assert [s["Id"] for s in result["Successful"]] == ["e0", "e1", "e2"]
    assert result["Failed"][0]["Id"] == "nogroup" and result["Failed"][0]["Code"] == "InvalidParameter"
    sequences = [s["SequenceNumber"] for s in result["Successful"]]
    assert sequences == sorted(sequences)
    again = sns.publish(TopicArn=topic, Message="m0 again", MessageGroupId="g", MessageDeduplicationId="d0")
    assert again["MessageId"] == result["Successful"][0]["MessageId"]  # deduplicated, not delivered twice
    got = drain(url, 3, raw=True)
    assert [m["Body"] for m in got] == ["m0", "m1", "m2"]
    assert drain(url, 1, timeout=1, raw=True) == []
    with pytest.raises(sns.exceptions.TooManyEntriesInBatchRequestException):
        sns.publish_batch(
            TopicArn=topic, PublishBatchRequestEntries=[{"Id": str(i), "Message": "m"} for i in range(11)]
        )
    with pytest.raises(sns.exceptions.BatchEntryIdsNotDistinctException):
        sns.publish_batch(
            TopicArn=topic, PublishBatchRequestEntries=[{"Id": "a", "Message": "m"}, {"Id": "a", "Message": "n"}]
        )
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn.replace(".fifo", ""))


def test_failed_delivery_goes_to_the_subscription_dlq(sns, make_queue, drain, cast):
    topic = sns.create_topic(Name="lossy")["TopicArn"]
    dlq_url, dlq_arn = make_queue("lossy-dlq")
    gone = f"arn:aws:sqs:{cast.sandbox.region}:{cast.sandbox.account_id}:deleted-queue"
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=gone,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})},
    )
    published = sns.publish(TopicArn=topic, Message="lost?")
    assert drain(dlq_url, 1)[0]["MessageId"] == published["MessageId"]
