"""The subset of PartiQL that ExecuteStatement needs, compiled onto the expression engine.

Supported::

    SELECT * | path, ... FROM "table"[."index"] [WHERE cond]
    INSERT INTO "table" VALUE {'attr': value, ...}
    UPDATE "table" [SET path = value, ...] [REMOVE path, ...] ... WHERE cond
    DELETE FROM "table" WHERE cond

Values are literals ('text', 12.5, TRUE, NULL, [..], {'k': ..}, <<..>>) or ``?``
parameters. A SET value may be ``a + b``/``a - b``, ``list_append(x, y)``, or
``set_add(path, set)``/``set_delete(path, set)`` (DynamoDB's ADD/DELETE). WHERE accepts
the condition grammar (comparisons incl. ``!=``, BETWEEN, IN, AND/OR/NOT, the condition
functions, ``IS [NOT] MISSING``). Parsing is cached by statement text; parameters are
bound per call. Every path element and literal becomes a synthetic placeholder so the
same binder and evaluator as the JSON API handle it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .errors import DynamoValidationError
from .expressions.binding import Binder, check_paths_disjoint
from .expressions.conditions import compile_condition
from .expressions.context import Condition
from .expressions.nodes import (
    And,
    Arith,
    Between,
    Call,
    Compare,
    In,
    Node,
    Not,
    Path,
    PathElement,
    UpdateClauses,
    Value,
)
from .expressions.parser import BOOLEAN_FUNCTIONS, CONDITION_FUNCTIONS, BooleanGrammar
from .expressions.projection import Projection
from .expressions.update import Update
from .types import AttributeValue, Item, KeySchema, check_key_value, validate_value

KIND = "PartiQL statement"

_TOKEN_RE = re.compile(
    r"""
    (?P<string>'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")*")
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><<|>>|<>|!=|<=|>=|[=<>()\[\]{},.:?*+\-])
    """,
    re.VERBOSE,
)
_COMPARATORS = {"=", "<>", "!=", "<", "<=", ">", ">="}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str


def _malformed(detail: str) -> DynamoValidationError:
    return DynamoValidationError(f"Statement wasn't well formed, can't be processed: {detail}")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise _malformed(f"Unexpected character {text[pos]!r}")
        kind = match.lastgroup or ""
        raw = match.group()
        if kind == "string":
            raw = raw[1:-1].replace("''", "'")
        elif kind == "quoted":
            raw = raw[1:-1].replace('""', '"')
        tokens.append(_Token(kind, raw))
        pos = match.end()
    tokens.append(_Token("eof", "<EOF>"))
    return tokens


@dataclass(frozen=True, slots=True)
class _Param:
    """A ``?`` nested inside a literal list or map, filled in when binding."""

    index: int


@dataclass
class _Compiled:
    """A parsed statement independent of its parameters (cached by text)."""

    kind: str
    table: str
    index: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    literals: dict[str, AttributeValue] = field(default_factory=dict)
    templates: dict[str, Any] = field(default_factory=dict)  # literals holding ``?``
    parameters: int = 0
    where: Node | None = None
    projection: tuple[Path, ...] | None = None
    item: Node | None = None  # INSERT's VALUE: a Value node
    update: UpdateClauses | None = None


class _Parser(BooleanGrammar):
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0
        self.out = _Compiled("", "")
        self.placeholders: dict[str, str] = {}

    # --- token helpers ----------------------------------------------------------------

    @property
    def tok(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        if token.kind != "eof":
            self.pos += 1
        return token

    def at(self, text: str) -> bool:
        return self.tok.kind == "op" and self.tok.text == text

    def at_keyword(self, *words: str) -> bool:
        return self.tok.kind == "name" and self.tok.text.upper() in words

    def expect(self, text: str) -> None:
        if not self.at(text):
            raise self.unexpected()
        self.advance()

    def keyword(self, word: str) -> None:
        if not self.at_keyword(word):
            raise self.unexpected()
        self.advance()

    def unexpected(self) -> DynamoValidationError:
        token = self.tok
        if token.kind == "eof":
            return _malformed("Unexpected end of statement")
        return _malformed(f"Unexpected token: {token.text}")

    # --- placeholders -----------------------------------------------------------------

    def name(self, text: str) -> str:
        """The placeholder standing for attribute name ``text`` (one per distinct name)."""
        placeholder = self.placeholders.get(text)
        if placeholder is None:
            placeholder = self.placeholders[text] = f"#p{len(self.out.names)}"
            self.out.names[placeholder] = text
        return placeholder

    def literal(self, value: AttributeValue) -> Value:
        placeholder = f":l{len(self.out.literals) + len(self.out.templates)}"
        if _has_parameter(value):
            self.out.templates[placeholder] = value
        else:
            self.out.literals[placeholder] = validate_value(value)
        return Value(placeholder)

    def parameter(self) -> int:
        self.expect("?")
        self.out.parameters += 1
        return self.out.parameters - 1

    # --- statements -------------------------------------------------------------------

    def statement(self) -> _Compiled:
        if self.at_keyword("SELECT"):
            self.select()
        elif self.at_keyword("INSERT"):
            self.insert()
        elif self.at_keyword("UPDATE"):
            self.update()
        elif self.at_keyword("DELETE"):
            self.delete()
        else:
            raise self.unexpected()
        if self.tok.kind != "eof":
            raise self.unexpected()
        return self.out

    def table(self) -> None:
        if self.tok.kind not in ("name", "quoted"):
            raise self.unexpected()
        self.out.table = self.advance().text
        if self.at("."):
            self.advance()
            if self.tok.kind not in ("name", "quoted"):
                raise self.unexpected()
            self.out.index = self.advance().text

    def where(self, required: bool) -> None:
        if self.at_keyword("WHERE"):
            self.advance()
            self.out.where = self.condition()
        elif required:
            raise _malformed("Where clause is required")

    def select(self) -> None:
        self.out.kind = "SELECT"
        self.advance()
        if self.at("*"):
            self.advance()
        else:
            paths = [self.path()]
            while self.at(","):
                self.advance()
                paths.append(self.path())
            self.out.projection = tuple(paths)
        self.keyword("FROM")
        self.table()
        self.where(required=False)

    def insert(self) -> None:
        self.out.kind = "INSERT"
        self.advance()
        self.keyword("INTO")
        self.table()
        self.keyword("VALUE")
        self.out.item = self.value()

    def delete(self) -> None:
        self.out.kind = "DELETE"
        self.advance()
        self.keyword("FROM")
        self.table()
        self.where(required=True)

    def update(self) -> None:
        self.out.kind = "UPDATE"
        self.advance()
        self.table()
        sets: list[tuple[Path, Node]] = []
        removes: list[Path] = []
        adds: list[tuple[Path, Value]] = []
        deletes: list[tuple[Path, Value]] = []
        while self.at_keyword("SET", "REMOVE"):
            clause = self.advance().text.upper()
            while True:
                target = self.path()
                if clause == "REMOVE":
                    removes.append(target)
                else:
                    self.expect("=")
                    self.assignment(target, sets, adds, deletes)
                if not self.at(","):
                    break
                self.advance()
        if not (sets or removes or adds or deletes):
            raise self.unexpected()
        self.out.update = UpdateClauses(tuple(sets), tuple(removes), tuple(adds), tuple(deletes))
        self.where(required=True)

    def assignment(
        self,
        target: Path,
        sets: list[tuple[Path, Node]],
        adds: list[tuple[Path, Value]],
        deletes: list[tuple[Path, Value]],
    ) -> None:
        if self.at_keyword("SET_ADD", "SET_DELETE") and self.tokens[self.pos + 1].text == "(":
            function = self.advance().text.upper()
            self.expect("(")
            source = self.path()
            if source.elements != target.elements:
                raise _malformed(f"{function} must apply to the attribute being set")
            self.expect(",")
            operand = self.value()
            self.expect(")")
            (adds if function == "SET_ADD" else deletes).append((target, operand))
            return
        value = self.set_operand()
        if self.at("+") or self.at("-"):
            op = self.advance().text
            value = Arith(op, value, self.set_operand())
        sets.append((target, value))

    def set_operand(self) -> Node:
        if self.at_keyword("LIST_APPEND", "IF_NOT_EXISTS") and self.tokens[self.pos + 1].text == "(":
            function = self.advance().text.lower()
            self.expect("(")
            first = self.set_operand()
            self.expect(",")
            second = self.set_operand()
            self.expect(")")
            if function == "if_not_exists" and not isinstance(first, Path):
                raise _malformed("if_not_exists requires a document path")
            return Call(function, (first, second))
        return self.operand()

    # --- conditions -------------------------------------------------------------------

    def predicate(self) -> Node:
        if self.at("("):
            self.advance()
            node = self.condition()
            self.expect(")")
            return node
        if self.tok.kind == "name" and self.tokens[self.pos + 1].text == "(":
            call = self.function()
            if call.name in BOOLEAN_FUNCTIONS:
                return call
            left: Node = call
        else:
            left = self.operand()
        if self.tok.kind == "op" and self.tok.text in _COMPARATORS:
            op = self.advance().text
            return Compare("<>" if op == "!=" else op, left, self.operand())
        if self.at_keyword("BETWEEN"):
            self.advance()
            low = self.operand()
            self.keyword("AND")
            return Between(left, low, self.operand())
        if self.at_keyword("IN"):
            self.advance()
            closing = "]" if self.at("[") else ")"
            self.expect("[" if closing == "]" else "(")
            choices = [self.operand()]
            while self.at(","):
                self.advance()
                choices.append(self.operand())
            self.expect(closing)
            return In(left, tuple(choices))
        if self.at_keyword("IS"):
            self.advance()
            negated = self.at_keyword("NOT")
            if negated:
                self.advance()
            if not isinstance(left, Path):
                raise _malformed("IS requires a document path")
            if self.at_keyword("MISSING"):
                self.advance()
                return Call("attribute_exists" if negated else "attribute_not_exists", (left,))
            self.keyword("NULL")
            is_null = Call("attribute_type", (left, self.literal({"S": "NULL"})))
            return Not(is_null) if negated else is_null
        raise self.unexpected()

    def function(self) -> Call:
        name = self.advance().text.lower()
        if name not in CONDITION_FUNCTIONS:
            raise _malformed(f"Unsupported function: {name}")
        self.expect("(")
        args = [self.operand()]
        while self.at(","):
            self.advance()
            args.append(self.operand())
        self.expect(")")
        if len(args) != CONDITION_FUNCTIONS[name] or not isinstance(args[0], Path):
            raise _malformed(f"Invalid arguments for function {name}")
        return Call(name, tuple(args))

    # --- operands and values ----------------------------------------------------------

    def operand(self) -> Node:
        token = self.tok
        if token.kind in ("name", "quoted") and not (
            token.kind == "name" and token.text.upper() in ("TRUE", "FALSE", "NULL")
        ):
            if token.kind == "name" and token.text.lower() == "size" and self.tokens[self.pos + 1].text == "(":
                return self.function()
            return self.path()
        return self.value()

    def path(self) -> Path:
        token = self.tok
        if token.kind not in ("name", "quoted"):
            raise self.unexpected()
        self.advance()
        elements: list[PathElement] = [self.name(token.text)]
        while True:
            if self.at("."):
                self.advance()
                if self.tok.kind not in ("name", "quoted"):
                    raise self.unexpected()
                elements.append(self.name(self.advance().text))
            elif self.at("["):
                self.advance()
                if self.tok.kind == "number" and self.tok.text.isdigit():
                    elements.append(int(self.advance().text))
                elif self.tok.kind == "string":
                    elements.append(self.name(self.advance().text))
                else:
                    raise self.unexpected()
                self.expect("]")
            else:
                return Path(tuple(elements))

    def value(self) -> Value:
        """A literal or ``?`` as a placeholder node."""
        if self.at("?"):
            return Value(f":p{self.parameter()}")
        return self.literal(self.constant())

    def constant(self) -> Any:
        """A literal value; ``?`` inside a list or map becomes a :class:`_Param`."""
        token = self.tok
        if token.kind == "string":
            self.advance()
            return {"S": token.text}
        if token.kind == "number" or self.at("-"):
            sign = ""
            if self.at("-"):
                self.advance()
                sign = "-"
                if self.tok.kind != "number":
                    raise self.unexpected()
            return {"N": sign + self.advance().text}
        if self.at_keyword("TRUE", "FALSE"):
            return {"BOOL": self.advance().text.upper() == "TRUE"}
        if self.at_keyword("NULL"):
            self.advance()
            return {"NULL": True}
        if self.at("["):
            self.advance()
            members = self.constants("]")
            return {"L": members}
        if self.at("{"):
            self.advance()
            entries: dict[str, Any] = {}
            while not self.at("}"):
                if self.tok.kind != "string":
                    raise self.unexpected()
                key = self.advance().text
                self.expect(":")
                entries[key] = _Param(self.parameter()) if self.at("?") else self.constant()
                if not self.at(","):
                    break
                self.advance()
            self.expect("}")
            return {"M": entries}
        if self.at("<<"):
            self.advance()
            return _set_of(self.constants(">>"))
        raise self.unexpected()

    def constants(self, closing: str) -> list[Any]:
        members: list[Any] = []
        while not self.at(closing):
            members.append(_Param(self.parameter()) if self.at("?") and closing == "]" else self.constant())
            if not self.at(","):
                break
            self.advance()
        self.expect(closing)
        return members


def _has_parameter(value: Any) -> bool:
    if isinstance(value, _Param):
        return True
    inner = next(iter(value.values()))
    if isinstance(inner, list):
        return any(isinstance(v, dict | _Param) and _has_parameter(v) for v in inner)
    return isinstance(inner, dict) and any(_has_parameter(v) for v in inner.values())


def _fill(value: Any, parameters: list[AttributeValue]) -> Any:
    if isinstance(value, _Param):
        return parameters[value.index]
    tag, inner = next(iter(value.items()))
    if tag == "L":
        return {"L": [_fill(v, parameters) for v in inner]}
    if tag == "M":
        return {"M": {k: _fill(v, parameters) for k, v in inner.items()}}
    return value


def _set_of(members: list[AttributeValue]) -> AttributeValue:
    tags = {next(iter(m)) for m in members}
    if len(tags) != 1 or not tags <= {"S", "N", "B"}:
        raise _malformed("A set must hold strings, numbers or binaries of one type")
    tag = tags.pop()
    return {tag + "S": [m[tag] for m in members]}


@lru_cache(maxsize=1024)
def _compile(text: str) -> _Compiled:
    return _Parser(text).statement()


# --- bound statements ----------------------------------------------------------------


@dataclass(frozen=True)
class _Statement:
    table: str
    equalities: dict[str, AttributeValue]

    def key(self, schema: KeySchema) -> Item:
        """The primary key fixed by the WHERE clause's top-level equalities."""
        key: Item = {}
        for name, expected in schema.attributes():
            value = self.equalities.get(name)
            if value is None:
                raise DynamoValidationError("Where clause does not contain a mandatory equality on all key attributes")
            check_key_value(name, expected, value)
            key[name] = value
        return key


@dataclass(frozen=True)
class Select(_Statement):
    index: str | None
    where: Condition | None
    projection: Projection | None  # None: SELECT *


@dataclass(frozen=True)
class Insert:
    table: str
    item: Item


@dataclass(frozen=True)
class Delete(_Statement):
    where: Condition


@dataclass(frozen=True)
class UpdateStatement(_Statement):
    where: Condition
    clauses: UpdateClauses
    binder: Binder = field(repr=False)

    def update(self, key_names: Collection[str]) -> Update:
        """The update to apply, rejecting writes to ``key_names`` as UpdateItem does."""
        return Update(self.clauses, self.binder, key_names)


Statement = Select | Insert | Delete | UpdateStatement


def parse_statement(text: str, parameters: Sequence[Any] | None = None) -> Statement:
    """Parse and bind one PartiQL statement with its ``?`` parameters."""
    compiled = _compile(text)
    parameters = list(parameters or ())
    if len(parameters) != compiled.parameters:
        raise DynamoValidationError("Number of parameters in request and statement don't match.")
    values = dict(compiled.literals)
    for i, parameter in enumerate(parameters):
        values[f":p{i}"] = validate_value(parameter)
    for placeholder, template in compiled.templates.items():
        values[placeholder] = validate_value(_fill(template, parameters))
    binder = Binder(KIND, compiled.names, values, set(), set())
    if compiled.kind == "INSERT":
        item = binder.value(compiled.item)  # type: ignore[arg-type]
        if "M" not in item:
            raise _malformed("INSERT requires a map value")
        return Insert(compiled.table, item["M"])
    where = Condition(compile_condition(compiled.where, binder)) if compiled.where is not None else None
    equalities = _equalities(compiled.where, binder)
    if compiled.kind == "SELECT":
        projection = None
        if compiled.projection is not None:
            paths = tuple(binder.path(p) for p in compiled.projection)
            check_paths_disjoint(paths, KIND)
            projection = Projection(paths)
        return Select(compiled.table, equalities, compiled.index, where, projection)
    assert where is not None
    if compiled.kind == "DELETE":
        return Delete(compiled.table, equalities, where)
    assert compiled.update is not None
    Update(compiled.update, binder, ())  # surface path and operand errors at parse time
    return UpdateStatement(compiled.table, equalities, where, compiled.update, binder)


def _equalities(where: Node | None, binder: Binder) -> dict[str, AttributeValue]:
    """``attribute = constant`` conjuncts at the top level of a WHERE clause."""
    found: dict[str, AttributeValue] = {}
    pending = [where] if where is not None else []
    while pending:
        node = pending.pop()
        if isinstance(node, And):
            pending += [node.right, node.left]
        elif isinstance(node, Compare) and node.op == "=":
            for path, value in ((node.left, node.right), (node.right, node.left)):
                if isinstance(path, Path) and isinstance(value, Value) and len(path.elements) == 1:
                    found.setdefault(str(binder.path(path)[0]), binder.value(value))
    return found
