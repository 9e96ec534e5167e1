"""Order-preserving key encoding and Query key ranges."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serverless_lab.cloud.dynamodb.logic import (
    ExpressionContext,
    KeyRange,
    KeySchema,
    encode_key_value,
    key_condition_to_range,
)
from serverless_lab.cloud.dynamodb.logic.keys import encode_number, prefix_upper_bound
from serverless_lab.cloud.dynamodb.logic.types import EXACT, check_number, format_number

# Sorted ascending numerically; the encoding must sort the same way.
ORDERED_NUMBERS = [
    "-9.9999999999999999999999999999999999999E+125",
    "-1E+125",
    "-123456789012345678901234567890",
    "-100",
    "-99.99",
    "-10",
    "-9",
    "-1.23",
    "-1.2",
    "-1.1",
    "-1.01",
    "-1",
    "-0.99999999999999999999999999999999999999",
    "-0.5",
    "-0.1",
    "-1E-129",
    "-1.1E-130",
    "-1E-130",
    "0",
    "1E-130",
    "1.1E-130",
    "1E-129",
    "0.1",
    "0.5",
    "0.99999999999999999999999999999999999999",
    "1",
    "1.01",
    "1.1",
    "1.2",
    "1.23",
    "9",
    "10",
    "12345678901234567890123456789012345677",
    "12345678901234567890123456789012345678",
    "99.99",
    "100",
    "1E+125",
    "9.9999999999999999999999999999999999999E+125",
]


def _sorted_by_value(values: list[str]) -> list[str]:
    return sorted(values, key=Decimal)


def test_ordered_numbers_fixture_is_sorted_and_distinct() -> None:
    assert _sorted_by_value(ORDERED_NUMBERS[::-1]) != ORDERED_NUMBERS[::-1]
    assert len({Decimal(v) for v in ORDERED_NUMBERS}) == len(ORDERED_NUMBERS)


def test_number_encoding_sorts_numerically() -> None:
    encoded = [encode_key_value({"N": n}) for n in _sorted_by_value(ORDERED_NUMBERS)]
    assert encoded == sorted(encoded)
    assert len(set(encoded)) == len(encoded)


@pytest.mark.parametrize(("a", "b"), [("1", "1.0"), ("100", "1E2"), ("-0", "0"), ("0.50", ".5"), ("-7.10", "-7.1")])
def test_equal_numbers_encode_equal(a: str, b: str) -> None:
    assert encode_key_value({"N": a}) == encode_key_value({"N": b})


@pytest.mark.parametrize(
    "values",
    [
        ["", "A", "AB", "B", "a", "ab", "b", "z", "é", "€", "\uffff", "😀"],
        ["a", "a\x00", "a\x01", "aa", "b"],
    ],
)
def test_string_encoding_is_utf8_order(values: list[str]) -> None:
    encoded = [encode_key_value({"S": s}) for s in values]
    assert encoded == sorted(encoded)
    assert encoded[-1] == "😀".encode() or encoded[-1] == b"b"


def test_binary_encoding_is_unsigned_order() -> None:
    values = [b"", b"\x00", b"\x00\x00", b"\x01", b"\x7f", b"\x80", b"\xff", b"\xff\x00"]
    assert [encode_key_value({"B": v}) for v in values] == values


def test_encoding_rejects_non_key_types() -> None:
    with pytest.raises(ValueError):
        encode_key_value({"L": []})


@pytest.mark.parametrize(
    ("prefix", "bound"),
    [(b"ab", b"ac"), (b"a\xff", b"b"), (b"\xff\xff", None), (b"", None), (b"a\x00", b"a\x01")],
)
def test_prefix_upper_bound(prefix: bytes, bound: bytes | None) -> None:
    assert prefix_upper_bound(prefix) == bound


# --- properties ----------------------------------------------------------------------

_digits = st.integers(min_value=1, max_value=10**38 - 1)


@st.composite
def dynamo_numbers(draw: st.DrawFn) -> Decimal:
    """Any number DynamoDB accepts: up to 38 significant digits within the range."""
    if draw(st.integers(0, 20)) == 0:
        return Decimal(0)
    mantissa = draw(_digits)
    sign = draw(st.sampled_from([0, 1]))
    digits = tuple(int(c) for c in str(mantissa))
    exponent = draw(st.integers(min_value=-130 - len(digits) + 1, max_value=125 - len(digits) + 1))
    return check_number(Decimal((sign, digits, exponent)))


@settings(max_examples=400, deadline=None, database=None)
@given(dynamo_numbers(), dynamo_numbers())
def test_number_encoding_preserves_order(a: Decimal, b: Decimal) -> None:
    ea, eb = encode_number(a), encode_number(b)
    assert (ea < eb) == (a < b)
    assert (ea == eb) == (a == b)
    # And through the wire form.
    assert encode_key_value({"N": format_number(a)}) == ea


@settings(max_examples=200, deadline=None, database=None)
@given(dynamo_numbers())
def test_number_encoding_neighbours(a: Decimal) -> None:
    """Numbers differing in the 38th digit still sort correctly."""
    _, digits, exponent = a.as_tuple()
    assert isinstance(exponent, int)
    if not a:
        return
    ulp = Decimal((0, (1,), exponent + len(digits) - 38))
    bigger = EXACT.add(a, ulp)
    if -130 <= bigger.adjusted() <= 125:
        assert encode_number(a) < encode_number(check_number(bigger))


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(), st.text())
def test_string_encoding_preserves_order(a: str, b: str) -> None:
    assert (encode_key_value({"S": a}) < encode_key_value({"S": b})) == (a.encode() < b.encode())
    # Python orders str by code point, which is UTF-8 byte order.
    assert (a < b) == (a.encode() < b.encode())


@settings(max_examples=300, deadline=None, database=None)
@given(st.binary(), st.binary())
def test_binary_encoding_preserves_order(a: bytes, b: bytes) -> None:
    assert (encode_key_value({"B": a}) < encode_key_value({"B": b})) == (a < b)


# --- key ranges ----------------------------------------------------------------------

SCHEMA = KeySchema("pk", "S", "sk", "N")
STRING_SCHEMA = KeySchema("pk", "S", "sk", "S")


def _range(expression: str, values: dict, schema: KeySchema = SCHEMA) -> KeyRange:
    context = ExpressionContext(None, values)
    condition = context.key_condition(expression, schema)
    context.check_unused()
    return key_condition_to_range(condition)


def _n(value: str) -> bytes:
    return encode_key_value({"N": value})


@pytest.mark.parametrize(
    ("expression", "values", "expected"),
    [
        ("pk = :p", {":p": {"S": "a"}}, KeyRange(b"a")),
        ("pk = :p AND sk = :v", {":p": {"S": "a"}, ":v": {"N": "5"}}, KeyRange(b"a", _n("5"), True, _n("5"), True)),
        ("pk = :p AND sk < :v", {":p": {"S": "a"}, ":v": {"N": "5"}}, KeyRange(b"a", None, True, _n("5"), False)),
        ("pk = :p AND sk <= :v", {":p": {"S": "a"}, ":v": {"N": "5"}}, KeyRange(b"a", None, True, _n("5"), True)),
        ("pk = :p AND sk > :v", {":p": {"S": "a"}, ":v": {"N": "5"}}, KeyRange(b"a", _n("5"), False, None, True)),
        ("pk = :p AND sk >= :v", {":p": {"S": "a"}, ":v": {"N": "5"}}, KeyRange(b"a", _n("5"), True, None, True)),
        (":v < sk AND pk = :p", {":p": {"S": "a"}, ":v": {"N": "5"}}, KeyRange(b"a", _n("5"), False, None, True)),
        (
            "pk = :p AND sk BETWEEN :lo AND :hi",
            {":p": {"S": "a"}, ":lo": {"N": "-1"}, ":hi": {"N": "1"}},
            KeyRange(b"a", _n("-1"), True, _n("1"), True),
        ),
    ],
)
def test_key_condition_to_range(expression: str, values: dict, expected: KeyRange) -> None:
    assert _range(expression, values) == expected


def test_begins_with_range() -> None:
    key_range = _range("pk = :p AND begins_with(sk, :s)", {":p": {"S": "a"}, ":s": {"S": "ab"}}, STRING_SCHEMA)
    assert key_range == KeyRange(b"a", b"ab", True, b"ac", False, prefix=b"ab")
    assert key_range.contains(b"ab") and key_range.contains(b"abzzz")
    assert not key_range.contains(b"ac") and not key_range.contains(b"aa")


@settings(max_examples=200, deadline=None, database=None)
@given(dynamo_numbers(), dynamo_numbers(), dynamo_numbers())
def test_between_range_matches_numeric_semantics(x: Decimal, a: Decimal, b: Decimal) -> None:
    lo, hi = min(a, b), max(a, b)
    key_range = _range(
        "pk = :p AND sk BETWEEN :lo AND :hi",
        {":p": {"S": "a"}, ":lo": {"N": format_number(lo)}, ":hi": {"N": format_number(hi)}},
    )
    assert key_range.contains(encode_number(x)) == (lo <= x <= hi)
