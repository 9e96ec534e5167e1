"""KeyConditionExpression: ``pk = :v`` plus at most one sort-key condition."""

from __future__ import annotations

from ..errors import DynamoValidationError
from ..keys import KeyCondition
from ..types import INVALID, NOT_VALID, AttributeValue, KeySchema, type_of
from .binding import Binder
from .conditions import compile_condition
from .nodes import And, Between, Call, Compare, In, Node, Not, Or, Path, Value

_FLIPPED = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _unsupported(operator: str) -> DynamoValidationError:
    return DynamoValidationError(f"Invalid operator used in KeyConditionExpression: {operator}")


def _conjuncts(node: Node, out: list[Node]) -> list[Node]:
    if isinstance(node, And):
        _conjuncts(node.left, out)
        _conjuncts(node.right, out)
    elif isinstance(node, Or):
        raise _unsupported("OR")
    elif isinstance(node, Not):
        raise _unsupported("NOT")
    else:
        out.append(node)
    return out


def _key_name(node: Node, binder: Binder) -> str:
    path = binder.path(node)  # type: ignore[arg-type]
    if len(path) != 1:
        raise DynamoValidationError("KeyConditionExpressions cannot have conditions on nested attributes")
    return str(path[0])


def _simple(node: Node, binder: Binder) -> tuple[str, str, tuple[AttributeValue, ...]]:
    """``(attribute, operator, values)`` of one key condition."""
    if isinstance(node, In):
        raise _unsupported("IN")
    if isinstance(node, Call):
        if node.name != "begins_with" or not isinstance(node.args[1], Value):
            raise _unsupported(node.name)
        return _key_name(node.args[0], binder), "begins_with", (binder.value(node.args[1]),)
    if isinstance(node, Between):
        if isinstance(node.operand, Path) and isinstance(node.low, Value) and isinstance(node.high, Value):
            values = (binder.value(node.low), binder.value(node.high))
            return _key_name(node.operand, binder), "BETWEEN", values
        raise DynamoValidationError("Query key condition not supported")
    assert isinstance(node, Compare)
    if node.op == "<>":
        raise _unsupported("<>")
    for side in (node.left, node.right):
        if isinstance(side, Call):
            raise _unsupported(side.name)
    if isinstance(node.left, Path) and isinstance(node.right, Value):
        return _key_name(node.left, binder), node.op, (binder.value(node.right),)
    if isinstance(node.left, Value) and isinstance(node.right, Path):
        return _key_name(node.right, binder), _FLIPPED[node.op], (binder.value(node.left),)
    raise DynamoValidationError("Query key condition not supported")


def bind_key_condition(tree: Node, binder: Binder, schema: KeySchema) -> KeyCondition:
    compile_condition(tree, binder)  # the generic operand checks (BETWEEN order, begins_with type)
    conditions: dict[str, tuple[str, tuple[AttributeValue, ...]]] = {}
    for part in _conjuncts(tree, []):
        name, op, values = _simple(part, binder)
        if name in conditions:
            raise DynamoValidationError("KeyConditionExpressions must only contain one condition per key")
        conditions[name] = (op, values)
    if schema.hash_key not in conditions:
        raise DynamoValidationError(f"Query condition missed key schema element: {schema.hash_key}")
    if any(name not in schema.names for name in conditions) or conditions[schema.hash_key][0] != "=":
        raise DynamoValidationError("Query key condition not supported")
    for name, expected in schema.attributes():
        if name not in conditions:
            continue
        for value in conditions[name][1]:
            if type_of(value) != expected:
                raise DynamoValidationError(f"{INVALID}Condition parameter type does not match schema type")
    hash_value = conditions[schema.hash_key][1][0]
    if type_of(hash_value) in ("S", "B") and not next(iter(hash_value.values())):
        raise DynamoValidationError(
            f"{NOT_VALID}The AttributeValue for a key attribute cannot contain an empty "
            f"{'string' if type_of(hash_value) == 'S' else 'binary'} value. Key: {schema.hash_key}"
        )
    if schema.range_key is None or schema.range_key not in conditions:
        return KeyCondition(schema.hash_key, hash_value)
    op, values = conditions[schema.range_key]
    return KeyCondition(schema.hash_key, hash_value, schema.range_key, op, values)
