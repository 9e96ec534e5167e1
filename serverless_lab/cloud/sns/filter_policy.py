"""SNS subscription filter policies: validation with SNS's limits and messages, and matching.

A policy maps keys to a list of conditions (any may match); all keys must match; ``$or`` holds
alternative sub-policies. With ``FilterPolicyScope=MessageAttributes`` keys name message
attributes (a policy is flat); with ``MessageBody`` they are paths into the JSON message, nested
as objects. Conditions: exact strings, numbers, booleans and null; ``prefix``, ``suffix``,
``anything-but`` (a value, a list, or a ``prefix``/``suffix``), ``numeric`` ranges, ``exists``,
``equals-ignore-case``. A ``String.Array`` attribute (or a JSON array in the body) matches when
any element does. No Django imports here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

MAX_KEYS = 5
MAX_COMBINATIONS = 150
MAX_POLICY_BYTES = 256 * 1024
_NUMERIC_LIMIT = 1e9
_NUMERIC_OPS = {"=", "<", "<=", ">", ">="}
_MISSING = object()


class FilterPolicyError(ValueError):
    """An invalid policy; ``str()`` is the text after ``Invalid parameter: FilterPolicy: ``."""


# --- validation ---------------------------------------------------------------------------------


def parse(text: str, scope: str = "MessageAttributes") -> dict[str, Any]:
    """The policy in ``text``, validated; raises FilterPolicyError."""
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise FilterPolicyError("Filter policy is too large")
    try:
        policy = json.loads(text)
    except ValueError:
        raise FilterPolicyError("failed to parse JSON.") from None
    if not isinstance(policy, dict):
        raise FilterPolicyError("Filter policy must be a JSON object")
    validate(policy, scope)
    return policy


def validate(policy: dict[str, Any], scope: str = "MessageAttributes") -> None:
    nested = scope == "MessageBody"
    keys = list(_leaf_paths(policy, nested))
    if len(keys) > MAX_KEYS:
        raise FilterPolicyError("Filter policy can not have more than 5 keys")
    if _combinations(policy) > MAX_COMBINATIONS:
        raise FilterPolicyError("Filter policy is too complex")


def _leaf_paths(policy: dict[str, Any], nested: bool, prefix: str = "") -> Iterator[str]:
    if not policy:
        raise FilterPolicyError("Filter policy can not be empty")
    for key, value in policy.items():
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2 or not all(isinstance(v, dict) for v in value):
                raise FilterPolicyError('"$or" must be a list of at least two JSON objects')
            seen: set[str] = set()
            for alternative in value:
                seen.update(_leaf_paths(alternative, nested, prefix))
            yield from sorted(seen)
        elif isinstance(value, dict):
            if not nested:
                raise FilterPolicyError(f'"{key}" must be an object or an array')
            yield from _leaf_paths(value, nested, f"{prefix}{key}.")
        elif isinstance(value, list):
            if not value:
                raise FilterPolicyError("Empty arrays are not allowed")
            for condition in value:
                _check_condition(key, condition)
            yield prefix + key
        else:
            raise FilterPolicyError(f'"{key}" must be an object or an array')


def _check_condition(key: str, condition: Any) -> None:
    if condition is None or isinstance(condition, (str, bool)):
        return
    if isinstance(condition, (int, float)):
        _check_number(condition)
        return
    if not isinstance(condition, dict) or len(condition) != 1:
        raise FilterPolicyError(f'Match value must be String, number, true, false, or null ("{key}")')
    ((operator, operand),) = condition.items()
    if operator in ("prefix", "suffix", "equals-ignore-case"):
        if not isinstance(operand, str):
            raise FilterPolicyError(f'"{operator}" match pattern must be a string')
    elif operator == "exists":
        if not isinstance(operand, bool):
            raise FilterPolicyError("exists match pattern must be either true or false.")
    elif operator == "anything-but":
        _check_anything_but(operand)
    elif operator == "numeric":
        _check_numeric(operand)
    else:
        raise FilterPolicyError(f"Unrecognized match type {operator}")


def _check_anything_but(operand: Any) -> None:
    if isinstance(operand, dict):
        if (
            len(operand) != 1
            or next(iter(operand)) not in ("prefix", "suffix")
            or not isinstance(next(iter(operand.values())), str)
        ):
            raise FilterPolicyError('Unsupported anything-but pattern: only "prefix" and "suffix" are supported')
    elif isinstance(operand, list):
        if not operand:
            raise FilterPolicyError("Empty arrays are not allowed")
        for value in operand:
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise FilterPolicyError("Inside anything but list, start|null|boolean is not supported.")
    elif not isinstance(operand, (str, int, float)) or isinstance(operand, bool):
        raise FilterPolicyError("anything-but: Value must be a string, a number or an array")


def _check_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FilterPolicyError("Value of numeric must be a number")
    if not -_NUMERIC_LIMIT <= value <= _NUMERIC_LIMIT:
        raise FilterPolicyError("Numeric value must be between -1.0E9 and 1.0E9 inclusive")
    return float(value)


def _check_numeric(operand: Any) -> None:
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        raise FilterPolicyError("Value of numeric must be an array.")
    ops = operand[0::2]
    for op, value in zip(ops, operand[1::2], strict=True):
        if op not in _NUMERIC_OPS:
            raise FilterPolicyError(f"Unrecognized numeric range operator: {op}")
        _check_number(value)
    if len(operand) == 4:
        (low_op, low), (high_op, high) = (operand[0], operand[1]), (operand[2], operand[3])
        if low_op not in (">", ">=") or high_op not in ("<", "<="):
            raise FilterPolicyError("Too many elements in numeric expression")
        if low >= high:
            raise FilterPolicyError("Bottom must be less than top")


def _combinations(policy: dict[str, Any]) -> int:
    total = 1
    alternatives = 0
    for key, value in policy.items():
        if key == "$or":
            alternatives += sum(_combinations(v) for v in value)
        elif isinstance(value, dict):
            total *= _combinations(value)
        else:
            total *= len(value)
    return total * max(alternatives, 1)


# --- matching -----------------------------------------------------------------------------------


def attributes_document(attributes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """SNS message attributes (DataType/StringValue) as the values policies compare against."""
    values: dict[str, Any] = {}
    for name, attribute in attributes.items():
        data_type = attribute.get("DataType", "String")
        text = attribute.get("StringValue")
        if data_type.startswith("Binary") or text is None:
            continue  # binary attributes never match
        if data_type.startswith("Number"):
            try:
                values[name] = float(text)
            except ValueError:
                continue
        elif data_type == "String.Array":
            try:
                parsed = json.loads(text)
            except ValueError:
                continue
            values[name] = parsed if isinstance(parsed, list) else [parsed]
        else:
            values[name] = text
    return values


def matches(policy: dict[str, Any], document: dict[str, Any]) -> bool:
    """Whether ``document`` (``attributes_document`` output, or the parsed JSON body) matches."""
    for key, conditions in policy.items():
        if key == "$or":
            if not any(matches(alternative, document) for alternative in conditions):
                return False
            continue
        value = document.get(key, _MISSING) if isinstance(document, dict) else _MISSING
        if isinstance(conditions, dict):
            candidates = value if isinstance(value, list) else [value]
            if not any(isinstance(c, dict) and matches(conditions, c) for c in candidates):
                return False
        elif not any(_condition_matches(condition, value) for condition in conditions):
            return False
    return True


def _condition_matches(condition: Any, value: Any) -> bool:
    if isinstance(condition, dict) and "exists" in condition:
        present = value is not _MISSING
        return present if condition["exists"] else not present
    if value is _MISSING:
        return False
    if isinstance(value, list):
        if isinstance(condition, dict) and "anything-but" in condition:
            return all(_scalar_matches(condition, v) for v in value) if value else False
        return any(_scalar_matches(condition, v) for v in value)
    return _scalar_matches(condition, value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def _scalar_matches(condition: Any, value: Any) -> bool:
    if isinstance(condition, dict):
        ((operator, operand),) = condition.items()
        if operator == "prefix":
            return isinstance(value, str) and value.startswith(operand)
        if operator == "suffix":
            return isinstance(value, str) and value.endswith(operand)
        if operator == "equals-ignore-case":
            return isinstance(value, str) and value.lower() == operand.lower()
        if operator == "numeric":
            number = _number(value)
            return number is not None and _in_range(operand, number)
        if operator == "anything-but":
            return not _anything_but_hit(operand, value)
        return False
    if condition is None or isinstance(condition, bool):
        return value is condition
    if isinstance(condition, (int, float)):
        number = _number(value)
        return number is not None and number == float(condition)
    return isinstance(value, str) and value == condition


def _anything_but_hit(operand: Any, value: Any) -> bool:
    if isinstance(operand, dict):
        ((operator, text),) = operand.items()
        return isinstance(value, str) and (value.startswith(text) if operator == "prefix" else value.endswith(text))
    options = operand if isinstance(operand, list) else [operand]
    return any(_scalar_matches(option, value) for option in options)


def _in_range(operand: list[Any], number: float) -> bool:
    for op, bound in zip(operand[0::2], operand[1::2], strict=True):
        bound = float(bound)
        ok = {
            "=": number == bound,
            "<": number < bound,
            "<=": number <= bound,
            ">": number > bound,
            ">=": number >= bound,
        }[op]
        if not ok:
            return False
    return True
