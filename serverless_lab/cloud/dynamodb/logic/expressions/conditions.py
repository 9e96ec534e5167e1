"""Compile a bound condition tree into a fast ``item -> bool`` closure.

Semantics follow DynamoDB: a missing attribute or a comparison between different types
makes a comparison false (``<>`` true) rather than an error; numbers compare
numerically, strings and binaries bytewise.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from ..types import ALL_TYPES, AttributeValue, Item, compare_scalars, render_value, type_of, values_equal
from .binding import Binder, resolve_path
from .nodes import And, Between, Call, Compare, In, Node, Not, Or, Path, Value

Predicate = Callable[[Item], bool]
Operand = Callable[[Item], "AttributeValue | None"]

_ORDERED: dict[str, Callable[[int], bool]] = {
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}
_VALID_TYPES = "{ B; NULL; SS; BOOL; L; BS; N; NS; S; M }"


def compile_condition(node: Node, binder: Binder) -> Predicate:
    if isinstance(node, And):
        left, right = compile_condition(node.left, binder), compile_condition(node.right, binder)
        return lambda item: left(item) and right(item)
    if isinstance(node, Or):
        left, right = compile_condition(node.left, binder), compile_condition(node.right, binder)
        return lambda item: left(item) or right(item)
    if isinstance(node, Not):
        inner = compile_condition(node.operand, binder)
        return lambda item: not inner(item)
    if isinstance(node, Compare):
        return _compare(node, binder)
    if isinstance(node, Between):
        return _between(node, binder)
    if isinstance(node, In):
        return _in(node, binder)
    if isinstance(node, Call):
        return _function(node, binder)
    raise AssertionError(f"not a condition: {node!r}")  # the parser never builds one


def compile_operand(node: Node, binder: Binder) -> Operand:
    if isinstance(node, Value):
        constant = binder.value(node)
        return lambda item: constant
    if isinstance(node, Path):
        path = binder.path(node)
        if len(path) == 1:
            name = path[0]
            return lambda item: item.get(name)  # type: ignore[arg-type]
        return lambda item: resolve_path(item, path)
    if isinstance(node, Call) and node.name == "size":
        target = compile_operand(node.args[0], binder)
        return lambda item: _size(target(item))
    raise AssertionError(f"not an operand: {node!r}")


def _constant(node: Node, binder: Binder) -> AttributeValue | None:
    return binder.value(node) if isinstance(node, Value) else None


def _check_scalar_operand(node: Node, op: str, binder: Binder) -> None:
    constant = _constant(node, binder)
    if constant is not None and type_of(constant) not in ("S", "N", "B"):
        raise binder.error(
            f"Incorrect operand type for operator or function; operator or function: {op}, "
            f"operand type: {type_of(constant)}"
        )


def _compare(node: Compare, binder: Binder) -> Predicate:
    left, right = compile_operand(node.left, binder), compile_operand(node.right, binder)
    op = node.op
    if op == "=":

        def equal(item: Item) -> bool:
            a, b = left(item), right(item)
            return a is not None and b is not None and values_equal(a, b)

        return equal
    if op == "<>":

        def not_equal(item: Item) -> bool:
            a, b = left(item), right(item)
            return a is None or b is None or not values_equal(a, b)

        return not_equal
    _check_scalar_operand(node.left, op, binder)
    _check_scalar_operand(node.right, op, binder)
    test = _ORDERED[op]

    def ordered(item: Item) -> bool:
        a, b = left(item), right(item)
        if a is None or b is None:
            return False
        result = compare_scalars(a, b)
        return result is not None and test(result)

    return ordered


def _between(node: Between, binder: Binder) -> Predicate:
    for part in (node.operand, node.low, node.high):
        _check_scalar_operand(part, "BETWEEN", binder)
    low_value, high_value = _constant(node.low, binder), _constant(node.high, binder)
    if low_value is not None and high_value is not None:
        order = compare_scalars(low_value, high_value)
        if order is not None and order > 0:
            raise binder.error(
                "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
                f"lower operand: AttributeValue: {render_value(low_value)}, "
                f"upper operand: AttributeValue: {render_value(high_value)}"
            )
    operand = compile_operand(node.operand, binder)
    low, high = compile_operand(node.low, binder), compile_operand(node.high, binder)

    def between(item: Item) -> bool:
        value, lo, hi = operand(item), low(item), high(item)
        if value is None or lo is None or hi is None:
            return False
        above, below = compare_scalars(value, lo), compare_scalars(value, hi)
        return above is not None and below is not None and above >= 0 and below <= 0

    return between


def _in(node: In, binder: Binder) -> Predicate:
    operand = compile_operand(node.operand, binder)
    choices = [compile_operand(choice, binder) for choice in node.choices]

    def contained(item: Item) -> bool:
        value = operand(item)
        if value is None:
            return False
        for choice in choices:
            candidate = choice(item)
            if candidate is not None and values_equal(value, candidate):
                return True
        return False

    return contained


def _function(node: Call, binder: Binder) -> Predicate:
    name = node.name
    target = compile_operand(node.args[0], binder)
    if name == "attribute_exists":
        return lambda item: target(item) is not None
    if name == "attribute_not_exists":
        return lambda item: target(item) is None
    argument = compile_operand(node.args[1], binder)
    constant = _constant(node.args[1], binder)
    if name == "attribute_type":
        if constant is not None:
            if type_of(constant) != "S":
                raise binder.error(
                    "Incorrect operand type for operator or function; operator or function: "
                    f"attribute_type, operand type: {type_of(constant)}"
                )
            if constant["S"] not in ALL_TYPES:
                raise binder.error(
                    f"Invalid attribute type name found; type: {constant['S']}, valid types: {_VALID_TYPES}"
                )

        def has_type(item: Item) -> bool:
            value, wanted = target(item), argument(item)
            return value is not None and wanted is not None and wanted.get("S") == type_of(value)

        return has_type
    if name == "begins_with":
        if constant is not None and type_of(constant) not in ("S", "B"):
            raise binder.error(
                "Incorrect operand type for operator or function; operator or function: "
                f"begins_with, operand type: {type_of(constant)}"
            )

        def begins_with(item: Item) -> bool:
            value, prefix = target(item), argument(item)
            if value is None or prefix is None:
                return False
            tag = type_of(value)
            return tag in ("S", "B") and tag in prefix and value[tag].startswith(prefix[tag])

        return begins_with

    def contains(item: Item) -> bool:
        value, element = target(item), argument(item)
        if value is None or element is None:
            return False
        return _contains(value, element)

    return contains


def _contains(value: AttributeValue, element: AttributeValue) -> bool:
    tag, etag = type_of(value), type_of(element)
    if tag == "L":
        return any(values_equal(member, element) for member in value["L"])
    if tag in ("S", "B"):
        return etag == tag and element[tag] in value[tag]
    if tag == "SS" and etag == "S":
        return element["S"] in value["SS"]
    if tag == "BS" and etag == "B":
        return element["B"] in value["BS"]
    if tag == "NS" and etag == "N":
        wanted = Decimal(element["N"])
        return any(Decimal(member) == wanted for member in value["NS"])
    return False


def _size(value: AttributeValue | None) -> AttributeValue | None:
    if value is None:
        return None
    tag, inner = next(iter(value.items()))
    if tag in ("N", "BOOL", "NULL"):
        return None
    return {"N": str(len(inner))}
