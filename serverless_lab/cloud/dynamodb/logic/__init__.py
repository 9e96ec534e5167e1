"""The Django-free core of the DynamoDB emulator.

* :mod:`.types` validates and canonicalises attribute values and items, sizes them.
* :mod:`.keys` encodes key values into order-preserving bytes and turns a key
  condition into an index range.
* :mod:`.partiql` compiles ExecuteStatement's PartiQL onto the same engine.
* :mod:`.expressions` parses and evaluates Condition/Filter/KeyCondition/Projection/
  Update expressions (entry point: :class:`ExpressionContext`).

Every rejection raises :class:`DynamoValidationError` with AWS's message.
"""

from __future__ import annotations

from .errors import DynamoValidationError
from .expressions import Condition, ExpressionContext, Projection, Update, UpdateResult, project
from .keys import KeyCondition, KeyRange, encode_key_value, encode_number, key_condition_to_range
from .partiql import Delete, Insert, Select, UpdateStatement, parse_statement
from .types import (
    AttributeValue,
    Item,
    KeySchema,
    check_item_size,
    item_size,
    normalize_number,
    validate_index_keys,
    validate_item,
    validate_key,
    validate_value,
    values_equal,
)

__all__ = [
    "AttributeValue",
    "Condition",
    "Delete",
    "DynamoValidationError",
    "ExpressionContext",
    "Insert",
    "Item",
    "KeyCondition",
    "KeyRange",
    "KeySchema",
    "Projection",
    "Select",
    "Update",
    "UpdateResult",
    "UpdateStatement",
    "check_item_size",
    "encode_key_value",
    "encode_number",
    "item_size",
    "key_condition_to_range",
    "normalize_number",
    "parse_statement",
    "project",
    "validate_index_keys",
    "validate_item",
    "validate_key",
    "validate_value",
    "values_equal",
]
