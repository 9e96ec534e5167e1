"""The filter-policy tester's explanations: the same verdict as ``matches``, and a reason per key and condition."""

from __future__ import annotations

import json
from typing import Any

import pytest

from serverless_lab.cloud.sns import filter_policy
from serverless_lab.cloud.sns.filter_policy import FilterPolicyError, KeyCheck, explain, explain_message, matches


def attrs(**values: Any) -> dict[str, dict[str, str]]:
    out = {}
    for name, value in values.items():
        if isinstance(value, list):
            out[name] = {"DataType": "String.Array", "StringValue": json.dumps(value)}
        elif isinstance(value, (int, float)):
            out[name] = {"DataType": "Number", "StringValue": str(value)}
        else:
            out[name] = {"DataType": "String", "StringValue": value}
    return out


# (policy, document, matched, the first failing or matching condition's reason fragment)
CASES = [
    ({"color": ["red"]}, {"color": "red"}, True, '"red" equals "red"'),
    ({"color": ["red"]}, {"color": "Red"}, False, "case matters"),
    ({"color": ["red"]}, {}, False, "the key is missing"),
    ({"color": [{"prefix": "bl"}]}, {"color": "blue"}, True, 'starts with "bl"'),
    ({"color": [{"prefix": "bl"}]}, {"color": "red"}, False, 'does not start with "bl"'),
    ({"file": [{"suffix": ".png"}]}, {"file": "a.jpg"}, False, 'does not end with ".png"'),
    ({"color": [{"equals-ignore-case": "RED"}]}, {"color": "red"}, True, "ignoring case"),
    ({"size": [{"numeric": [">", 10, "<=", 20]}]}, {"size": 15.0}, True, "15 is > 10 and <= 20"),
    ({"size": [{"numeric": [">", 10, "<=", 20]}]}, {"size": 25.0}, False, "25 is not <= 20"),
    ({"size": [{"numeric": ["=", 3]}]}, {"size": "3"}, False, "is not a number"),
    ({"size": [3]}, {"size": 3.0}, True, "3 = 3"),
    ({"size": [3]}, {"size": 4.0}, False, "4 ≠ 3"),
    ({"color": [{"anything-but": ["red", "blue"]}]}, {"color": "green"}, True, "not among the excluded"),
    ({"color": [{"anything-but": ["red", "blue"]}]}, {"color": "red"}, False, "excluded by anything-but"),
    ({"color": [{"anything-but": {"prefix": "re"}}]}, {"color": "red"}, False, "excluded by anything-but"),
    ({"color": [{"anything-but": "red"}]}, {}, False, "the key is missing"),
    ({"color": [{"exists": True}]}, {"color": "x"}, True, "the key is present"),
    ({"color": [{"exists": False}]}, {"color": "x"}, False, "must be missing"),
    ({"color": [{"exists": False}]}, {}, True, "missing, as required"),
    ({"tags": ["vip"]}, {"tags": ["new", "vip"]}, True, 'element "vip" of the array matches'),
    ({"tags": ["vip"]}, {"tags": ["new"]}, False, "no element of the array matches"),
    ({"tags": [{"anything-but": "spam"}]}, {"tags": ["ok", "spam"]}, False, 'element "spam" is excluded'),
    ({"flag": [True]}, {"flag": True}, True, "true is true"),
    ({"flag": [None]}, {"flag": "x"}, False, '"x" is not null'),
]


@pytest.mark.parametrize("policy,document,verdict,reason", CASES)
def test_it_explains_each_operator_with_the_same_verdict_as_matches(policy, document, verdict, reason):
    explanation = explain(policy, document)
    assert explanation.matched is verdict is matches(policy, document)
    [check] = explanation.checks
    assert check.matched is verdict
    assert any(reason in condition.reason for condition in check.conditions), [c.reason for c in check.conditions]


def test_a_non_match_names_the_keys_that_failed():
    policy = {"color": ["red"], "size": [{"numeric": [">", 10]}], "kind": [{"exists": True}]}
    explanation = explain(policy, {"color": "red", "size": 5.0})
    assert not explanation.matched
    assert "size, kind did not match" in explanation.summary
    assert [(c.key, c.matched) for c in explanation.checks] == [("color", True), ("size", False), ("kind", False)]
    assert explanation.checks[2].reason == "the message has no such key: the condition does not match"


def test_or_alternatives_are_explained_one_by_one():
    policy = {"$or": [{"color": ["red"]}, {"size": [{"numeric": [">", 10]}]}]}
    explanation = explain(policy, {"color": "blue", "size": 20.0})
    assert explanation.matched and matches(policy, {"color": "blue", "size": 20.0})
    [or_check] = explanation.checks
    assert or_check.key == "$or" and or_check.reason == "at least one alternative matches"
    assert [(a.key, a.matched) for a in or_check.children] == [("alternative 1", False), ("alternative 2", True)]
    assert not explain(policy, {"color": "blue", "size": 1.0}).checks[0].matched


def test_nested_body_keys_are_explained_by_path():
    policy = {"order": {"total": [{"numeric": [">=", 100]}], "country": ["NL"]}}
    document = {"order": {"total": 50, "country": "NL"}}
    explanation = explain(policy, document)
    assert not explanation.matched and not matches(policy, document)
    [order] = explanation.checks
    assert order.key == "order" and order.reason == "its keys do not all match"
    assert [(c.key, c.matched) for c in order.children] == [("order.total", False), ("order.country", True)]
    assert "50 is not >= 100" in order.children[0].conditions[0].reason


def test_an_array_of_objects_matches_when_one_object_does():
    policy = {"items": {"sku": ["B"]}}
    document = {"items": [{"sku": "A"}, {"sku": "B"}]}
    explanation = explain(policy, document)
    assert explanation.matched and matches(policy, document)
    assert explanation.checks[0].reason == "one object of the array matches"
    scalar = explain(policy, {"items": "B"})
    assert not scalar.matched and "is not a JSON object" in scalar.checks[0].reason


def test_explain_message_reads_attributes_and_notes_what_sns_ignores():
    explanation = explain_message(
        json.dumps({"size": [{"numeric": [">", 1]}], "blob": [{"exists": True}]}),
        "MessageAttributes",
        attributes=attrs(size=5) | {"blob": {"DataType": "Binary", "BinaryValue": "aGk="}},
    )
    assert not explanation.matched
    assert [c.matched for c in explanation.checks] == [True, False]
    assert explanation.notes == ["blob is a Binary attribute: filter policies never match Binary attributes."]


def test_explain_message_on_the_body_scope():
    policy = json.dumps({"event": [{"prefix": "order."}]})
    assert explain_message(policy, "MessageBody", body='{"event": "order.created"}').matched
    not_json = explain_message(policy, "MessageBody", body="plain text")
    assert not not_json.matched and "must be a JSON object" in not_json.summary


def test_explain_message_rejects_an_invalid_policy_like_sns():
    with pytest.raises(FilterPolicyError, match="failed to parse JSON"):
        explain_message("{nope", "MessageAttributes")
    with pytest.raises(FilterPolicyError, match="Unrecognized match type wildcard"):
        explain_message(json.dumps({"a": [{"wildcard": "x*"}]}), "MessageAttributes")


def _all_checks(checks: list[KeyCheck]) -> int:
    return sum(1 + _all_checks(c.children) for c in checks)


def test_every_key_gets_a_check():
    policy = {"a": ["x"], "$or": [{"b": ["y"]}, {"c": {"d": ["z"]}}]}
    explanation = filter_policy.explain(policy, {"a": "x", "c": {"d": "z"}})
    assert explanation.matched and _all_checks(explanation.checks) == 7  # a, $or, alt 1, b, alt 2, c, c.d
