"""ProjectionExpression: keep only the listed document paths of an item."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..types import AttributeValue, Item
from .binding import ResolvedPath, resolve_path


class _Branch:
    """A map or list being rebuilt while projecting nested paths."""

    __slots__ = ("kind", "children")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.children: dict[Any, Any] = {}

    def build(self) -> AttributeValue:
        if self.kind == "M":
            return {"M": {k: _build(v) for k, v in self.children.items()}}
        # List elements keep their relative order but are packed: a[1], a[3] -> [a1, a3].
        return {"L": [_build(self.children[i]) for i in sorted(self.children)]}


def _build(node: Any) -> AttributeValue:
    return node.build() if isinstance(node, _Branch) else node


def project(item: Item, paths: Sequence[ResolvedPath]) -> Item:
    """The sub-item made of ``paths`` that exist in ``item``.

    ``paths`` must be pairwise disjoint (see ``check_paths_disjoint``).
    """
    if all(len(p) == 1 for p in paths):
        return {p[0]: item[p[0]] for p in paths if p[0] in item}
    root: dict[Any, Any] = {}
    for path in paths:
        value = resolve_path(item, path)
        if value is None:
            continue
        children = root
        for element, following in zip(path, path[1:], strict=False):
            branch = children.get(element)
            if branch is None:
                branch = children[element] = _Branch("L" if isinstance(following, int) else "M")
            children = branch.children
        children[path[-1]] = value
    return {name: _build(node) for name, node in root.items()}


class Projection:
    """A bound ProjectionExpression; call :meth:`apply` on each returned item."""

    __slots__ = ("paths",)

    def __init__(self, paths: tuple[ResolvedPath, ...]) -> None:
        self.paths = paths

    def apply(self, item: Item) -> Item:
        return project(item, self.paths)
