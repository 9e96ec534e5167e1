"""Legacy conditional parameters rewritten as expressions."""

from __future__ import annotations

import pytest

from serverless_lab.cloud.dynamodb import legacy
from serverless_lab.cloud.dynamodb.logic import DynamoValidationError

ONE = {"N": "1"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"Expected": {"a": {"Exists": False}}}, {"ConditionExpression": "(attribute_not_exists(#l0))"}),
        ({"Expected": {"a": {"Value": ONE}}}, {"ConditionExpression": "(#l0 = :l0)"}),
        (
            {
                "Expected": {
                    "a": {"ComparisonOperator": "GT", "AttributeValueList": [ONE]},
                    "b": {"ComparisonOperator": "NULL"},
                },
                "ConditionalOperator": "OR",
            },
            {"ConditionExpression": "(#l0 > :l0) OR (attribute_not_exists(#l1))"},
        ),
        (
            {
                "KeyConditions": {
                    "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [ONE]},
                    "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [ONE, ONE]},
                }
            },
            {"KeyConditionExpression": "(#l0 = :l0) AND (#l1 BETWEEN :l1 AND :l2)"},
        ),
        (
            {
                "ScanFilter": {
                    "tags": {"ComparisonOperator": "IN", "AttributeValueList": [ONE, ONE]},
                    "s": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [ONE]},
                }
            },
            {"FilterExpression": "(#l0 IN (:l0, :l1)) AND (NOT contains(#l1, :l2))"},
        ),
        (
            {
                "AttributeUpdates": {
                    "a": {"Value": ONE},
                    "b": {"Action": "DELETE"},
                    "c": {"Action": "ADD", "Value": ONE},
                    "d": {"Action": "DELETE", "Value": {"SS": ["x"]}},
                }
            },
            {"UpdateExpression": "SET #l0 = :l0 REMOVE #l1 ADD #l2 :l1 DELETE #l3 :l2"},
        ),
    ],
)
def test_translation(params, expected):
    out = legacy.translate(params)
    assert {k: v for k, v in out.items() if not k.startswith("ExpressionAttribute")} == expected


@pytest.mark.parametrize(
    "params",
    [
        {"Expected": {"a": {"Exists": True}}},
        {"Expected": {"a": {"Exists": False, "Value": ONE}}},
        {"Expected": {"a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [ONE]}}},
        {"Expected": {"a": {"ComparisonOperator": "ALMOST", "AttributeValueList": [ONE]}}},
        {"Expected": {"a": {"Exists": False}}, "ConditionalOperator": "XOR"},
        {"AttributeUpdates": {"a": {"Action": "PUT"}}},
    ],
)
def test_invalid_legacy_parameters(params):
    with pytest.raises(DynamoValidationError):
        legacy.translate(params)


def test_mixing_legacy_and_expression_parameters_is_refused():
    with pytest.raises(DynamoValidationError, match="Can not use both expression and non-expression parameters"):
        legacy.check_not_mixed({"Expected": {}, "ConditionExpression": "a = :b"})
    assert legacy.check_not_mixed({"AttributesToGet": ["a"]}) == []
