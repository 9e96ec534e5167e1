"""DynamoDB attribute values in their wire form, validated and canonicalised.

An attribute value is a one-entry dict such as ``{"S": "x"}``, ``{"N": "12.5"}`` or
``{"B": b"..."}`` (the protocol layer has already base64-decoded B and BS). An item is a
dict of attribute name to attribute value. :func:`validate_item` and
:func:`validate_value` return *canonical* copies: numbers are normalised the way
DynamoDB returns them ("1.50" -> "1.5", "1e2" -> "100", "-0" -> "0"), so equal numbers
have equal text once stored.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from .errors import DynamoValidationError

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]

MAX_ITEM_SIZE = 400 * 1024
MAX_HASH_KEY_SIZE = 2048
MAX_RANGE_KEY_SIZE = 1024
MAX_NESTING = 32
MAX_DIGITS = 38
MIN_EXPONENT = -130  # smallest magnitude 1E-130
MAX_EXPONENT = 125  # largest magnitude 9.99..E+125

SET_TYPES = frozenset({"SS", "NS", "BS"})
ALL_TYPES = ("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL")

INVALID = "One or more parameter values were invalid: "
NOT_VALID = "One or more parameter values are not valid. "

# Wide enough that any sum or difference of two in-range 38-digit numbers is exact.
EXACT = Context(prec=400, Emax=10_000, Emin=-10_000)

_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
_SET_NAMES = {"SS": "string", "NS": "number", "BS": "binary"}


@dataclass(frozen=True, slots=True)
class KeySchema:
    """A table's or an index's key: attribute names and their scalar types (S, N, B)."""

    hash_key: str
    hash_type: str
    range_key: str | None = None
    range_type: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)

    def attributes(self) -> tuple[tuple[str, str], ...]:
        """``(name, type)`` for the hash key then, if any, the range key."""
        if self.range_key is None:
            return ((self.hash_key, self.hash_type),)
        return ((self.hash_key, self.hash_type), (self.range_key, self.range_type or "S"))


# --- numbers -------------------------------------------------------------------------


def check_number(value: Decimal) -> Decimal:
    """Return ``value`` without trailing zeros, or raise AWS's range/precision error."""
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # NaN / Infinity
        raise DynamoValidationError(f"The parameter cannot be converted to a numeric value: {value}")
    end = len(digits)
    while end and digits[end - 1] == 0:
        end -= 1
    start = 0
    while start < end and digits[start] == 0:
        start += 1
    if start == end:
        return Decimal(0)
    exponent += len(digits) - end
    digits = digits[start:end]
    adjusted = exponent + len(digits) - 1
    if adjusted > MAX_EXPONENT:
        raise DynamoValidationError(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        )
    if adjusted < MIN_EXPONENT:
        raise DynamoValidationError(
            "Number underflow. Attempting to store a number with magnitude smaller than supported range"
        )
    if len(digits) > MAX_DIGITS:
        raise DynamoValidationError("Attempting to store more than 38 significant digits in a Number")
    return Decimal((sign, digits, exponent))


def parse_number(text: Any) -> Decimal:
    """Parse a wire number string into a canonical Decimal (validated)."""
    if not isinstance(text, str) or not _NUMBER_RE.match(text):
        raise DynamoValidationError(f"The parameter cannot be converted to a numeric value: {text}")
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
        raise DynamoValidationError(f"The parameter cannot be converted to a numeric value: {text}") from None
    return check_number(value)


def format_number(value: Decimal) -> str:
    """Plain notation, as DynamoDB returns numbers (``1E+2`` -> ``100``)."""
    if not value:
        return "0"
    return format(value, "f")


def normalize_number(text: Any) -> str:
    return format_number(parse_number(text))


# --- type helpers --------------------------------------------------------------------


def type_of(av: AttributeValue) -> str:
    return next(iter(av))


def render_value(av: AttributeValue) -> str:
    """AWS's debug rendering of a value in messages, e.g. ``{N:5}``."""
    tag, value = next(iter(av.items()))
    if tag in ("B", "BS"):
        value = base64.b64encode(value).decode() if tag == "B" else [base64.b64encode(v).decode() for v in value]
    return f"{{{tag}:{value}}}"


def values_equal(a: AttributeValue, b: AttributeValue) -> bool:
    """DynamoDB equality: same type and equal value; numbers and sets compare by value."""
    ta, tb = next(iter(a)), next(iter(b))
    if ta != tb:
        return False
    va, vb = a[ta], b[tb]
    if ta == "N":
        return va == vb or Decimal(va) == Decimal(vb)
    if ta in ("SS", "BS"):
        return len(va) == len(vb) and set(va) == set(vb)
    if ta == "NS":
        return len(va) == len(vb) and {Decimal(x) for x in va} == {Decimal(x) for x in vb}
    if ta == "L":
        return len(va) == len(vb) and all(values_equal(x, y) for x, y in zip(va, vb, strict=True))
    if ta == "M":
        return va.keys() == vb.keys() and all(values_equal(v, vb[k]) for k, v in va.items())
    return bool(va == vb)


def compare_scalars(a: AttributeValue, b: AttributeValue) -> int | None:
    """-1/0/1 for two S, N or B values of the same type; ``None`` when not comparable."""
    ta, tb = next(iter(a)), next(iter(b))
    if ta != tb:
        return None
    if ta == "N":
        x: Any = Decimal(a["N"])
        y: Any = Decimal(b["N"])
    elif ta in ("S", "B"):
        x, y = a[ta], b[tb]
    else:
        return None
    return int(x > y) - int(x < y)


# --- validation ----------------------------------------------------------------------


def validate_value(av: Any, depth: int = 1) -> AttributeValue:
    """Validate one attribute value and return its canonical copy."""
    if depth > MAX_NESTING:
        raise DynamoValidationError("Nesting Levels have exceeded supported limits")
    if not isinstance(av, Mapping) or len(av) != 1:
        if isinstance(av, Mapping) and len(av) > 1:
            raise DynamoValidationError(
                "Supplied AttributeValue has more than one datatypes set, "
                "must contain exactly one of the supported datatypes"
            )
        raise DynamoValidationError(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        )
    tag, value = next(iter(av.items()))
    if tag == "S":
        if not isinstance(value, str):
            raise _bad_type(tag)
        return {"S": value}
    if tag == "N":
        return {"N": normalize_number(value)}
    if tag == "B":
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise _bad_type(tag)
        return {"B": bytes(value)}
    if tag == "BOOL":
        if not isinstance(value, bool):
            raise _bad_type(tag)
        return {"BOOL": value}
    if tag == "NULL":
        if value is not True:
            raise DynamoValidationError(INVALID + "Null attribute value types must have the value of true")
        return {"NULL": True}
    if tag in SET_TYPES:
        return {tag: _validate_set(tag, value)}
    if tag == "L":
        if not isinstance(value, list):
            raise _bad_type(tag)
        return {"L": [validate_value(v, depth + 1) for v in value]}
    if tag == "M":
        if not isinstance(value, Mapping):
            raise _bad_type(tag)
        return {"M": {_check_name(k): validate_value(v, depth + 1) for k, v in value.items()}}
    raise DynamoValidationError("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")


def _bad_type(tag: str) -> DynamoValidationError:
    return DynamoValidationError(f"{INVALID}Invalid value for attribute value type {tag}")


def _check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise DynamoValidationError(f"{INVALID}Attribute names must be strings")
    return name


def _validate_set(tag: str, members: Any) -> list[Any]:
    if not isinstance(members, list):
        raise _bad_type(tag)
    if not members:
        raise DynamoValidationError(f"{INVALID}An {_SET_NAMES[tag]} set  may not be empty")
    if tag == "SS":
        if not all(isinstance(m, str) for m in members):
            raise _bad_type(tag)
        out: list[Any] = list(members)
        keys: list[Any] = out
    elif tag == "NS":
        parsed = [parse_number(m) for m in members]
        out = [format_number(d) for d in parsed]
        keys = parsed
    else:
        if not all(isinstance(m, (bytes, bytearray, memoryview)) for m in members):
            raise _bad_type(tag)
        out = [bytes(m) for m in members]
        keys = out
    if len(set(keys)) != len(keys):
        shown = [base64.b64encode(m).decode() for m in out] if tag == "BS" else out
        raise DynamoValidationError(f"{INVALID}Input collection [{', '.join(shown)}] contains duplicates.")
    return out


def validate_item(item: Any, schema: KeySchema | None = None) -> Item:
    """Validate a PutItem item: values, key attributes against ``schema`` and the size.

    Returns the canonical copy to store.
    """
    if not isinstance(item, Mapping):
        raise DynamoValidationError(f"{INVALID}Item must be a map of attribute names to values")
    out = {_check_name(name): validate_value(av) for name, av in item.items()}
    if schema is not None:
        for name, expected in schema.attributes():
            if name not in out:
                raise DynamoValidationError(f"{INVALID}Missing the key {name} in the item")
            check_key_value(name, expected, out[name])
        check_key_sizes(out, schema)
    check_item_size(out)
    return out


def check_key_value(name: str, expected: str, av: AttributeValue, *, index: str | None = None) -> None:
    """Raise unless ``av`` is a non-empty scalar of the key's declared type."""
    actual = type_of(av)
    if actual != expected:
        if index is not None:
            raise DynamoValidationError(
                f"{INVALID}Type mismatch for Index Key {name} Expected: {expected} Actual: {actual} IndexName: {index}"
            )
        raise DynamoValidationError(f"{INVALID}Type mismatch for key {name} expected: {expected} actual: {actual}")
    if actual in ("S", "B") and not av[actual]:
        kind = "string" if actual == "S" else "binary"
        if index is not None:
            raise DynamoValidationError(
                f"{NOT_VALID}A value specified for a secondary index key is not supported. "
                f"The AttributeValue for a key attribute cannot contain an empty {kind} value. "
                f"IndexName: {index}, IndexKey: {name}"
            )
        raise DynamoValidationError(
            f"{NOT_VALID}The AttributeValue for a key attribute cannot contain an empty {kind} value. Key: {name}"
        )


def check_key_sizes(item: Item, schema: KeySchema) -> None:
    if _scalar_size(item[schema.hash_key]) > MAX_HASH_KEY_SIZE:
        raise DynamoValidationError(f"{INVALID}Size of hashkey has exceeded the maximum size limit of2048 bytes")
    if schema.range_key is not None and _scalar_size(item[schema.range_key]) > MAX_RANGE_KEY_SIZE:
        raise DynamoValidationError(
            f"{INVALID}Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
        )


def validate_index_keys(item: Item, index_name: str, schema: KeySchema) -> bool:
    """Check a written item against a secondary index's key types.

    Returns whether the item belongs in the index (it has every index key attribute);
    an item lacking one is simply not indexed, one with a wrong type is rejected.
    """
    present = True
    for name, expected in schema.attributes():
        av = item.get(name)
        if av is None:
            present = False
        else:
            check_key_value(name, expected, av, index=index_name)
    return present


def validate_key(key: Any, schema: KeySchema) -> Item:
    """Validate the ``Key`` parameter of GetItem/DeleteItem/UpdateItem."""
    if not isinstance(key, Mapping) or set(key) != set(schema.names):
        raise DynamoValidationError("The provided key element does not match the schema")
    out = {name: validate_value(av) for name, av in key.items()}
    for name, expected in schema.attributes():
        if type_of(out[name]) != expected:
            raise DynamoValidationError("The provided key element does not match the schema")
        check_key_value(name, expected, out[name])
    check_key_sizes(out, schema)
    return out


# --- sizes ---------------------------------------------------------------------------


def number_size(text: str) -> int:
    """Bytes DynamoDB bills for a number: one per base-100 digit, one for the exponent,
    one more for negatives."""
    value = Decimal(text)
    if not value:
        return 1
    sign, digits, exponent = check_number(value).as_tuple()
    assert isinstance(exponent, int)
    top = exponent + len(digits) - 1
    pairs = top // 2 - exponent // 2 + 1
    return pairs + 1 + sign


def _scalar_size(av: AttributeValue) -> int:
    tag, value = next(iter(av.items()))
    if tag == "S":
        return len(value.encode("utf-8"))
    if tag == "B":
        return len(value)
    return number_size(value)


def value_size(av: AttributeValue) -> int:
    """Billed size of a value (without its attribute name)."""
    tag, value = next(iter(av.items()))
    if tag == "S":
        return len(value.encode("utf-8"))
    if tag == "N":
        return number_size(value)
    if tag == "B":
        return len(value)
    if tag in ("BOOL", "NULL"):
        return 1
    if tag == "SS":
        return sum(len(v.encode("utf-8")) for v in value)
    if tag == "NS":
        return sum(number_size(v) for v in value)
    if tag == "BS":
        return sum(len(v) for v in value)
    if tag == "L":
        return 3 + sum(1 + value_size(v) for v in value)
    return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in value.items())


def item_size(item: Mapping[str, AttributeValue]) -> int:
    """Item size per AWS: each attribute's UTF-8 name length plus its value size."""
    return sum(len(name.encode("utf-8")) + value_size(av) for name, av in item.items())


def check_item_size(item: Mapping[str, AttributeValue], *, update: bool = False) -> None:
    if item_size(item) > MAX_ITEM_SIZE:
        if update:
            raise DynamoValidationError("Item size to update has exceeded the maximum allowed size")
        raise DynamoValidationError("Item size has exceeded the maximum allowed size")
