"""Placeholder substitution and document paths.

A :class:`Binder` turns the cached syntax tree's ``#name``/``:value`` placeholders into
real attribute names and values for one request, recording which placeholders were
used so the request can reject unused ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..errors import DynamoValidationError
from ..types import AttributeValue, Item
from .nodes import Path, Value

ResolvedPath = tuple[str | int, ...]


class Binder:
    def __init__(
        self,
        kind: str,
        names: Mapping[str, str],
        values: Mapping[str, AttributeValue],
        used_names: set[str],
        used_values: set[str],
    ) -> None:
        self.kind = kind
        self.names = names
        self.values = values
        self.used_names = used_names
        self.used_values = used_values

    def error(self, message: str) -> DynamoValidationError:
        return DynamoValidationError(f"Invalid {self.kind}: {message}")

    def check_defined(self, names: Sequence[str], values: Sequence[str]) -> None:
        """Reject placeholders missing from the request, in AWS's order (names first)."""
        for name in names:
            if name not in self.names:
                raise self.error(
                    f"An expression attribute name used in the document path is not defined; attribute name: {name}"
                )
        for value in values:
            if value not in self.values:
                raise self.error(
                    f"An expression attribute value used in expression is not defined; attribute value: {value}"
                )
        self.used_names.update(names)
        self.used_values.update(values)

    def path(self, path: Path) -> ResolvedPath:
        names = self.names
        return tuple(names[e] if isinstance(e, str) and e.startswith("#") else e for e in path.elements)

    def value(self, value: Value) -> AttributeValue:
        return self.values[value.name]


def resolve_path(item: Item, path: ResolvedPath) -> AttributeValue | None:
    """The value at ``path`` in ``item``, or ``None`` if any step is missing."""
    current = item.get(path[0])  # type: ignore[arg-type]
    for element in path[1:]:
        if current is None:
            return None
        if isinstance(element, int):
            items = current.get("L")
            if items is None or element >= len(items):
                return None
            current = items[element]
        else:
            members = current.get("M")
            if members is None:
                return None
            current = members.get(element)
    return current


def render_path(path: ResolvedPath) -> str:
    """AWS's rendering of a path in messages: ``[a, b, [0]]``."""
    return "[" + ", ".join(f"[{e}]" if isinstance(e, int) else e for e in path) + "]"


def check_paths_disjoint(paths: Sequence[ResolvedPath], kind: str) -> None:
    """Reject two paths where one contains the other, or that disagree on list vs map."""
    for i, second in enumerate(paths):
        for first in paths[:i]:
            for a, b in zip(first, second, strict=False):
                if isinstance(a, int) != isinstance(b, int):
                    raise DynamoValidationError(
                        f"Invalid {kind}: Two document paths conflict with each other; must remove or "
                        f"rewrite one of these paths; path one: {render_path(first)}, "
                        f"path two: {render_path(second)}"
                    )
                if a != b:
                    break
            else:
                raise DynamoValidationError(
                    f"Invalid {kind}: Two document paths overlap with each other; must remove or "
                    f"rewrite one of these paths; path one: {render_path(first)}, "
                    f"path two: {render_path(second)}"
                )
