"""What the DynamoDB console pages read: display-ready rows built on the backend's own functions.

Items reach the pages in wire form (``{"name": {"S": "ada"}}``); this module turns them into the
two JSON dialects the item editor speaks (DynamoDB JSON and plain JSON, numbers kept as the exact
decimal text), into table columns, and into the per-operation latency figures of a table.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Sum

from serverless_lab.sandboxes.models import Sandbox
from serverless_lab.tracing import nodes
from serverless_lab.tracing.models import Hop

from . import backend
from .logic import DynamoValidationError
from .models import Item, StreamRecord, Table

Doc = dict[str, Any]

MAX_COLUMNS = 12
CELL_CHARS = 80
LATENCY_HOPS = 500
STREAM_RECORDS = 20
SINGLE_DIGIT_MS = 10.0
MAX_NESTING = 32  # DynamoDB's limit on nested documents
CONTROL_PLANE = (
    "CreateTable",
    "DeleteTable",
    "DescribeTable",
    "UpdateTable",
    "DescribeTimeToLive",
    "UpdateTimeToLive",
    "TagResource",
    "UntagResource",
    "ListTagsOfResource",
)


# --- tables -----------------------------------------------------------------------------------


@dataclass
class KeyAttribute:
    name: str
    type: str  # S, N or B


@dataclass
class IndexRow:
    name: str
    kind: str  # "Global" or "Local"
    hash_key: KeyAttribute
    range_key: KeyAttribute | None
    projection: str  # ALL, KEYS_ONLY, INCLUDE
    non_key_attributes: list[str]
    item_count: int


@dataclass
class TableRow:
    name: str
    status: str
    hash_key: KeyAttribute
    range_key: KeyAttribute | None
    item_count: int
    size: int
    billing_mode: str
    stream: str  # the StreamViewType, "" when no stream is enabled
    index_count: int
    arn: str = ""
    created_at: Any = None
    ttl_attribute: str = ""
    deletion_protection: bool = False
    indexes: list[IndexRow] = field(default_factory=list)

    @property
    def key_names(self) -> list[str]:
        return [self.hash_key.name] + ([self.range_key.name] if self.range_key else [])


def _keys(key_schema: list[Doc], types: dict[str, str]) -> tuple[KeyAttribute, KeyAttribute | None]:
    hash_name = next(k["AttributeName"] for k in key_schema if k["KeyType"] == "HASH")
    range_name = next((k["AttributeName"] for k in key_schema if k["KeyType"] == "RANGE"), None)
    range_key = KeyAttribute(range_name, types[range_name]) if range_name else None
    return KeyAttribute(hash_name, types[hash_name]), range_key


def _row(table: Table, item_count: int, size: int) -> TableRow:
    types = {d["AttributeName"]: d["AttributeType"] for d in table.attribute_definitions}
    hash_key, range_key = _keys(table.key_schema, types)
    stream = table.stream_specification or {}
    return TableRow(
        name=table.name,
        status=table.status,
        hash_key=hash_key,
        range_key=range_key,
        item_count=item_count,
        size=size,
        billing_mode=table.billing_mode,
        stream=stream.get("StreamViewType", "") if stream.get("StreamEnabled") else "",
        index_count=len(table.global_indexes) + len(table.local_indexes),
        created_at=table.created_at,
        ttl_attribute=table.ttl_attribute,
        deletion_protection=table.deletion_protection,
    )


def table_rows(*, sandbox: Sandbox) -> list[TableRow]:
    """The sandbox's tables with live item counts and sizes (two queries in all)."""
    tables = list(Table.objects.filter(sandbox=sandbox).order_by("name"))
    totals = {
        row["table"]: (row["count"], row["size"] or 0)
        for row in Item.objects.filter(table__sandbox=sandbox)
        .values("table")
        .annotate(count=Count("id"), size=Sum("size"))
    }
    return [_row(table, *totals.get(table.pk, (0, 0))) for table in tables]


def table_detail(*, sandbox: Sandbox, name: str) -> TableRow:
    """One table as DescribeTable sees it, with its indexes; ResourceNotFoundException if absent."""
    state = backend.describe_table(sandbox=sandbox, name=name)
    table = state.table
    row = _row(table, state.item_count, state.size_bytes)
    row.arn = backend.table_arn(table)
    types = {d["AttributeName"]: d["AttributeType"] for d in table.attribute_definitions}
    for kind, group in (("Global", table.global_indexes), ("Local", table.local_indexes)):
        for index in group:
            hash_key, range_key = _keys(index["KeySchema"], types)
            projection = index["Projection"]
            row.indexes.append(
                IndexRow(
                    index["IndexName"],
                    kind,
                    hash_key,
                    range_key,
                    projection.get("ProjectionType", "ALL"),
                    list(projection.get("NonKeyAttributes", [])),
                    state.index_counts.get(index["IndexName"], (0, 0))[0],
                )
            )
    return row


# --- items in the console's two JSON dialects -------------------------------------------------


class Number(str):
    """A JSON number kept as its exact text (plain JSON numbers are decimals, never floats)."""


def _plain_to_value(value: Any, depth: int = 1) -> Doc:
    if depth > MAX_NESTING:
        raise DynamoValidationError("Nesting Levels have exceeded supported limits")
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, Number):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, list):
        return {"L": [_plain_to_value(v, depth + 1) for v in value]}
    return {"M": {k: _plain_to_value(v, depth + 1) for k, v in value.items()}}


def _loads(text: str) -> Any:
    try:
        return json.loads(text, parse_float=Number, parse_int=Number)
    except ValueError as error:
        raise DynamoValidationError(f"This is not valid JSON: {error}") from None
    except RecursionError:
        raise DynamoValidationError("Nesting Levels have exceeded supported limits") from None


def parse_item(text: str, dialect: str) -> Doc:
    """An item in wire form from the editor's text: ``dialect`` is "plain" or "dynamodb".

    Plain JSON maps strings to S, numbers to N (exactly as written), booleans, null, lists and
    objects to BOOL, NULL, L and M. DynamoDB JSON is the wire format, binary values base64.
    Raises DynamoValidationError with a message fit for the form.
    """
    data = _loads(text)
    if not isinstance(data, dict):
        raise DynamoValidationError("An item is a JSON object: { \"attribute\": value, … }.")
    if dialect == "plain":
        return {name: _plain_to_value(value) for name, value in data.items()}
    return {name: _typed_value(value, name) for name, value in data.items()}


def _typed_value(value: Any, where: str, depth: int = 1) -> Doc:
    """A DynamoDB JSON value: numbers as strings (a JSON number is accepted), binaries decoded."""
    if depth > MAX_NESTING:
        raise DynamoValidationError("Nesting Levels have exceeded supported limits")
    if not isinstance(value, dict) or len(value) != 1:
        raise DynamoValidationError(
            f'{where}: in DynamoDB JSON every value names its type, like {{"S": "text"}} or {{"N": "42"}}. '
            "Switch to plain JSON to write values as they are."
        )
    tag, inner = next(iter(value.items()))
    try:
        if tag == "N" and isinstance(inner, Number):
            return {"N": str(inner)}
        if tag == "NS" and isinstance(inner, list):
            return {"NS": [str(v) if isinstance(v, Number) else v for v in inner]}
        if tag == "B" and isinstance(inner, str):
            return {"B": base64.b64decode(inner, validate=True)}
        if tag == "BS" and isinstance(inner, list) and all(isinstance(v, str) for v in inner):
            return {"BS": [base64.b64decode(v, validate=True) for v in inner]}
    except binascii.Error:
        raise DynamoValidationError(f"{where}: binary values are base64 text.") from None
    if tag == "L" and isinstance(inner, list):
        return {"L": [_typed_value(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(inner)]}
    if tag == "M" and isinstance(inner, dict):
        return {"M": {k: _typed_value(v, f"{where}.{k}", depth + 1) for k, v in inner.items()}}
    if tag == "N":
        return {"N": inner if isinstance(inner, str) else json.dumps(inner)}
    return {tag: inner}


def parse_values(text: str) -> Doc | None:
    """ExpressionAttributeValues from plain JSON (``{":min": 10}``); None when blank."""
    if not text.strip():
        return None
    data = _loads(text)
    if not isinstance(data, dict):
        raise DynamoValidationError('Expression attribute values are a JSON object, like {":min": 10}.')
    return {name: _plain_to_value(value) for name, value in data.items()}


def parse_names(text: str) -> dict[str, str] | None:
    """ExpressionAttributeNames (``{"#s": "status"}``); None when blank."""
    if not text.strip():
        return None
    data = _loads(text)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise DynamoValidationError('Expression attribute names are a JSON object, like {"#s": "status"}.')
    return data


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _plain(av: Doc, indent: int | None, level: int) -> str:
    tag, value = next(iter(av.items()))
    if tag == "N":
        return str(value)
    if tag == "S":
        return json.dumps(value, ensure_ascii=False)
    if tag == "B":
        return json.dumps(_b64(value))
    if tag == "BOOL":
        return "true" if value else "false"
    if tag == "NULL":
        return "null"
    if tag == "SS":
        parts = [json.dumps(v, ensure_ascii=False) for v in value]
    elif tag == "NS":
        parts = list(value)
    elif tag == "BS":
        parts = [json.dumps(_b64(v)) for v in value]
    elif tag == "L":
        parts = [_plain(v, indent, level + 1) for v in value]
    else:
        return _plain_map(value, indent, level)
    return _join("[", "]", parts, indent, level)


def _plain_map(values: Doc, indent: int | None, level: int) -> str:
    parts = [f"{json.dumps(k, ensure_ascii=False)}: {_plain(v, indent, level + 1)}" for k, v in values.items()]
    return _join("{", "}", parts, indent, level)


def _join(opening: str, closing: str, parts: list[str], indent: int | None, level: int) -> str:
    if not parts:
        return opening + closing
    if indent is None:
        return opening + ", ".join(parts) + closing
    pad, inner = " " * (indent * level), " " * (indent * (level + 1))
    return opening + "\n" + ",\n".join(inner + p for p in parts) + "\n" + pad + closing


def plain_json(item: Doc, *, indent: int | None = 2) -> str:
    """An item as plain JSON text, numbers exactly as stored."""
    return _plain_map(item, indent, 0)


def dynamodb_json(item: Doc) -> str:
    """An item as DynamoDB JSON text (the wire format), binary values base64."""
    return json.dumps(item, indent=2, ensure_ascii=False, default=_b64)


def plain_loses_types(item: Doc) -> bool:
    """Whether plain JSON would blur a type of ``item`` (sets, binaries) on the way back."""

    def lossy(av: Doc) -> bool:
        tag, value = next(iter(av.items()))
        if tag in ("SS", "NS", "BS", "B"):
            return True
        if tag == "L":
            return any(lossy(v) for v in value)
        if tag == "M":
            return any(lossy(v) for v in value.values())
        return False

    return any(lossy(v) for v in item.values())


def key_token(key: Doc) -> str:
    """An item's key as URL-safe text (the editor's and the pager's handle on it)."""
    return base64.urlsafe_b64encode(backend.dump_item(key).encode()).decode("ascii")


def key_from_token(token: str) -> Doc | None:
    """The key a ``key_token`` names; None for text we did not make."""
    try:
        key = backend.load_item(base64.urlsafe_b64decode(token.encode("ascii")).decode())
    except (ValueError, UnicodeError):
        return None
    return key if isinstance(key, dict) and key and all(isinstance(v, dict) for v in key.values()) else None


# --- item tables ------------------------------------------------------------------------------


@dataclass
class Cell:
    text: str
    type: str  # the attribute type, "" when the item lacks the attribute
    truncated: bool = False


@dataclass
class ItemRow:
    token: str  # key_token of the item, "" when the row has no full key (a projection without it)
    cells: list[Cell]


@dataclass
class ItemGrid:
    columns: list[str]
    rows: list[ItemRow]
    hidden_columns: int = 0


def _cell(av: Doc | None) -> Cell:
    if av is None:
        return Cell("", "")
    tag, value = next(iter(av.items()))
    text = value if tag == "S" else _plain(av, None, 0)
    if len(text) > CELL_CHARS:
        return Cell(text[: CELL_CHARS - 1] + "…", tag, True)
    return Cell(text, tag)


def item_grid(items: list[Doc], key_names: list[str]) -> ItemGrid:
    """Rows of ``items`` under columns derived from the attributes present: key columns first,
    then the others in order of first appearance (at most MAX_COLUMNS)."""
    seen: dict[str, None] = dict.fromkeys(key_names)
    for item in items:
        seen.update(dict.fromkeys(item))
    present = [name for name in seen if name in key_names or any(name in item for item in items)]
    columns = present[:MAX_COLUMNS]
    rows = [
        ItemRow(
            key_token({n: item[n] for n in key_names}) if all(n in item for n in key_names) else "",
            [_cell(item.get(name)) for name in columns],
        )
        for item in items
    ]
    return ItemGrid(columns, rows, len(present) - len(columns))


# --- streams ----------------------------------------------------------------------------------


@dataclass
class StreamRow:
    sequence_number: str
    event_name: str
    keys: str
    created_at: Any
    size: int


@dataclass
class StreamPanel:
    enabled: bool
    view_type: str
    arn: str
    records: list[StreamRow]


def stream_panel(*, sandbox: Sandbox, name: str) -> StreamPanel:
    """The table's stream (or the last one it had) and its latest records, newest first."""
    table = Table.objects.select_related("sandbox").get(sandbox=sandbox, name=name)
    spec = table.stream_specification or {}
    if not table.stream_label:
        return StreamPanel(False, "", "", [])
    records = StreamRecord.objects.filter(table=table, label=table.stream_label).order_by("-id")[:STREAM_RECORDS]
    rows = [
        StreamRow(
            backend.sequence_number(record.pk),
            record.event_name,
            plain_json(backend.load_item(record.data)["Keys"], indent=None),
            record.created_at,
            record.size,
        )
        for record in records
    ]
    return StreamPanel(
        bool(spec.get("StreamEnabled")), spec.get("StreamViewType", ""), backend.stream_arn(table), rows
    )


# --- latency ----------------------------------------------------------------------------------


@dataclass
class LatencyRow:
    action: str
    source: str  # "SDK" (calls through /aws/) or "Console"
    count: int
    p50: float
    p99: float
    max: float


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of a sorted list."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def latency_rows(*, sandbox: Sandbox, table_arn: str, limit: int = LATENCY_HOPS) -> list[LatencyRow]:
    """p50/p99 of this table's latest ``limit`` dynamodb:* data-plane hops (item reads and writes,
    the ones "single-digit milliseconds" is about), by operation and by caller."""
    hops = (
        Hop.objects.filter(sandbox=sandbox, to_node=table_arn, action__startswith="dynamodb:")
        .exclude(action__in=[f"dynamodb:{operation}" for operation in CONTROL_PLANE])
        .order_by("-id")
        .values_list("action", "from_node", "duration_ms")[:limit]
    )
    groups: dict[tuple[str, str], list[float]] = {}
    for action, from_node, duration in hops:
        source = "Console" if from_node == nodes.BROWSER else "SDK"
        groups.setdefault((action.removeprefix("dynamodb:"), source), []).append(duration)
    rows = []
    for (action, source), durations in sorted(groups.items()):
        durations.sort()
        rows.append(
            LatencyRow(
                action,
                source,
                len(durations),
                _percentile(durations, 0.5),
                _percentile(durations, 0.99),
                durations[-1],
            )
        )
    return rows


def latency_figure(rows: list[LatencyRow]) -> Doc:
    """A plotly figure: p50 and p99 bars per operation, with the 10 ms line of "single-digit"."""
    labels = [f"{row.action} ({row.source})" for row in rows]
    hover = "%{x}<br>%{y:.2f} ms<extra>%{fullData.name}</extra>"
    return {
        "data": [
            {
                "type": "bar",
                "name": "p50",
                "x": labels,
                "y": [round(row.p50, 3) for row in rows],
                "marker": {"color": "#4f46e5"},
                "hovertemplate": hover,
            },
            {
                "type": "bar",
                "name": "p99",
                "x": labels,
                "y": [round(row.p99, 3) for row in rows],
                "marker": {"color": "#a5b4fc"},
                "hovertemplate": hover,
            },
        ],
        "layout": {
            "barmode": "group",
            "margin": {"t": 24, "r": 16, "b": 96, "l": 56},
            "yaxis": {"title": {"text": "milliseconds"}, "rangemode": "tozero"},
            "legend": {"orientation": "h", "y": 1.12},
            "shapes": [
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "y0": SINGLE_DIGIT_MS,
                    "y1": SINGLE_DIGIT_MS,
                    "line": {"color": "#16a34a", "dash": "dash", "width": 1.5},
                }
            ],
            "annotations": [
                {
                    "xref": "paper",
                    "x": 1,
                    "y": SINGLE_DIGIT_MS,
                    "xanchor": "right",
                    "yanchor": "bottom",
                    "text": "10 ms: single-digit milliseconds below",
                    "showarrow": False,
                    "font": {"color": "#15803d", "size": 11},
                }
            ],
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "font": {"family": "system-ui, sans-serif", "size": 12},
        },
    }
