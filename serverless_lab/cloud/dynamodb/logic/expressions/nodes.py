"""The syntax tree of DynamoDB expressions, before placeholders are substituted.

A path element is a plain attribute name, a ``#name`` placeholder (plain names cannot
start with ``#``, so the prefix tells them apart) or an ``int`` list index.
"""

from __future__ import annotations

from dataclasses import dataclass

PathElement = str | int


@dataclass(frozen=True, slots=True)
class Path:
    elements: tuple[PathElement, ...]


@dataclass(frozen=True, slots=True)
class Value:
    """An ExpressionAttributeValues placeholder such as ``:v``."""

    name: str


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Arith:
    """``left + right`` or ``left - right`` in a SET action."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Between:
    operand: Node
    low: Node
    high: Node


@dataclass(frozen=True, slots=True)
class In:
    operand: Node
    choices: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


Node = Path | Value | Call | Arith | Compare | Between | In | And | Or | Not


@dataclass(frozen=True, slots=True)
class UpdateClauses:
    set: tuple[tuple[Path, Node], ...] = ()
    remove: tuple[Path, ...] = ()
    add: tuple[tuple[Path, Value], ...] = ()
    delete: tuple[tuple[Path, Value], ...] = ()


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parsed expression plus the placeholders it uses, in order of appearance."""

    tree: Node | UpdateClauses | tuple[Path, ...]
    names: tuple[str, ...]
    values: tuple[str, ...]
