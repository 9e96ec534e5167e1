"""DynamoDB's legacy conditional parameters, rewritten as expressions (no Django here).

``Expected``, ``KeyConditions``, ``QueryFilter``, ``ScanFilter`` (with ``ConditionalOperator``)
and ``AttributeUpdates`` predate the expression language; AWS still accepts them. Each becomes the
equivalent Condition/KeyCondition/Filter/Update expression over generated ``#lN``/``:lN``
placeholders, so the one expression engine evaluates both forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .logic import DynamoValidationError

LEGACY_PARAMETERS = (
    "Expected",
    "KeyConditions",
    "QueryFilter",
    "ScanFilter",
    "AttributeUpdates",
    "ConditionalOperator",
)
EXPRESSION_PARAMETERS = (
    "ConditionExpression",
    "KeyConditionExpression",
    "FilterExpression",
    "UpdateExpression",
    "ProjectionExpression",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
)
_COMPARISONS = {"EQ": "=", "NE": "<>", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">"}
# Operator -> how many values its AttributeValueList holds (None: one or more).
_ARITY = {
    **dict.fromkeys(_COMPARISONS, 1),
    "NOT_NULL": 0,
    "NULL": 0,
    "CONTAINS": 1,
    "NOT_CONTAINS": 1,
    "BEGINS_WITH": 1,
    "BETWEEN": 2,
    "IN": None,
}


class _Placeholders:
    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def name(self, attribute: str) -> str:
        placeholder = f"#l{len(self.names)}"
        self.names[placeholder] = attribute
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":l{len(self.values)}"
        self.values[placeholder] = value
        return placeholder


def check_not_mixed(params: Mapping[str, Any]) -> list[str]:
    """The legacy parameters present; raise if expression parameters are present too."""
    legacy = [name for name in LEGACY_PARAMETERS if name in params]
    modern = [name for name in EXPRESSION_PARAMETERS if name in params]
    if legacy and modern:
        raise DynamoValidationError(
            "Can not use both expression and non-expression parameters in the same request: "
            f"Non-expression parameters: {{{', '.join(legacy)}}} Expression parameters: {{{', '.join(modern)}}}"
        )
    return legacy


def _condition(attribute: str, spec: Mapping[str, Any], ph: _Placeholders, parameter: str) -> str:
    operator = spec.get("ComparisonOperator")
    values = list(spec.get("AttributeValueList") or ())
    if operator is None:  # Expected's older form: Value and/or Exists
        exists = spec.get("Exists", True)
        if "Value" in spec:
            if not exists:
                raise DynamoValidationError(
                    "One or more parameter values were invalid: Value cannot be used when Exists is false "
                    f"for Attribute: {attribute}"
                )
            operator, values = "EQ", [spec["Value"]]
        elif exists:
            raise DynamoValidationError(
                "One or more parameter values were invalid: Value must be provided when Exists is true "
                f"for Attribute: {attribute}"
            )
        else:
            operator = "NULL"
    if operator not in _ARITY:
        raise DynamoValidationError(
            f"1 validation error detected: Value '{operator}' at '{parameter}' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(_ARITY)}]"  # noqa: E501
        )
    arity = _ARITY[operator]
    if (arity is None and not values) or (arity is not None and len(values) != arity):
        raise DynamoValidationError(
            f"One or more parameter values were invalid: Invalid number of argument(s) for the {operator} ComparisonOperator"  # noqa: E501
        )
    name = ph.name(attribute)
    placeholders = [ph.value(v) for v in values]
    if operator in _COMPARISONS:
        return f"{name} {_COMPARISONS[operator]} {placeholders[0]}"
    if operator == "NOT_NULL":
        return f"attribute_exists({name})"
    if operator == "NULL":
        return f"attribute_not_exists({name})"
    if operator == "CONTAINS":
        return f"contains({name}, {placeholders[0]})"
    if operator == "NOT_CONTAINS":
        return f"NOT contains({name}, {placeholders[0]})"
    if operator == "BEGINS_WITH":
        return f"begins_with({name}, {placeholders[0]})"
    if operator == "BETWEEN":
        return f"{name} BETWEEN {placeholders[0]} AND {placeholders[1]}"
    return f"{name} IN ({', '.join(placeholders)})"


def _conditions(conditions: Mapping[str, Any], joiner: str, ph: _Placeholders, parameter: str) -> str | None:
    if joiner not in ("AND", "OR"):
        raise DynamoValidationError(
            f"1 validation error detected: Value '{joiner}' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [AND, OR]"  # noqa: E501
        )
    parts = [_condition(attribute, spec, ph, parameter) for attribute, spec in conditions.items()]
    if not parts:
        return None
    return f" {joiner} ".join(f"({part})" for part in parts)


def _update(updates: Mapping[str, Any], ph: _Placeholders) -> str | None:
    clauses: dict[str, list[str]] = {"SET": [], "REMOVE": [], "ADD": [], "DELETE": []}
    for attribute, spec in updates.items():
        action = spec.get("Action", "PUT")
        name = ph.name(attribute)
        if action == "PUT":
            if "Value" not in spec:
                raise DynamoValidationError(
                    "One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified"  # noqa: E501
                )
            clauses["SET"].append(f"{name} = {ph.value(spec['Value'])}")
        elif action == "DELETE" and "Value" not in spec:
            clauses["REMOVE"].append(name)
        elif action in ("ADD", "DELETE"):
            if "Value" not in spec:
                raise DynamoValidationError(
                    f"One or more parameter values were invalid: ADD action requires a value for {attribute}"
                )
            clauses[action].append(f"{name} {ph.value(spec['Value'])}")
        else:
            raise DynamoValidationError(
                f"1 validation error detected: Value '{action}' at 'attributeUpdates.{attribute}.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"  # noqa: E501
            )
    text = " ".join(f"{clause} {', '.join(parts)}" for clause, parts in clauses.items() if parts)
    return text or None


def translate(params: Mapping[str, Any]) -> dict[str, Any]:
    """Expression parameters equivalent to the request's legacy ones (see module docstring)."""
    ph = _Placeholders()
    joiner = params.get("ConditionalOperator", "AND")
    out: dict[str, Any] = {}
    if "Expected" in params:
        out["ConditionExpression"] = _conditions(params["Expected"], joiner, ph, "expected")
    if "KeyConditions" in params:
        out["KeyConditionExpression"] = _conditions(params["KeyConditions"], "AND", ph, "keyConditions")
    for parameter in ("QueryFilter", "ScanFilter"):
        if parameter in params:
            out["FilterExpression"] = _conditions(params[parameter], joiner, ph, parameter[0].lower() + parameter[1:])
    if "AttributeUpdates" in params:
        out["UpdateExpression"] = _update(params["AttributeUpdates"], ph)
    out = {key: value for key, value in out.items() if value is not None}
    if ph.names:
        out["ExpressionAttributeNames"] = ph.names
    if ph.values:
        out["ExpressionAttributeValues"] = ph.values
    return out
