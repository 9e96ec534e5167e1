"""UpdateExpression: SET, REMOVE, ADD and DELETE applied to an item.

Every SET operand is evaluated against the item as it was before the update; the
actions then write a copy (containers along each written path are copied, the rest is
shared with the old item, which is never mutated).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..errors import DynamoValidationError
from ..types import (
    EXACT,
    INVALID,
    SET_TYPES,
    AttributeValue,
    Item,
    check_item_size,
    check_number,
    format_number,
    type_of,
)
from .binding import Binder, ResolvedPath, check_paths_disjoint, resolve_path
from .nodes import Arith, Call, Node, Path, UpdateClauses, Value
from .projection import project

Operand = Callable[[Item], AttributeValue]

RETURN_VALUES = ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW")
_LONG_TYPE_NAMES = {
    "S": "STRING",
    "N": "NUMBER",
    "B": "BINARY",
    "BOOL": "BOOLEAN",
    "NULL": "NULL",
    "L": "LIST",
    "M": "MAP",
    "SS": "STRING_SET",
    "NS": "NUMBER_SET",
    "BS": "BINARY_SET",
}


def _incorrect_type() -> DynamoValidationError:
    return DynamoValidationError("An operand in the update expression has an incorrect data type")


def _invalid_path() -> DynamoValidationError:
    return DynamoValidationError("The document path provided in the update expression is invalid for update")


def _missing_attribute() -> DynamoValidationError:
    return DynamoValidationError("The provided expression refers to an attribute that does not exist in the item")


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """The outcome of one update.

    ``paths`` are all the document paths the update targeted (UPDATED_OLD shows them as
    they were), ``written_paths`` those it did not REMOVE (UPDATED_NEW shows them).
    """

    old_item: Item
    new_item: Item
    paths: tuple[ResolvedPath, ...]
    written_paths: tuple[ResolvedPath, ...]

    def return_values(self, mode: str) -> Item | None:
        """The ``Attributes`` of the response for a ReturnValues mode (``None``: omit)."""
        if mode == "NONE":
            return None
        if mode == "ALL_OLD":
            result = self.old_item
        elif mode == "ALL_NEW":
            result = self.new_item
        elif mode == "UPDATED_OLD":
            result = project(self.old_item, self.paths)
        elif mode == "UPDATED_NEW":
            result = project(self.new_item, self.written_paths)
        else:
            raise DynamoValidationError(
                f"1 validation error detected: Value '{mode}' at 'returnValues' failed to satisfy "
                "constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"
            )
        return result or None


class Update:
    """A bound UpdateExpression; :meth:`apply` it to the current item (or just its key)."""

    __slots__ = ("sets", "removes", "adds", "deletes", "paths", "written_paths")

    def __init__(self, clauses: UpdateClauses, binder: Binder, key_names: Collection[str]) -> None:
        self.sets = [(binder.path(p), _compile(value, binder)) for p, value in clauses.set]
        removes = [binder.path(p) for p in clauses.remove]
        # Removing list elements by their original indexes: highest index first.
        self.removes = sorted(removes, key=_sort_key, reverse=True)
        self.adds = [(binder.path(p), _set_operand(v, "ADD", binder)) for p, v in clauses.add]
        self.deletes = [(binder.path(p), _set_operand(v, "DELETE", binder)) for p, v in clauses.delete]
        written = [p for p, _ in self.sets] + [p for p, _ in self.adds] + [p for p, _ in self.deletes]
        paths = written + removes
        for path in paths:
            if path[0] in key_names:
                raise DynamoValidationError(
                    f"{INVALID}Cannot update attribute {path[0]}. This attribute is part of the key"
                )
        check_paths_disjoint(paths, binder.kind)
        self.paths = tuple(paths)
        self.written_paths = tuple(written)

    def apply(self, item: Item) -> UpdateResult:
        new = dict(item)
        computed = [(path, operand(item)) for path, operand in self.sets]
        for path, value in computed:
            _assign(new, path, value)
        for path in self.removes:
            _remove(new, path)
        for path, value in self.adds:
            _assign(new, path, _add(resolve_path(new, path), value))
        for path, value in self.deletes:
            current = resolve_path(new, path)
            if current is None:
                continue
            remaining = _difference(current, value)
            if remaining is None:
                _remove(new, path)
            else:
                _assign(new, path, remaining)
        check_item_size(new, update=True)
        return UpdateResult(item, new, self.paths, self.written_paths)


def _sort_key(path: ResolvedPath) -> tuple[tuple[int, Any], ...]:
    return tuple((1, e) if isinstance(e, int) else (0, e) for e in path)


# --- operands ------------------------------------------------------------------------


def _operand_type_error(binder: Binder, op: str, tag: str) -> DynamoValidationError:
    return binder.error(
        f"Incorrect operand type for operator or function; operator or function: {op}, operand type: {tag}"
    )


def _compile(node: Node, binder: Binder) -> Operand:
    if isinstance(node, Value):
        constant = binder.value(node)
        return lambda item: constant
    if isinstance(node, Path):
        path = binder.path(node)

        def read(item: Item) -> AttributeValue:
            value = resolve_path(item, path)
            if value is None:
                raise _missing_attribute()
            return value

        return read
    if isinstance(node, Arith):
        for side in (node.left, node.right):
            if isinstance(side, Value) and type_of(binder.value(side)) != "N":
                raise _operand_type_error(binder, node.op, type_of(binder.value(side)))
        left, right = _compile(node.left, binder), _compile(node.right, binder)
        subtract = node.op == "-"
        return lambda item: _arith(left(item), right(item), subtract)
    assert isinstance(node, Call)
    if node.name == "if_not_exists":
        path = binder.path(node.args[0])  # type: ignore[arg-type]
        fallback = _compile(node.args[1], binder)

        def if_not_exists(item: Item) -> AttributeValue:
            value = resolve_path(item, path)
            return fallback(item) if value is None else value

        return if_not_exists
    for arg in node.args:
        if isinstance(arg, Value) and type_of(binder.value(arg)) != "L":
            raise _operand_type_error(binder, "list_append", type_of(binder.value(arg)))
    first, second = _compile(node.args[0], binder), _compile(node.args[1], binder)

    def list_append(item: Item) -> AttributeValue:
        a, b = first(item), second(item)
        if "L" not in a or "L" not in b:
            raise _incorrect_type()
        return {"L": a["L"] + b["L"]}

    return list_append


def _set_operand(node: Value, clause: str, binder: Binder) -> AttributeValue:
    value = binder.value(node)
    tag = type_of(value)
    allowed = SET_TYPES | {"N"} if clause == "ADD" else SET_TYPES
    if tag not in allowed:
        raise binder.error(
            f"Incorrect operand type for operator or function; operator: {clause}, "
            f"operand type: {_LONG_TYPE_NAMES[tag]}"
        )
    return value


def _arith(a: AttributeValue, b: AttributeValue, subtract: bool) -> AttributeValue:
    if "N" not in a or "N" not in b:
        raise _incorrect_type()
    x, y = Decimal(a["N"]), Decimal(b["N"])
    result = EXACT.subtract(x, y) if subtract else EXACT.add(x, y)
    return {"N": format_number(check_number(result))}


def _add(current: AttributeValue | None, value: AttributeValue) -> AttributeValue:
    if current is None:
        return value
    tag = type_of(value)
    if type_of(current) != tag:
        raise _incorrect_type()
    if tag == "N":
        return _arith(current, value, False)
    members = current[tag]
    if tag == "NS":
        seen = {Decimal(m) for m in members}
        extra = [m for m in value[tag] if Decimal(m) not in seen]
    else:
        present = set(members)
        extra = [m for m in value[tag] if m not in present]
    return {tag: members + extra}


def _difference(current: AttributeValue, value: AttributeValue) -> AttributeValue | None:
    tag = type_of(value)
    if type_of(current) != tag:
        raise _incorrect_type()
    if tag == "NS":
        gone = {Decimal(m) for m in value[tag]}
        kept = [m for m in current[tag] if Decimal(m) not in gone]
    else:
        removed = set(value[tag])
        kept = [m for m in current[tag] if m not in removed]
    return {tag: kept} if kept else None


# --- copy-on-write path writes -------------------------------------------------------


def _assign(item: Item, path: ResolvedPath, value: AttributeValue) -> None:
    head = path[0]
    if len(path) == 1:
        item[head] = value  # type: ignore[index]
        return
    current = item.get(head)  # type: ignore[arg-type]
    if current is None:
        raise _invalid_path()
    item[head] = _with(current, path, 1, value)  # type: ignore[index]


def _with(container: AttributeValue, path: ResolvedPath, i: int, value: AttributeValue) -> AttributeValue:
    element, last = path[i], i == len(path) - 1
    if isinstance(element, int):
        items = container.get("L")
        if items is None:
            raise _invalid_path()
        items = list(items)
        if last:
            if element < len(items):
                items[element] = value
            else:
                items.append(value)
        elif element < len(items):
            items[element] = _with(items[element], path, i + 1, value)
        else:
            raise _invalid_path()
        return {"L": items}
    members = container.get("M")
    if members is None:
        raise _invalid_path()
    members = dict(members)
    if last:
        members[element] = value
    else:
        child = members.get(element)
        if child is None:
            raise _invalid_path()
        members[element] = _with(child, path, i + 1, value)
    return {"M": members}


def _remove(item: Item, path: ResolvedPath) -> None:
    head = path[0]
    if len(path) == 1:
        item.pop(head, None)  # type: ignore[arg-type]
        return
    current = item.get(head)  # type: ignore[arg-type]
    if current is not None:
        changed = _without(current, path, 1)
        if changed is not None:
            item[head] = changed  # type: ignore[index]


def _without(container: AttributeValue, path: ResolvedPath, i: int) -> AttributeValue | None:
    """``container`` minus the element at ``path[i:]``; ``None`` when nothing changes."""
    element, last = path[i], i == len(path) - 1
    key = "L" if isinstance(element, int) else "M"
    members: Any = container.get(key)
    if members is None:
        raise _invalid_path()
    if isinstance(element, int):
        if element >= len(members):
            return None
    elif element not in members:
        return None
    if last:
        child = None
    else:
        child = _without(members[element], path, i + 1)
        if child is None:
            return None
    members = list(members) if key == "L" else dict(members)
    if child is None:
        del members[element]
    else:
        members[element] = child
    return {key: members}
