"""The backend's pure helpers: item JSON with binary values, capacity arithmetic, keyset ordering."""

from __future__ import annotations

import pytest

from serverless_lab.cloud.dynamodb import backend


@pytest.mark.parametrize(
    "item",
    [
        {"pk": {"S": "a"}},
        {"pk": {"B": b"\x00\xff"}, "bs": {"BS": [b"\x01", b"\x02"]}},
        # Attributes named B/BS hold attribute values (dicts), never raw strings: left alone.
        {"B": {"S": "not binary"}, "BS": {"L": [{"B": b"\x03"}]}, "m": {"M": {"B": {"N": "1"}}}},
        {"s": {"S": '"B":"looks like a binary but is text'}, "n": {"N": "1.5"}, "u": {"S": "ünïcode"}},
    ],
)
def test_items_round_trip_through_storage(item):
    assert backend.load_item(backend.dump_item(item)) == item


@pytest.mark.parametrize(
    ("size", "consistent", "transactional", "units"),
    [(0, False, False, 0.5), (4096, True, False, 1.0), (4097, True, False, 2.0), (100, False, True, 2.0)],
)
def test_read_units(size, consistent, transactional, units):
    assert backend.read_units(size, consistent=consistent, transactional=transactional) == units


@pytest.mark.parametrize(
    ("size", "transactional", "units"), [(0, False, 1.0), (1024, False, 1.0), (1025, False, 2.0), (3000, True, 6.0)]
)
def test_write_units(size, transactional, units):
    assert backend.write_units(size, transactional=transactional) == units


def test_keyset_condition_is_a_lexicographic_tuple_comparison():
    forward = backend._after(["a", "b"], [1, 2], True)
    assert str(forward) == "(OR: ('a__gt', 1), (AND: ('a', 1), ('b__gt', 2)))"
    backward = backend._after(["a"], [5], False)
    assert str(backward) == "(AND: ('a__lt', 5))"
