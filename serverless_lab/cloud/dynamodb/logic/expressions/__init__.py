"""DynamoDB's expression language: parse once (cached by text), bind per request."""

from __future__ import annotations

from .binding import ResolvedPath, render_path, resolve_path
from .context import Condition, ExpressionContext
from .parser import parse_condition, parse_projection, parse_update
from .projection import Projection, project
from .reserved import RESERVED_WORDS, is_reserved
from .update import RETURN_VALUES, Update, UpdateResult

__all__ = [
    "RESERVED_WORDS",
    "RETURN_VALUES",
    "Condition",
    "ExpressionContext",
    "Projection",
    "ResolvedPath",
    "Update",
    "UpdateResult",
    "is_reserved",
    "parse_condition",
    "parse_projection",
    "parse_update",
    "project",
    "render_path",
    "resolve_path",
]
