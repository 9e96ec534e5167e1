"""The entry point: one request's expressions sharing its placeholder maps."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from ..errors import DynamoValidationError
from ..keys import KeyCondition
from ..types import AttributeValue, Item, KeySchema, validate_value
from .binding import Binder, check_paths_disjoint
from .conditions import Predicate, compile_condition
from .key_condition import bind_key_condition
from .parser import parse_condition, parse_projection, parse_update
from .projection import Projection
from .update import Update

_NAME_KEY = re.compile(r"#[A-Za-z0-9_]+\Z")
_VALUE_KEY = re.compile(r":[A-Za-z0-9_]+\Z")


class Condition:
    """A bound Condition/Filter expression: ``condition(item) -> bool``.

    ``None`` (no such item) evaluates like an item without attributes.
    """

    __slots__ = ("_test",)

    def __init__(self, test: Predicate) -> None:
        self._test = test

    def __call__(self, item: Item | None) -> bool:
        return bool(self._test(item or {}))


class ExpressionContext:
    """Binds a request's expressions to its ExpressionAttributeNames/Values.

    Create one per request, compile each expression the request carries, then call
    :meth:`check_unused` so placeholders no expression used are rejected as AWS does.
    """

    def __init__(
        self,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        if names is not None:
            if not names:
                raise DynamoValidationError("ExpressionAttributeNames must not be empty")
            for key in names:
                if not _NAME_KEY.match(key):
                    raise DynamoValidationError(
                        f'ExpressionAttributeNames contains invalid key: Syntax error; key: "{key}"'
                    )
        self.names: dict[str, str] = dict(names or {})
        self.values: dict[str, AttributeValue] = {}
        if values is not None:
            if not values:
                raise DynamoValidationError("ExpressionAttributeValues must not be empty")
            for key, value in values.items():
                if not _VALUE_KEY.match(key):
                    raise DynamoValidationError(
                        f'ExpressionAttributeValues contains invalid key: Syntax error; key: "{key}"'
                    )
                try:
                    self.values[key] = validate_value(value)
                except DynamoValidationError as exc:
                    raise DynamoValidationError(
                        f"ExpressionAttributeValues contains invalid value: {exc.message} for key {key}"
                    ) from None
        self.used_names: set[str] = set()
        self.used_values: set[str] = set()

    def _binder(self, kind: str, names: tuple[str, ...], values: tuple[str, ...]) -> Binder:
        binder = Binder(kind, self.names, self.values, self.used_names, self.used_values)
        binder.check_defined(names, values)
        return binder

    def condition(self, expression: str, kind: str = "ConditionExpression") -> Condition:
        """Compile a ConditionExpression (or, with ``kind="FilterExpression"``, a filter)."""
        parsed = parse_condition(expression, kind)
        binder = self._binder(kind, parsed.names, parsed.values)
        return Condition(compile_condition(parsed.tree, binder))  # type: ignore[arg-type]

    def key_condition(self, expression: str, schema: KeySchema) -> KeyCondition:
        """Compile a KeyConditionExpression against the table's or index's key schema."""
        parsed = parse_condition(expression, "KeyConditionExpression")
        binder = self._binder("KeyConditionExpression", parsed.names, parsed.values)
        return bind_key_condition(parsed.tree, binder, schema)  # type: ignore[arg-type]

    def projection(self, expression: str) -> Projection:
        parsed = parse_projection(expression)
        binder = self._binder("ProjectionExpression", parsed.names, parsed.values)
        paths = tuple(binder.path(p) for p in parsed.tree)  # type: ignore[union-attr]
        check_paths_disjoint(paths, "ProjectionExpression")
        return Projection(paths)

    def update(self, expression: str, key_names: Collection[str] = ()) -> Update:
        """Compile an UpdateExpression; ``key_names`` are the table's key attributes."""
        parsed = parse_update(expression)
        binder = self._binder("UpdateExpression", parsed.names, parsed.values)
        return Update(parsed.tree, binder, key_names)  # type: ignore[arg-type]

    def check_unused(self) -> None:
        """Reject names/values that no compiled expression used."""
        unused_names = [k for k in self.names if k not in self.used_names]
        if unused_names:
            raise DynamoValidationError(
                f"Value provided in ExpressionAttributeNames unused in expressions: keys: {{{', '.join(unused_names)}}}"
            )
        unused_values = [k for k in self.values if k not in self.used_values]
        if unused_values:
            raise DynamoValidationError(
                "Value provided in ExpressionAttributeValues unused in expressions: "
                f"keys: {{{', '.join(unused_values)}}}"
            )
