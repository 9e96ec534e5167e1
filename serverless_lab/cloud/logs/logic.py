"""Pure CloudWatch Logs rules: the text filter-pattern subset and pagination tokens. No Django here."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable


class BadPattern(ValueError):
    pass


def compile_filter_pattern(pattern: str | None) -> Callable[[str], bool]:
    """A matcher for CloudWatch's unstructured-text filter patterns.

    Supported: ``word`` and ``"quoted phrase"`` terms that must all appear (case-sensitive),
    ``-term`` to exclude, and ``?term ?term`` for "any of". JSON (``{ $.x = 1 }``) and
    space-delimited (``[ip, user]``) patterns are not emulated.
    """
    text = (pattern or "").strip()
    if not text:
        return lambda message: True
    if text[0] in "{[":
        raise BadPattern(
            'Serverless Lab supports text filter patterns only (terms, "phrases", -exclusions, ?alternatives).'
        )
    try:
        terms = shlex.split(text)
    except ValueError as exc:
        raise BadPattern(f"Invalid filter pattern: {exc}") from None
    required = [term for term in terms if not term.startswith(("-", "?"))]
    excluded = [term[1:] for term in terms if term.startswith("-") and len(term) > 1]
    any_of = [term[1:] for term in terms if term.startswith("?") and len(term) > 1]

    def matches(message: str) -> bool:
        if any(term not in message for term in required):
            return False
        if any(term in message for term in excluded):
            return False
        return not any_of or any(term in message for term in any_of)

    return matches


_TOKEN = re.compile(r"^[fb]/(\d+)$")


def event_token(direction: str, event_id: int) -> str:
    """A GetLogEvents token: ``f/<id>`` reads forward after ``id``, ``b/<id>`` backward before it."""
    return f"{direction}/{event_id:020d}"


def parse_event_token(token: str) -> tuple[str, int]:
    match = _TOKEN.match(token or "")
    if match is None:
        raise BadPattern("The specified nextToken is invalid.")
    return token[0], int(match[1])
