"""Filter policies, table-driven: validation errors and matching on attributes and on the body."""

from __future__ import annotations

import json

import pytest

from serverless_lab.cloud.sns import filter_policy as fp

ATTRIBUTES = fp.attributes_document(
    {
        "store": {"DataType": "String", "StringValue": "example_corp"},
        "event": {"DataType": "String", "StringValue": "order_placed"},
        "price": {"DataType": "Number", "StringValue": "210.75"},
        "colours": {"DataType": "String.Array", "StringValue": '["red", "green"]'},
        "blob": {"DataType": "Binary", "BinaryValue": b"x"},
        "Customer": {"DataType": "String", "StringValue": "ACME"},
    }
)

MATCHES = [
    ({"store": ["example_corp"]}, True),
    ({"store": ["other"]}, False),
    ({"store": ["other", "example_corp"]}, True),
    ({"event": [{"prefix": "order_"}]}, True),
    ({"event": [{"suffix": "_placed"}]}, True),
    ({"event": [{"suffix": "_cancelled"}]}, False),
    ({"event": [{"anything-but": "order_cancelled"}]}, True),
    ({"event": [{"anything-but": ["order_placed", "x"]}]}, False),
    ({"event": [{"anything-but": {"prefix": "order"}}]}, False),
    ({"event": [{"anything-but": {"suffix": "_shipped"}}]}, True),
    ({"price": [{"numeric": [">", 100, "<=", 210.75]}]}, True),
    ({"price": [{"numeric": ["<", 100]}]}, False),
    ({"price": [210.75]}, True),
    ({"price": ["210.75"]}, False),  # a string never equals a Number attribute
    ({"colours": ["green"]}, True),
    ({"colours": ["blue"]}, False),
    ({"colours": [{"anything-but": "blue"}]}, True),
    ({"missing": [{"exists": False}]}, True),
    ({"store": [{"exists": True}]}, True),
    ({"missing": [{"exists": True}]}, False),
    ({"missing": [{"anything-but": "x"}]}, False),  # anything-but needs the attribute
    ({"blob": [{"exists": True}]}, False),  # binary attributes are not matched
    ({"Customer": [{"equals-ignore-case": "acme"}]}, True),
    ({"store": ["example_corp"], "event": ["order_cancelled"]}, False),  # all keys must match
    ({"$or": [{"store": ["nope"]}, {"price": [{"numeric": [">=", 200]}]}]}, True),
    ({"$or": [{"store": ["nope"]}, {"event": ["nope"]}]}, False),
]


@pytest.mark.parametrize(("policy", "expected"), MATCHES)
def test_attribute_policies(policy, expected):
    fp.validate(policy)
    assert fp.matches(policy, ATTRIBUTES) is expected


BODY = {"order": {"status": "paid", "total": 42, "items": [{"sku": "A1"}, {"sku": "B2"}]}, "flag": True, "note": None}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ({"order": {"status": ["paid"]}}, True),
        ({"order": {"status": ["open"]}}, False),
        ({"order": {"total": [{"numeric": [">=", 40]}]}}, True),
        ({"order": {"items": {"sku": ["B2"]}}}, True),
        ({"order": {"items": {"sku": ["C3"]}}}, False),
        ({"flag": [True]}, True),
        ({"note": [None]}, True),
        ({"order": {"coupon": [{"exists": False}]}}, True),
        ({"$or": [{"order": {"status": ["open"]}}, {"flag": [True]}]}, True),
    ],
)
def test_body_policies(policy, expected):
    fp.validate(policy, "MessageBody")
    assert fp.matches(policy, BODY) is expected


@pytest.mark.parametrize(
    ("text", "scope", "message"),
    [
        ("{", "MessageAttributes", "failed to parse JSON."),
        ("[]", "MessageAttributes", "Filter policy must be a JSON object"),
        ('{"a": []}', "MessageAttributes", "Empty arrays are not allowed"),
        ('{"a": "x"}', "MessageAttributes", '"a" must be an object or an array'),
        ('{"a": {"b": ["x"]}}', "MessageAttributes", '"a" must be an object or an array'),
        (json.dumps({k: ["x"] for k in "abcdef"}), "MessageAttributes", "Filter policy can not have more than 5 keys"),
        (json.dumps({k: list(range(6)) for k in "abc"}), "MessageAttributes", "Filter policy is too complex"),
        ('{"a": [{"numeric": [">", 10, "<", 5]}]}', "MessageAttributes", "Bottom must be less than top"),
        ('{"a": [{"numeric": ["~", 1]}]}', "MessageAttributes", "Unrecognized numeric range operator: ~"),
        (
            '{"a": [{"numeric": ["=", 1e10]}]}',
            "MessageAttributes",
            "Numeric value must be between -1.0E9 and 1.0E9 inclusive",
        ),
        ('{"a": [{"exists": "yes"}]}', "MessageAttributes", "exists match pattern must be either true or false."),
        ('{"a": [{"wildcard": "x*"}]}', "MessageAttributes", "Unrecognized match type wildcard"),
        ('{"$or": [{"a": ["x"]}]}', "MessageAttributes", '"$or" must be a list of at least two JSON objects'),
    ],
)
def test_invalid_policies(text, scope, message):
    with pytest.raises(fp.FilterPolicyError) as excinfo:
        fp.parse(text, scope)
    assert str(excinfo.value) == message
