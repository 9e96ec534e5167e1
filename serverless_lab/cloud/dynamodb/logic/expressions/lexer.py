"""Tokenizer for DynamoDB expressions."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Token kinds: name, attr_name (#x), attr_value (:x), int, op, bad, eof.
_TOKEN_RE = re.compile(
    r"""
    (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<attr_name>\#[A-Za-z0-9_]+)
  | (?P<attr_value>:[A-Za-z0-9_]+)
  | (?P<int>[0-9]+)
  | (?P<op><>|<=|>=|[=<>()\[\],.+\-])
    """,
    re.VERBOSE,
)
_SPACE_RE = re.compile(r"\s*")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens ending with an ``eof`` token.

    A character that starts no token becomes a ``bad`` token, so the parser reports it
    as a syntax error with the usual "near" context.
    """
    tokens: list[Token] = []
    pos = _SPACE_RE.match(text, 0).end()  # type: ignore[union-attr]
    length = len(text)
    while pos < length:
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            tokens.append(Token("bad", text[pos], pos, pos + 1))
            end = pos + 1
        else:
            kind = match.lastgroup or "bad"
            end = match.end()
            tokens.append(Token(kind, match.group(), pos, end))
        pos = _SPACE_RE.match(text, end).end()  # type: ignore[union-attr]
    tokens.append(Token("eof", "<EOF>", length, length))
    return tokens
