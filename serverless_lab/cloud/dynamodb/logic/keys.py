"""Order-preserving byte encoding of key values, and Query key ranges.

The backend stores ``(table_id, pk_bytes, sk_bytes, item)`` and answers Query with an
index range scan, so ``encode_key_value`` must make byte order (memcmp, as SQLite BLOBs
and PostgreSQL bytea compare) equal DynamoDB's order for one key type:

* S: UTF-8 bytes (DynamoDB orders strings by their UTF-8 bytes).
* B: the bytes themselves (unsigned).
* N: ``0x02`` for zero; positives ``0x03``, one byte of biased exponent
  (exponent + 130 fits 0..255 exactly for 1E-130..9.9E+125), then the digits packed two
  per byte as nibbles ``digit + 1`` (so a shorter mantissa sorts before its extensions,
  and an odd tail is padded with nibble 0). Negatives ``0x01``, then the positive
  encoding's exponent and digit bytes inverted, then ``0xFF`` — the terminator puts a
  mantissa after its own extensions, reversing the "prefix sorts first" rule as
  negation requires (inverted digit bytes never reach 0xFF).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .types import (
    MIN_EXPONENT,
    AttributeValue,
    Item,
    check_number,
    compare_scalars,
    type_of,
    values_equal,
)

_NEGATIVE, _ZERO, _POSITIVE = b"\x01", b"\x02", b"\x03"


def encode_number(value: Decimal) -> bytes:
    """Sortable bytes for an in-range Decimal (see module docstring)."""
    if not value:
        return _ZERO
    sign, digits, exponent = check_number(value).as_tuple()
    assert isinstance(exponent, int)
    biased = exponent + len(digits) - 1 - MIN_EXPONENT
    nibbles = [d + 1 for d in digits]
    if len(nibbles) % 2:
        nibbles.append(0)
    packed = bytes((nibbles[i] << 4) | nibbles[i + 1] for i in range(0, len(nibbles), 2))
    if not sign:
        return _POSITIVE + bytes((biased,)) + packed
    return _NEGATIVE + bytes((255 - biased,)) + bytes(255 - b for b in packed) + b"\xff"


def encode_key_value(av: AttributeValue) -> bytes:
    """Sortable bytes of a key attribute value (S, N or B)."""
    tag = type_of(av)
    if tag == "S":
        text: str = av["S"]
        return text.encode("utf-8")
    if tag == "B":
        return bytes(av["B"])
    if tag == "N":
        return encode_number(Decimal(av["N"]))
    raise ValueError(f"not a key type: {tag}")


def prefix_upper_bound(prefix: bytes) -> bytes | None:
    """Smallest byte string greater than every string starting with ``prefix``."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes((stripped[-1] + 1,))


@dataclass(frozen=True, slots=True)
class KeyCondition:
    """A parsed KeyConditionExpression with its values bound.

    ``range_op`` is one of ``= < <= > >= BETWEEN begins_with`` (or ``None`` when only
    the partition key is given); ``range_values`` holds one value, two for BETWEEN.
    """

    hash_key: str
    hash_value: AttributeValue
    range_key: str | None = None
    range_op: str | None = None
    range_values: tuple[AttributeValue, ...] = ()

    def matches(self, item: Item) -> bool:
        """Whether ``item`` satisfies the condition (for in-memory checks)."""
        hv = item.get(self.hash_key)
        if hv is None or not values_equal(hv, self.hash_value):
            return False
        if self.range_key is None:
            return True
        rv = item.get(self.range_key)
        if rv is None:
            return False
        op, values = self.range_op, self.range_values
        if op == "begins_with":
            tag = type_of(rv)
            prefix = values[0].get(tag)
            return tag in ("S", "B") and prefix is not None and rv[tag].startswith(prefix)
        first = compare_scalars(rv, values[0])
        if first is None:
            return False
        if op == "BETWEEN":
            second = compare_scalars(rv, values[1])
            return first >= 0 and second is not None and second <= 0
        return {"=": first == 0, "<": first < 0, "<=": first <= 0, ">": first > 0, ">=": first >= 0}[op or "="]


@dataclass(frozen=True, slots=True)
class KeyRange:
    """What an index range scan needs: ``pk = pk_bytes`` and optional sk bounds.

    ``lower``/``upper`` are ``None`` when unbounded on that side. For begins_with,
    ``prefix`` is set and the bounds are ``[prefix, prefix_upper_bound(prefix))``.
    """

    pk: bytes
    lower: bytes | None = None
    lower_inclusive: bool = True
    upper: bytes | None = None
    upper_inclusive: bool = True
    prefix: bytes | None = None

    def contains(self, sk: bytes) -> bool:
        if self.lower is not None and (sk < self.lower or (sk == self.lower and not self.lower_inclusive)):
            return False
        if self.upper is not None and (sk > self.upper or (sk == self.upper and not self.upper_inclusive)):
            return False
        return True


def key_condition_to_range(condition: KeyCondition) -> KeyRange:
    """Turn a key condition into byte bounds on ``sk_bytes`` for one ``pk_bytes``."""
    pk = encode_key_value(condition.hash_value)
    op = condition.range_op
    if op is None:
        return KeyRange(pk)
    encoded = [encode_key_value(v) for v in condition.range_values]
    if op == "=":
        return KeyRange(pk, encoded[0], True, encoded[0], True)
    if op in ("<", "<="):
        return KeyRange(pk, upper=encoded[0], upper_inclusive=op == "<=")
    if op in (">", ">="):
        return KeyRange(pk, lower=encoded[0], lower_inclusive=op == ">=")
    if op == "BETWEEN":
        return KeyRange(pk, encoded[0], True, encoded[1], True)
    prefix = encoded[0]
    return KeyRange(pk, prefix, True, prefix_upper_bound(prefix), False, prefix=prefix)
