"""Recursive-descent parser for DynamoDB's expression language.

Parsing depends only on the expression text, so results are cached by text; the
placeholders are substituted later (see ``binding``). Precedence, loosest first:
OR, AND, NOT, then the comparisons/BETWEEN/IN/functions, with parentheses.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..errors import DynamoValidationError
from .lexer import Token, tokenize
from .nodes import (
    And,
    Arith,
    Between,
    Call,
    Compare,
    In,
    Node,
    Not,
    Or,
    Parsed,
    Path,
    PathElement,
    UpdateClauses,
    Value,
)
from .reserved import RESERVED_WORDS

MAX_EXPRESSION_BYTES = 4096
MAX_PATH_DEPTH = 32
MAX_IN_OPERANDS = 100

COMPARATORS = frozenset({"=", "<>", "<", "<=", ">", ">="})
CONDITION_FUNCTIONS = {
    "attribute_exists": 1,
    "attribute_not_exists": 1,
    "attribute_type": 2,
    "begins_with": 2,
    "contains": 2,
    "size": 1,
}
BOOLEAN_FUNCTIONS = frozenset(CONDITION_FUNCTIONS) - {"size"}
UPDATE_FUNCTIONS = {"if_not_exists": 2, "list_append": 2}
_KEYWORDS = frozenset({"AND", "OR", "NOT", "BETWEEN", "IN"})
_CLAUSES = ("SET", "REMOVE", "ADD", "DELETE")


class BooleanGrammar:
    """OR binds loosest, then AND, then NOT: the precedence both the expression language and
    PartiQL's WHERE use. A parser supplies ``at_keyword``, ``advance`` and ``predicate``."""

    def condition(self) -> Node:
        node = self.conjunction()
        while self.at_keyword("OR"):  # type: ignore[attr-defined]
            self.advance()  # type: ignore[attr-defined]
            node = Or(node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while self.at_keyword("AND"):  # type: ignore[attr-defined]
            self.advance()  # type: ignore[attr-defined]
            node = And(node, self.negation())
        return node

    def negation(self) -> Node:
        if self.at_keyword("NOT"):  # type: ignore[attr-defined]
            self.advance()  # type: ignore[attr-defined]
            return Not(self.negation())
        return self.predicate()  # type: ignore[attr-defined, no-any-return]


class _Parser(BooleanGrammar):
    def __init__(self, text: str, kind: str) -> None:
        self.text = text
        self.kind = kind
        size = len(text.encode("utf-8"))
        if size > MAX_EXPRESSION_BYTES:
            raise self.error(f"Expression size has exceeded the maximum allowed size; expression size: {size}")
        self.tokens = tokenize(text)
        if len(self.tokens) == 1:
            raise self.error("The expression can not be empty;")
        self.pos = 0
        self.names: dict[str, None] = {}
        self.values: dict[str, None] = {}

    # --- helpers --------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind != "eof":
            self.pos += 1
        return token

    def at_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def at_keyword(self, word: str) -> bool:
        return self.tok.kind == "name" and self.tok.text.upper() == word

    def expect_op(self, op: str) -> None:
        if not self.at_op(op):
            raise self.syntax_error()
        self.advance()

    def error(self, message: str) -> DynamoValidationError:
        return DynamoValidationError(f"Invalid {self.kind}: {message}")

    def syntax_error(self) -> DynamoValidationError:
        token = self.tok
        before = self.tokens[self.pos - 1] if self.pos else token
        after = self.tokens[self.pos + 1] if token.kind != "eof" else token
        near = self.text[before.start : after.end]
        return self.error(f'Syntax error; token: "{token.text}", near: "{near}"')

    def finish(self) -> None:
        if self.tok.kind != "eof":
            raise self.syntax_error()

    def parsed(self, tree: Node | UpdateClauses | tuple[Path, ...]) -> Parsed:
        return Parsed(tree, tuple(self.names), tuple(self.values))

    # --- operands -------------------------------------------------------------------

    def path_element(self) -> str:
        token = self.tok
        if token.kind == "attr_name":
            self.names[token.text] = None
        elif token.kind == "name":
            upper = token.text.upper()
            if upper in _KEYWORDS:
                raise self.syntax_error()
            if upper in RESERVED_WORDS:
                raise self.error(f"Attribute name is a reserved keyword; reserved keyword: {token.text}")
        else:
            raise self.syntax_error()
        self.advance()
        return token.text

    def path(self) -> Path:
        elements: list[PathElement] = [self.path_element()]
        while True:
            if self.at_op("."):
                self.advance()
                elements.append(self.path_element())
            elif self.at_op("["):
                self.advance()
                if self.tok.kind != "int":
                    raise self.syntax_error()
                elements.append(int(self.advance().text))
                self.expect_op("]")
            else:
                break
        if len(elements) > MAX_PATH_DEPTH:
            raise self.error(f"The document path has too many nesting levels; nesting levels: {len(elements)}")
        return Path(tuple(elements))

    def operand(self, functions: dict[str, int]) -> Node:
        """A path, a ``:value`` or a function call allowed by ``functions``."""
        token = self.tok
        if token.kind == "attr_value":
            self.advance()
            self.values[token.text] = None
            return Value(token.text)
        if token.kind == "name" and self.tokens[self.pos + 1].text == "(":
            return self.call(functions)
        return self.path()

    def call(self, functions: dict[str, int]) -> Call:
        name = self.advance().text
        if name not in functions:
            if name in CONDITION_FUNCTIONS:
                raise self.error(f"The function is not allowed in an update expression; function: {name}")
            if name in UPDATE_FUNCTIONS:
                raise self.error(f"The function is not allowed in a condition expression; function: {name}")
            raise self.error(f"Invalid function name; function: {name}")
        self.expect_op("(")
        args = [self.operand(functions)]
        while self.at_op(","):
            self.advance()
            args.append(self.operand(functions))
        self.expect_op(")")
        if len(args) != functions[name]:
            raise self.error(
                "Incorrect number of operands for operator or function; "
                f"operator or function: {name}, number of operands: {len(args)}"
            )
        if name != "list_append" and not isinstance(args[0], Path):
            raise self.error(f"Operator or function requires a document path; operator or function: {name}")
        for arg in args:
            if isinstance(arg, Call) and arg.name in BOOLEAN_FUNCTIONS:
                raise self.misused(arg)
        return Call(name, tuple(args))

    def misused(self, call: Call) -> DynamoValidationError:
        return self.error(f"The function is not allowed to be used this way in an expression; function: {call.name}")

    def value_operand(self) -> Node:
        node = self.operand(CONDITION_FUNCTIONS)
        if isinstance(node, Call) and node.name in BOOLEAN_FUNCTIONS:
            raise self.misused(node)
        return node

    # --- conditions -----------------------------------------------------------------

    def predicate(self) -> Node:
        if self.at_op("("):
            self.advance()
            node = self.condition()
            self.expect_op(")")
            return node
        left = self.operand(CONDITION_FUNCTIONS)
        if isinstance(left, Call) and left.name in BOOLEAN_FUNCTIONS:
            if self.tok.kind == "op" and self.tok.text in COMPARATORS:
                raise self.misused(left)
            return left
        if self.tok.kind == "op" and self.tok.text in COMPARATORS:
            op = self.advance().text
            return Compare(op, left, self.value_operand())
        if self.at_keyword("BETWEEN"):
            self.advance()
            low = self.value_operand()
            if not self.at_keyword("AND"):
                raise self.syntax_error()
            self.advance()
            return Between(left, low, self.value_operand())
        if self.at_keyword("IN"):
            self.advance()
            self.expect_op("(")
            choices = [self.value_operand()]
            while self.at_op(","):
                self.advance()
                choices.append(self.value_operand())
            self.expect_op(")")
            if len(choices) > MAX_IN_OPERANDS:
                raise self.error(
                    f"The expression contains too many operands for the IN operator; number of operands: {len(choices)}"
                )
            return In(left, tuple(choices))
        raise self.syntax_error()

    # --- update ---------------------------------------------------------------------

    def update(self) -> UpdateClauses:
        clauses: dict[str, list[Any]] = {}
        while self.tok.kind != "eof":
            token = self.tok
            clause = token.text.upper() if token.kind == "name" else ""
            if clause not in _CLAUSES:
                raise self.syntax_error()
            if clause in clauses:
                raise self.error(f'The "{clause}" section can only be used once in an update expression;')
            self.advance()
            actions = clauses[clause] = [self.update_action(clause)]
            while self.at_op(","):
                self.advance()
                actions.append(self.update_action(clause))
            if self.tok.kind != "eof" and not (self.tok.kind == "name" and self.tok.text.upper() in _CLAUSES):
                raise self.syntax_error()
        return UpdateClauses(
            set=tuple(clauses.get("SET", ())),
            remove=tuple(clauses.get("REMOVE", ())),
            add=tuple(clauses.get("ADD", ())),
            delete=tuple(clauses.get("DELETE", ())),
        )

    def update_action(self, clause: str) -> Path | tuple[Path, Node]:
        target = self.path()
        if clause == "REMOVE":
            return target
        if clause == "SET":
            self.expect_op("=")
            value = self.operand(UPDATE_FUNCTIONS)
            if self.at_op("+", "-"):
                op = self.advance().text
                value = Arith(op, value, self.operand(UPDATE_FUNCTIONS))
            return target, value
        token = self.tok
        if token.kind != "attr_value":
            raise self.syntax_error()
        self.advance()
        self.values[token.text] = None
        return target, Value(token.text)


@lru_cache(maxsize=4096)
def parse_condition(text: str, kind: str = "ConditionExpression") -> Parsed:
    """Parse a Condition/Filter/KeyCondition expression."""
    parser = _Parser(text, kind)
    tree = parser.condition()
    parser.finish()
    return parser.parsed(tree)


@lru_cache(maxsize=4096)
def parse_update(text: str) -> Parsed:
    parser = _Parser(text, "UpdateExpression")
    tree = parser.update()
    return parser.parsed(tree)


@lru_cache(maxsize=4096)
def parse_projection(text: str) -> Parsed:
    parser = _Parser(text, "ProjectionExpression")
    paths = [parser.path()]
    while parser.at_op(","):
        parser.advance()
        paths.append(parser.path())
    parser.finish()
    return parser.parsed(tuple(paths))
