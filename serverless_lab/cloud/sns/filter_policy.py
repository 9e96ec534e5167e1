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
from dataclasses import dataclass, field
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


# --- explaining ---------------------------------------------------------------------------------
# The console's filter-policy tester: the same decisions as ``matches`` (each condition is judged by
# ``_condition_matches`` itself), with a sentence per key and per condition saying why.


@dataclass
class ConditionCheck:
    condition: str  # the condition as JSON
    matched: bool
    reason: str


@dataclass
class KeyCheck:
    key: str  # a key, a dotted path into the body, "$or", or "alternative N"
    matched: bool
    reason: str
    conditions: list[ConditionCheck] = field(default_factory=list)
    children: list[KeyCheck] = field(default_factory=list)  # nested keys, or $or's alternatives


@dataclass
class Explanation:
    matched: bool
    summary: str
    checks: list[KeyCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _show(value: Any) -> str:
    if value is _MISSING:
        return "(missing)"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, ensure_ascii=False)


def explain(policy: dict[str, Any], document: dict[str, Any]) -> Explanation:
    """Why ``document`` matches ``policy`` or not; ``matched`` always equals ``matches(policy, document)``."""
    checks = _explain_keys(policy, document, "")
    failed = [check.key for check in checks if not check.matched]
    if not failed:
        return Explanation(True, "It matches: every key of the policy matched, so SNS delivers the message.", checks)
    names = ", ".join(failed)
    return Explanation(
        False,
        f"It does not match: {names} did not match (all keys must), so SNS filters the message out "
        "for this subscription.",
        checks,
    )


def _explain_keys(policy: dict[str, Any], document: Any, prefix: str) -> list[KeyCheck]:
    checks = []
    for key, conditions in policy.items():
        if key == "$or":
            alternatives = []
            for number, alternative in enumerate(conditions, 1):
                inner = _explain_keys(alternative, document, prefix)
                ok = all(check.matched for check in inner)
                reason = "all of its keys match" if ok else "not all of its keys match"
                alternatives.append(KeyCheck(f"alternative {number}", ok, reason, children=inner))
            ok = any(alternative.matched for alternative in alternatives)
            reason = "at least one alternative matches" if ok else "none of the alternatives matches"
            checks.append(KeyCheck("$or", ok, reason, children=alternatives))
            continue
        path = prefix + key
        value = document.get(key, _MISSING) if isinstance(document, dict) else _MISSING
        if isinstance(conditions, dict):
            checks.append(_explain_object(path, conditions, value))
        else:
            results = [_check_condition_of(condition, value) for condition in conditions]
            ok = any(result.matched for result in results)
            reason = "the message has no such key" if value is _MISSING else f"value {_show(value)}"
            if ok:
                reason += ": one condition matches"
            else:
                reason += ": no condition matches" if len(results) > 1 else ": the condition does not match"
            checks.append(KeyCheck(path, ok, reason, results))
    return checks


def _check_condition_of(condition: Any, value: Any) -> ConditionCheck:
    matched = _condition_matches(condition, value)
    return ConditionCheck(json.dumps(condition, ensure_ascii=False), matched, _why(condition, value, matched))


def _explain_object(path: str, conditions: dict[str, Any], value: Any) -> KeyCheck:
    candidates = [c for c in (value if isinstance(value, list) else [value]) if isinstance(c, dict)]
    if not candidates:
        reason = "the message has no such key" if value is _MISSING else f"value {_show(value)} is not a JSON object"
        return KeyCheck(path, False, reason + ", and the policy looks inside it")
    tried = [_explain_keys(conditions, candidate, path + ".") for candidate in candidates]
    for inner in tried:
        if all(check.matched for check in inner):
            reason = "its keys match" if len(candidates) == 1 else "one object of the array matches"
            return KeyCheck(path, True, reason, children=inner)
    reason = "its keys do not all match" if len(candidates) == 1 else "no object of the array matches"
    return KeyCheck(path, False, reason, children=tried[0])


def _why(condition: Any, value: Any, matched: bool) -> str:
    if isinstance(condition, dict) and "exists" in condition:
        present = value is not _MISSING
        if condition["exists"]:
            return "the key is present" if present else "the key is missing"
        return "the key is missing, as required" if not present else "the key is present, but must be missing"
    if value is _MISSING:
        return 'the key is missing: only {"exists": false} matches a missing key'
    if isinstance(value, list):
        if isinstance(condition, dict) and "anything-but" in condition:
            if not value:
                return "an empty array has nothing to compare"
            if matched:
                return "no element of the array is excluded"
            hit = next(v for v in value if not _scalar_matches(condition, v))
            return f"element {_show(hit)} is excluded: {_scalar_why(condition, hit, False)}"
        hits = [v for v in value if _scalar_matches(condition, v)]
        if hits:
            return f"element {_show(hits[0])} of the array matches: {_scalar_why(condition, hits[0], True)}"
        return "no element of the array matches"
    return _scalar_why(condition, value, matched)


def _scalar_why(condition: Any, value: Any, matched: bool) -> str:
    shown = _show(value)
    if isinstance(condition, dict):
        ((operator, operand),) = condition.items()
        if operator in ("prefix", "suffix", "equals-ignore-case") and not isinstance(value, str):
            return f"{shown} is not a string, and {operator} compares strings"
        if operator == "prefix":
            return f"{shown} {'starts' if matched else 'does not start'} with {_show(operand)}"
        if operator == "suffix":
            return f"{shown} {'ends' if matched else 'does not end'} with {_show(operand)}"
        if operator == "equals-ignore-case":
            return f"{shown} {'equals' if matched else 'differs from'} {_show(operand)} ignoring case"
        if operator == "numeric":
            number = _number(value)
            if number is None:
                return f"{shown} is not a number (give the attribute the Number type)"
            for op, bound in zip(operand[0::2], operand[1::2], strict=True):
                if not _in_range([op, bound], number):
                    return f"{shown} is not {op} {_show(bound)}"
            return f"{shown} is " + " and ".join(
                f"{op} {_show(b)}" for op, b in zip(operand[0::2], operand[1::2], strict=True)
            )
        if operator == "anything-but":
            if matched:
                return f"{shown} is not among the excluded {_show(operand)}"
            return f"{shown} is excluded by anything-but {_show(operand)}"
        return f"unknown operator {operator}"
    if condition is None or isinstance(condition, bool):
        return f"{shown} {'is' if matched else 'is not'} {_show(condition)}"
    if isinstance(condition, (int, float)):
        if _number(value) is None:
            return f"{shown} is not a number, so it cannot equal {_show(condition)}"
        return f"{shown} {'=' if matched else '≠'} {_show(condition)}"
    if not isinstance(value, str):
        return f"{shown} is not a string, and {_show(condition)} matches the string exactly"
    if matched:
        return f"{shown} equals {_show(condition)}"
    hint = " (case matters: try equals-ignore-case)" if value.lower() == condition.lower() else ""
    return f"{shown} is not {_show(condition)}{hint}"


def explain_message(
    policy_text: str,
    scope: str,
    *,
    attributes: dict[str, dict[str, Any]] | None = None,
    body: str = "",
) -> Explanation:
    """Explain a policy (JSON text, validated; FilterPolicyError when invalid) against a message.

    ``attributes`` are SNS message attributes (DataType/StringValue); ``body`` the message text.
    """
    policy = parse(policy_text, scope)
    if scope == "MessageBody":
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            return Explanation(
                False,
                "It does not match: with FilterPolicyScope MessageBody the message must be a JSON object, "
                "and this one is not.",
            )
        return explain(policy, document)
    attributes = attributes or {}
    explanation = explain(policy, attributes_document(attributes))
    for name, attribute in attributes.items():
        data_type = attribute.get("DataType", "String")
        if data_type.startswith("Binary"):
            explanation.notes.append(f"{name} is a Binary attribute: filter policies never match Binary attributes.")
        elif data_type.startswith("Number") and not isinstance(attributes_document({name: attribute}).get(name), float):
            explanation.notes.append(f"{name} is not a valid number, so it is ignored.")
        elif data_type == "String.Array" and name not in attributes_document({name: attribute}):
            explanation.notes.append(f"{name} is not a JSON array, so it is ignored.")
    return explanation
