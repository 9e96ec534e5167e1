"""Attribute value validation, number canonicalisation, key checks and item sizes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from serverless_lab.cloud.dynamodb.logic import (
    DynamoValidationError,
    KeySchema,
    item_size,
    normalize_number,
    validate_index_keys,
    validate_item,
    validate_key,
    validate_value,
    values_equal,
)
from serverless_lab.cloud.dynamodb.logic.types import (
    MAX_ITEM_SIZE,
    check_item_size,
    compare_scalars,
    number_size,
    render_value,
    value_size,
)

SCHEMA = KeySchema("id", "S")
COMPOSITE = KeySchema("pk", "S", "sk", "N")
INVALID = "One or more parameter values were invalid: "


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", "1"),
        ("1.50", "1.5"),
        ("1e2", "100"),
        ("1E+2", "100"),
        ("-0", "0"),
        ("0.000", "0"),
        ("+7", "7"),
        ("00042", "42"),
        (".5", "0.5"),
        ("5.", "5"),
        ("-12.3400e-2", "-0.1234"),
        ("1E-130", "0." + "0" * 129 + "1"),
        ("9.9999999999999999999999999999999999999E+125", "99999999999999999999999999999999999999" + "0" * 88),
        ("-9.9999999999999999999999999999999999999E+125", "-99999999999999999999999999999999999999" + "0" * 88),
        ("12345678901234567890123456789012345678", "12345678901234567890123456789012345678"),
        ("1234567890123456789012345678901234567800000", "1234567890123456789012345678901234567800000"),
        ("0.00000000000000000000000000000000000000000001", "0.00000000000000000000000000000000000000000001"),
    ],
)
def test_number_normalisation(text: str, expected: str) -> None:
    assert normalize_number(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "The parameter cannot be converted to a numeric value: abc"),
        ("", "The parameter cannot be converted to a numeric value: "),
        ("NaN", "The parameter cannot be converted to a numeric value: NaN"),
        ("Infinity", "The parameter cannot be converted to a numeric value: Infinity"),
        (" 1", "The parameter cannot be converted to a numeric value:  1"),
        ("1e", "The parameter cannot be converted to a numeric value: 1e"),
        ("0x10", "The parameter cannot be converted to a numeric value: 0x10"),
        ("123456789012345678901234567890123456789", "Attempting to store more than 38 significant digits in a Number"),
        ("1.00000000000000000000000000000000000001", "Attempting to store more than 38 significant digits in a Number"),
        ("1E+126", "Number overflow. Attempting to store a number with magnitude larger than supported range"),
        ("-1E+126", "Number overflow. Attempting to store a number with magnitude larger than supported range"),
        ("1E-131", "Number underflow. Attempting to store a number with magnitude smaller than supported range"),
        ("-0.9E-130", "Number underflow. Attempting to store a number with magnitude smaller than supported range"),
    ],
)
def test_number_errors(text: str, message: str) -> None:
    with pytest.raises(DynamoValidationError) as exc:
        normalize_number(text)
    assert exc.value.message == message
    assert exc.value.code == "ValidationException"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"S": ""}, {"S": ""}),
        ({"B": b""}, {"B": b""}),
        ({"B": bytearray(b"ab")}, {"B": b"ab"}),
        ({"N": "1.0"}, {"N": "1"}),
        ({"NS": ["1", "2.50"]}, {"NS": ["1", "2.5"]}),
        ({"SS": ["a", ""]}, {"SS": ["a", ""]}),
        ({"BS": [b"a", b"b"]}, {"BS": [b"a", b"b"]}),
        ({"BOOL": False}, {"BOOL": False}),
        ({"NULL": True}, {"NULL": True}),
        ({"L": [{"N": "01"}, {"L": []}]}, {"L": [{"N": "1"}, {"L": []}]}),
        ({"M": {"a": {"M": {"b": {"N": "1e1"}}}}}, {"M": {"a": {"M": {"b": {"N": "10"}}}}}),
        ({"M": {}}, {"M": {}}),
    ],
)
def test_validate_value_canonicalises(value: dict, expected: dict) -> None:
    assert validate_value(value) == expected


def _nested(depth: int) -> dict:
    value: dict = {"S": "x"}
    for _ in range(depth - 1):
        value = {"L": [value]}
    return value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"SS": []}, INVALID + "An string set  may not be empty"),
        ({"NS": []}, INVALID + "An number set  may not be empty"),
        ({"BS": []}, INVALID + "An binary set  may not be empty"),
        ({"SS": ["a", "a"]}, INVALID + "Input collection [a, a] contains duplicates."),
        ({"NS": ["1", "1.0"]}, INVALID + "Input collection [1, 1] contains duplicates."),
        ({"BS": [b"a", b"a"]}, INVALID + "Input collection [YQ==, YQ==] contains duplicates."),
        ({"NS": ["1", "x"]}, "The parameter cannot be converted to a numeric value: x"),
        ({"NULL": False}, INVALID + "Null attribute value types must have the value of true"),
        ({}, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"),
        ({"X": "1"}, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"),
        (
            {"S": "a", "N": "1"},
            "Supplied AttributeValue has more than one datatypes set, "
            "must contain exactly one of the supported datatypes",
        ),
        ({"S": 1}, INVALID + "Invalid value for attribute value type S"),
        ({"B": "text"}, INVALID + "Invalid value for attribute value type B"),
        ({"BOOL": "true"}, INVALID + "Invalid value for attribute value type BOOL"),
        ({"L": {}}, INVALID + "Invalid value for attribute value type L"),
        ({"M": []}, INVALID + "Invalid value for attribute value type M"),
        ({"SS": "abc"}, INVALID + "Invalid value for attribute value type SS"),
        ({"L": [{"SS": []}]}, INVALID + "An string set  may not be empty"),
        (_nested(33), "Nesting Levels have exceeded supported limits"),
    ],
)
def test_validate_value_errors(value: dict, message: str) -> None:
    with pytest.raises(DynamoValidationError) as exc:
        validate_value(value)
    assert exc.value.message == message


def test_nesting_limit_is_inclusive() -> None:
    assert validate_value(_nested(32))


@pytest.mark.parametrize(
    ("item", "schema", "message"),
    [
        ({"x": {"S": "a"}}, SCHEMA, INVALID + "Missing the key id in the item"),
        ({"id": {"N": "1"}}, SCHEMA, INVALID + "Type mismatch for key id expected: S actual: N"),
        ({"id": {"SS": ["a"]}}, SCHEMA, INVALID + "Type mismatch for key id expected: S actual: SS"),
        ({"pk": {"S": "a"}}, COMPOSITE, INVALID + "Missing the key sk in the item"),
        ({"pk": {"S": "a"}, "sk": {"S": "1"}}, COMPOSITE, INVALID + "Type mismatch for key sk expected: N actual: S"),
        (
            {"id": {"S": ""}},
            SCHEMA,
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain "
            "an empty string value. Key: id",
        ),
        (
            {"id": {"B": b""}},
            KeySchema("id", "B"),
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain "
            "an empty binary value. Key: id",
        ),
        (
            {"id": {"S": "x" * 2049}},
            SCHEMA,
            INVALID + "Size of hashkey has exceeded the maximum size limit of2048 bytes",
        ),
        (
            {"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": "y" * MAX_ITEM_SIZE}},
            COMPOSITE,
            "Item size has exceeded the maximum allowed size",
        ),
        (
            {"pk": {"S": "a"}, "sk": {"B": b"x" * 1025}},
            KeySchema("pk", "S", "sk", "B"),
            INVALID + "Aggregated size of all range keys has exceeded the size limit of 1024 bytes",
        ),
    ],
)
def test_validate_item_errors(item: dict, schema: KeySchema, message: str) -> None:
    with pytest.raises(DynamoValidationError) as exc:
        validate_item(item, schema)
    assert exc.value.message == message


def test_validate_item_returns_canonical_copy() -> None:
    item = {"pk": {"S": "a"}, "sk": {"N": "1.0"}, "e": {"S": ""}, "eb": {"B": b""}}
    assert validate_item(item, COMPOSITE) == {"pk": {"S": "a"}, "sk": {"N": "1"}, "e": {"S": ""}, "eb": {"B": b""}}
    assert item["sk"] == {"N": "1.0"}


def test_hash_key_of_exactly_2048_bytes_is_accepted() -> None:
    assert validate_item({"id": {"S": "é" * 1024}}, SCHEMA)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ({"id": {"S": "a"}, "x": {"S": "b"}}, "The provided key element does not match the schema"),
        ({}, "The provided key element does not match the schema"),
        ({"other": {"S": "a"}}, "The provided key element does not match the schema"),
        ({"id": {"N": "1"}}, "The provided key element does not match the schema"),
        (
            {"id": {"S": ""}},
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain "
            "an empty string value. Key: id",
        ),
    ],
)
def test_validate_key_errors(key: dict, message: str) -> None:
    with pytest.raises(DynamoValidationError) as exc:
        validate_key(key, SCHEMA)
    assert exc.value.message == message


def test_validate_key_ok() -> None:
    assert validate_key({"pk": {"S": "a"}, "sk": {"N": "2.0"}}, COMPOSITE) == {"pk": {"S": "a"}, "sk": {"N": "2"}}


def test_index_keys() -> None:
    schema = KeySchema("gpk", "S", "gsk", "N")
    assert validate_index_keys({"gpk": {"S": "a"}, "gsk": {"N": "1"}}, "gsi1", schema) is True
    assert validate_index_keys({"gpk": {"S": "a"}}, "gsi1", schema) is False
    with pytest.raises(DynamoValidationError) as exc:
        validate_index_keys({"gpk": {"N": "1"}}, "gsi1", schema)
    assert exc.value.message == INVALID + "Type mismatch for Index Key gpk Expected: S Actual: N IndexName: gsi1"
    with pytest.raises(DynamoValidationError) as exc:
        validate_index_keys({"gpk": {"S": ""}}, "gsi1", schema)
    assert exc.value.message == (
        "One or more parameter values are not valid. A value specified for a secondary index key is not "
        "supported. The AttributeValue for a key attribute cannot contain an empty string value. "
        "IndexName: gsi1, IndexKey: gpk"
    )


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("0", 1),
        ("1", 2),
        ("10", 2),
        ("100", 2),
        ("12", 2),
        ("123", 3),
        ("1.5", 3),
        ("12.5", 3),
        ("0.01", 2),
        ("-1", 3),
        ("12345678901234567890123456789012345678", 20),
    ],
)
def test_number_size(text: str, size: int) -> None:
    assert number_size(text) == size


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ({"S": "abc"}, 3),
        ({"S": "é€😀"}, 2 + 3 + 4),
        ({"B": b"\x00\x01"}, 2),
        ({"BOOL": True}, 1),
        ({"NULL": True}, 1),
        ({"SS": ["ab", "c"]}, 3),
        ({"NS": ["1", "123"]}, 5),
        ({"BS": [b"a", b"bc"]}, 3),
        ({"L": []}, 3),
        ({"M": {}}, 3),
        ({"L": [{"S": "ab"}, {"N": "1"}]}, 3 + 3 + 3),
        ({"M": {"ab": {"S": "xyz"}}}, 3 + 1 + 2 + 3),
    ],
)
def test_value_size(value: dict, size: int) -> None:
    assert value_size(value) == size


def test_item_size_counts_names_in_utf8() -> None:
    assert item_size({"é": {"S": "ab"}, "id": {"N": "1"}}) == 2 + 2 + 2 + 2


def test_item_size_limit_is_inclusive() -> None:
    item = {"a": {"S": "x" * (MAX_ITEM_SIZE - 1)}}
    check_item_size(item)
    item["a"] = {"S": "x" * MAX_ITEM_SIZE}
    with pytest.raises(DynamoValidationError, match="Item size has exceeded the maximum allowed size"):
        check_item_size(item)
    with pytest.raises(DynamoValidationError, match="Item size to update has exceeded the maximum allowed size"):
        check_item_size(item, update=True)


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ({"N": "1"}, {"N": "1.0"}, True),
        ({"N": "1"}, {"S": "1"}, False),
        ({"SS": ["a", "b"]}, {"SS": ["b", "a"]}, True),
        ({"NS": ["1", "2"]}, {"NS": ["2.0", "1"]}, True),
        ({"NS": ["1", "2"]}, {"NS": ["1"]}, False),
        ({"BS": [b"a"]}, {"BS": [b"a"]}, True),
        ({"L": [{"N": "1"}]}, {"L": [{"N": "1.00"}]}, True),
        ({"L": [{"N": "1"}, {"N": "2"}]}, {"L": [{"N": "2"}, {"N": "1"}]}, False),
        ({"M": {"a": {"N": "1"}}}, {"M": {"a": {"N": "1"}}}, True),
        ({"M": {"a": {"N": "1"}}}, {"M": {"b": {"N": "1"}}}, False),
        ({"BOOL": True}, {"BOOL": True}, True),
        ({"NULL": True}, {"NULL": True}, True),
        ({"B": b"a"}, {"B": b"b"}, False),
    ],
)
def test_values_equal(a: dict, b: dict, equal: bool) -> None:
    assert values_equal(a, b) is equal


@pytest.mark.parametrize(
    ("a", "b", "order"),
    [
        ({"N": "2"}, {"N": "10"}, -1),
        ({"N": "-2"}, {"N": "-10"}, 1),
        ({"N": "12345678901234567890123456789012345678"}, {"N": "12345678901234567890123456789012345679"}, -1),
        ({"N": "1E+125"}, {"N": "99999999999999999999999999999999999999E+88"}, -1),
        ({"S": "B"}, {"S": "a"}, -1),
        ({"S": "a"}, {"S": "a"}, 0),
        ({"S": "\uffff"}, {"S": "😀"}, -1),
        ({"B": b"\x7f"}, {"B": b"\x80"}, -1),
        ({"S": "1"}, {"N": "1"}, None),
        ({"L": []}, {"L": []}, None),
    ],
)
def test_compare_scalars(a: dict, b: dict, order: int | None) -> None:
    assert compare_scalars(a, b) == order


def test_render_value() -> None:
    assert render_value({"N": "5"}) == "{N:5}"
    assert render_value({"B": b"a"}) == "{B:YQ==}"


def test_arbitrary_precision_is_exact() -> None:
    assert normalize_number(str(Decimal("0.1") * 3)) == "0.3"
