"""SNS rules without the database: endpoints (no SSRF), messages, subjects, batch ids, envelopes."""

from __future__ import annotations

import pytest

from serverless_lab.cloud.sns import logic
from serverless_lab.cloud.sns.logic import SnsRuleError

LAB = "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("protocol", "endpoint", "ok"),
    [
        ("http", "http://127.0.0.1:8000/hooks/a", True),
        ("https", "https://127.0.0.1:8000/hooks/a", True),
        ("http", "http://127.0.0.1:8001/hooks/a", False),
        ("http", "http://169.254.169.254/latest/meta-data", False),
        ("http", "http://127.0.0.1:8000@evil.example/", False),
        ("https", "http://127.0.0.1:8000/x", False),
        ("sqs", "arn:aws:sqs:us-east-1:123456789012:q", True),
        ("sqs", "q", False),
        ("lambda", "arn:aws:lambda:us-east-1:123456789012:function:f", True),
        ("email", "a@b.co", True),
        ("email-json", "nope", False),
        ("sms", "+15555550100", True),
        ("sms", "5555550100", False),
        ("application", "arn:aws:sns:us-east-1:1:app/GCM/x", False),
    ],
)
def test_endpoints(protocol, endpoint, ok):
    if ok:
        logic.check_endpoint(protocol, endpoint, LAB)
    else:
        with pytest.raises(SnsRuleError):
            logic.check_endpoint(protocol, endpoint, LAB)


def test_messages_and_subjects():
    assert logic.check_message("hi", None) is None
    assert logic.check_message('{"default": "d", "sqs": {"a": 1}}', "json") == {"default": "d", "sqs": '{"a": 1}'}
    for message, structure in [("", None), ("x" * 262_145, None), ("{}", "json"), ("[1]", "json"), ("x", "xml")]:
        with pytest.raises(SnsRuleError):
            logic.check_message(message, structure)
    logic.check_subject("Order #1")
    for subject in ("", "a\nb", "é", "x" * 101):
        with pytest.raises(SnsRuleError):
            logic.check_subject(subject)


def test_message_attributes_and_batch_ids():
    logic.check_message_attributes(
        {
            "a": {"DataType": "String.Array", "StringValue": '["x", 1]'},
            "n": {"DataType": "Number", "StringValue": "1e3"},
        }
    )
    for attributes in [
        {"a": {"DataType": "Thing", "StringValue": "x"}},
        {"a": {"DataType": "Number", "StringValue": "x"}},
        {"a": {"DataType": "String.Array", "StringValue": "x"}},
        {"a": {"DataType": "String", "StringValue": ""}},
        {"AWS.x": {"DataType": "String", "StringValue": "v"}},
    ]:
        with pytest.raises(SnsRuleError) as excinfo:
            logic.check_message_attributes(attributes)
        assert excinfo.value.code == "ParameterValueInvalid"
    for ids, code in [
        ([], "EmptyBatchRequest"),
        (list("abcdefghijk"), "TooManyEntriesInBatchRequest"),
        (["a", "a"], "BatchEntryIdsNotDistinct"),
        (["a b"], "InvalidBatchEntryId"),
    ]:
        with pytest.raises(SnsRuleError) as excinfo:
            logic.check_batch_ids(ids)
        assert excinfo.value.code == code


def test_envelope_fields_in_aws_order():
    doc = logic.envelope(
        message_type="Notification",
        message_id="m",
        topic_arn="arn:aws:sns:us-east-1:1:t",
        message="hello",
        timestamp="2026-01-01T00:00:00.000Z",
        subject="s",
        attributes={"k": {"DataType": "String", "StringValue": "v"}},
        lab_url=LAB,
        subscription_arn="arn:aws:sns:us-east-1:1:t:abc",
        secret="secret",
    )
    assert list(doc) == [
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
        "UnsubscribeURL",
        "MessageAttributes",
    ]
    assert doc["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}
    assert doc["Signature"] == logic.signature(
        "secret",
        {k: doc[k] for k in ["Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion"]},
    )
