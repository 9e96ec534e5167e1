"""SQS rules without the database: attribute validation, digests, handles, names."""

from __future__ import annotations

import json

import pytest

from serverless_lab.cloud.sqs import logic
from serverless_lab.cloud.sqs.logic import SqsRuleError


def test_md5_of_message_attributes_matches_aws():
    # AWS's documented example value for a single Number attribute.
    assert (
        logic.md5_of_attributes({"timestamp": {"StringValue": "1493147359900", "DataType": "Number"}})
        == "235c5c510d26fb653d073faed50ae77c"
    )
    assert logic.md5_of_attributes({}) is None
    stored = logic.stored_attributes(
        {"b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}, "s": {"DataType": "String", "StringValue": "x"}}
    )
    assert logic.md5_of_attributes(stored) == logic.md5_of_attributes(logic.wire_attributes(stored))


@pytest.mark.parametrize(
    ("attributes", "code"),
    [
        ({"Colour": "red"}, "InvalidAttributeName"),
        ({"VisibilityTimeout": "-1"}, "InvalidAttributeValue"),
        ({"VisibilityTimeout": "43201"}, "InvalidAttributeValue"),
        ({"MaximumMessageSize": "1048577"}, "InvalidAttributeValue"),
        ({"MaximumMessageSize": "1023"}, "InvalidAttributeValue"),
        ({"MessageRetentionPeriod": "59"}, "InvalidAttributeValue"),
        ({"ReceiveMessageWaitTimeSeconds": "21"}, "InvalidAttributeValue"),
        ({"DelaySeconds": "abc"}, "InvalidAttributeValue"),
        ({"ContentBasedDeduplication": "true"}, "InvalidAttributeName"),  # standard queue
        ({"RedrivePolicy": "{"}, "InvalidAttributeValue"),
        (
            {
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:d", "maxReceiveCount": 0}
                )
            },
            "InvalidAttributeValue",
        ),
        ({"RedriveAllowPolicy": json.dumps({"redrivePermission": "some"})}, "InvalidAttributeValue"),
    ],
)
def test_invalid_attributes(attributes, code):
    with pytest.raises(SqsRuleError) as excinfo:
        logic.validate_attributes(attributes, fifo=False, creating=True)
    assert excinfo.value.code == code


def test_valid_attributes_are_normalised():
    clean = logic.validate_attributes(
        {
            "VisibilityTimeout": "045",
            "FifoQueue": "TRUE",
            "MaximumMessageSize": "1048576",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:d", "maxReceiveCount": "5"}
            ),
        },
        fifo=True,
        creating=True,
    )
    assert (
        clean["VisibilityTimeout"] == "45" and clean["FifoQueue"] == "true" and clean["MaximumMessageSize"] == "1048576"
    )
    assert logic.redrive_policy(clean) == logic.RedrivePolicy("arn:aws:sqs:us-east-1:123456789012:d", 5)


@pytest.mark.parametrize(
    ("name", "fifo", "ok"),
    [
        ("a", False, True),
        ("a" * 80, False, True),
        ("a" * 81, False, False),
        ("a.fifo", False, False),
        ("a.fifo", True, True),
        ("a", True, False),
        ("a b", False, False),
    ],
)
def test_queue_names(name, fifo, ok):
    if ok:
        logic.check_queue_name(name, fifo)
    else:
        with pytest.raises(SqsRuleError):
            logic.check_queue_name(name, fifo)


def test_body_characters():
    logic.check_body("tab\t newline\n emoji 😀 \ue000")
    for bad in ("\x00", "\x08", "\ufffe"):
        with pytest.raises(SqsRuleError) as excinfo:
            logic.check_body(f"x{bad}")
        assert excinfo.value.code == "InvalidMessageContents"
    with pytest.raises(SqsRuleError):
        logic.check_body("")


def test_batch_ids():
    logic.check_batch_ids(["a", "b-1", "c_2"])
    for ids, code in [
        ([], "EmptyBatchRequest"),
        ([str(i) for i in range(11)], "TooManyEntriesInBatchRequest"),
        (["a", "a"], "BatchEntryIdsNotDistinct"),
        (["a b"], "InvalidBatchEntryId"),
    ]:
        with pytest.raises(SqsRuleError) as excinfo:
            logic.check_batch_ids(ids)
        assert excinfo.value.code.endswith(code)


def test_receipt_handles_and_urls():
    message_id = "6f1c6e1e-8a3b-4d6f-9a55-0f5c6b2f9a10"
    handle = logic.make_receipt_handle(7, message_id, "abc")
    assert logic.parse_receipt_handle(handle) == (7, message_id, "abc")
    assert logic.parse_receipt_handle("garbage!") is None
    assert logic.parse_receipt_handle(logic.make_receipt_handle(7, "not-a-uuid", "abc")) is None
    assert logic.parse_queue_url("http://h:8000/aws/123456789012/q.fifo") == ("123456789012", "q.fifo")
    assert logic.parse_queue_url("http://h/q") is None
    assert logic.parse_queue_arn("arn:aws:sqs:eu-west-1:123456789012:q") == ("eu-west-1", "123456789012", "q")
    assert logic.parse_queue_arn("arn:aws:sns:eu-west-1:123456789012:q") is None


def test_attribute_name_selection():
    available = {"a.x": 1, "a.y": 2, "b": 3}
    assert logic.select_attribute_names(["All"], available) == available
    assert logic.select_attribute_names(["a.*"], available) == {"a.x": 1, "a.y": 2}
    assert logic.select_attribute_names(["b", "zzz"], available) == {"b": 3}
    assert logic.select_attribute_names([], available) == {}
