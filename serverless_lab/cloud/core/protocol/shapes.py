"""Service models, and the compiled shape plans the parsers and serialisers walk.

botocore builds a fresh ``Shape`` object every time a shape reference is resolved, so
walking its model per request is slow. Each shape reference is compiled once into a
:class:`Node` (type plus the serialisation traits that matter on the wire); nodes are
shared per service and recursive shapes point back at themselves.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import math
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import formatdate, parsedate_to_datetime
from functools import cache, lru_cache
from typing import Any

import botocore.loaders
from botocore.model import OperationModel, ServiceModel, Shape

SCALAR_KINDS = frozenset(
    {"string", "character", "integer", "long", "short", "byte", "boolean", "float", "double", "blob", "timestamp"}
)
INTEGER_KINDS = frozenset({"integer", "long", "short", "byte"})
FLOAT_KINDS = frozenset({"float", "double"})


class Node:
    """One compiled shape reference.

    ``wire`` is the member-level ``locationName`` (None when absent); ``members`` maps
    member name to node for structures, ``member`` is a list's element, ``key``/``value``
    a map's. ``cache`` holds per-protocol lookup tables built on first use.
    """

    __slots__ = (
        "kind",
        "name",
        "wire",
        "query_name",
        "location",
        "flattened",
        "xml_attribute",
        "xml_namespace",
        "timestamp_format",
        "json_value",
        "members",
        "required",
        "payload",
        "result_wrapper",
        "cache",
        "member",
        "key",
        "value",
    )
    # Set only for lists (``member``) and maps (``key``, ``value``).
    member: Node
    key: Node
    value: Node

    def __init__(self, shape: Shape) -> None:
        ser = shape.serialization
        self.kind: str = "document" if shape.metadata.get("document") else shape.type_name
        self.name: str = shape.name
        self.wire: str | None = ser.get("name")
        self.query_name: str | None = ser.get("queryName")
        self.location: str | None = ser.get("location")
        self.flattened: bool = bool(ser.get("flattened"))
        self.xml_attribute: bool = bool(ser.get("xmlAttribute"))
        self.xml_namespace: Any = ser.get("xmlNamespace")
        self.timestamp_format: str | None = (ser.get("timestampFormat") or "").lower() or None
        self.json_value: bool = bool(ser.get("jsonvalue"))
        self.members: dict[str, Node] = {}
        self.required: tuple[str, ...] = tuple(shape.metadata.get("required", ()))
        self.payload: str | None = ser.get("payload")
        self.result_wrapper: str | None = ser.get("resultWrapper")
        self.cache: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<Node {self.kind} {self.name}>"


def _node_key(shape: Shape) -> tuple[str, str]:
    return shape.name, repr(sorted(shape.serialization.items()))


def compile_shape(shape: Shape, memo: dict[tuple[str, str], Node]) -> Node:
    """The node for ``shape``, compiling it (and everything it reaches) on first sight."""
    key = _node_key(shape)
    node = memo.get(key)
    if node is not None:
        return node
    node = memo[key] = Node(shape)
    if node.kind == "structure":
        node.members = {name: compile_shape(member, memo) for name, member in shape.members.items()}
    elif node.kind == "list":
        node.member = compile_shape(shape.member, memo)
    elif node.kind == "map":
        node.key = compile_shape(shape.key, memo)
        node.value = compile_shape(shape.value, memo)
    return node


@dataclass(frozen=True)
class OperationPlan:
    """Everything about one operation that the hot path needs, computed once.

    ``cache`` holds per-protocol tables derived from the plan on first use.
    """

    name: str
    service_name: str
    protocol: str
    method: str
    request_uri: str
    response_code: int
    input: Node | None
    output: Node | None
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@cache
def _service_memo(service_model: ServiceModel) -> dict[tuple[str, str], Node]:
    return {}


def service_protocol(service_model: ServiceModel) -> str:
    """The protocol a botocore client of this model speaks."""
    if service_model.metadata.get("protocols"):
        return service_model.resolved_protocol
    return service_model.protocol


# A node is visible in the memo before its members are compiled (that is how recursive
# shapes resolve), so compilation is serialised: no thread may see a half-built node.
_COMPILE_LOCK = threading.Lock()


def _compiled(shape: Shape | None, service_model: ServiceModel) -> Node | None:
    if shape is None:
        return None
    with _COMPILE_LOCK:
        return compile_shape(shape, _service_memo(service_model))


@cache
def operation_plan(operation_model: OperationModel) -> OperationPlan:
    """The cached plan of ``operation_model``."""
    service_model = operation_model.service_model
    return OperationPlan(
        name=operation_model.name,
        service_name=service_model.service_name,
        protocol=service_protocol(service_model),
        method=operation_model.http.get("method", "POST").upper(),
        request_uri=operation_model.http.get("requestUri", "/"),
        response_code=int(operation_model.http.get("responseCode", 200)),
        input=_compiled(operation_model.input_shape, service_model),
        output=_compiled(operation_model.output_shape, service_model),
    )


@lru_cache(maxsize=1024)
def error_node(service_model: ServiceModel, code: str) -> Node | None:
    """The compiled error shape botocore would pick for ``code`` (by code or shape name)."""
    shape = service_model.shape_for_error_code(code)
    if shape is None and code in service_model.shape_names:
        candidate = service_model.shape_for(code)
        if candidate.metadata.get("exception"):
            shape = candidate
    return _compiled(shape, service_model)


@cache
def _loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


@cache
def load_service_model(service_name: str) -> ServiceModel:
    """botocore's model of ``service_name`` (latest API version), loaded once."""
    return ServiceModel(_loader().load_service_model(service_name, "service-2"), service_name=service_name)


# --- scalar conversions -------------------------------------------------------------


class BadValue(ValueError):
    """A wire value that does not fit its shape; ``path`` is filled in while unwinding."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.path: list[str] = []

    def where(self) -> str:
        """The dotted member path, outermost first."""
        return ".".join(reversed(self.path))


def parse_timestamp(value: Any) -> datetime:
    """An aware UTC datetime from epoch seconds, ISO 8601 or RFC 822 text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_epoch(value)
    if not isinstance(value, str):
        raise BadValue(f"expected a timestamp, got {json_type_name(value)}")
    text = value.strip()
    try:
        return _from_epoch(float(text))
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise BadValue(f"invalid timestamp {value!r}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _from_epoch(seconds: float) -> datetime:
    if not math.isfinite(seconds):
        raise BadValue(f"invalid timestamp {seconds!r}")
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise BadValue(f"timestamp out of range: {seconds!r}") from None


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return parse_timestamp(value)


def format_timestamp(value: Any, fmt: str) -> str | int | float:
    """``value`` (datetime, date, epoch number or text) in wire format ``fmt``.

    ``unixtimestamp`` gives a number, ``iso8601`` millisecond text ending in ``Z``,
    ``rfc822`` an HTTP date.
    """
    moment = _to_datetime(value)
    if fmt == "unixtimestamp":
        seconds = calendar.timegm(moment.utctimetuple())
        return (seconds * 1_000_000 + moment.microsecond) / 1_000_000 if moment.microsecond else seconds
    if fmt == "rfc822":
        return formatdate(calendar.timegm(moment.utctimetuple()), usegmt=True)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )


def decode_base64(value: Any) -> bytes:
    """Bytes from base64 text."""
    if not isinstance(value, str):
        raise BadValue(f"expected base64 text, got {json_type_name(value)}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadValue("invalid base64 value") from None


def encode_base64(value: Any) -> str:
    """Base64 text of a bytes-like or str ``value`` (str is UTF-8 encoded first)."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(value).decode("ascii")


def scalar_from_text(node: Node, text: str) -> Any:
    """A scalar member from its text form (query parameter, XML text, URI label, header)."""
    kind = node.kind
    if kind in ("string", "character"):
        return text
    if kind in INTEGER_KINDS:
        try:
            return int(text.strip())
        except ValueError:
            raise BadValue(f"expected an integer, got {text!r}") from None
    if kind == "boolean":
        lowered = text.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise BadValue(f"expected true or false, got {text!r}")
    if kind in FLOAT_KINDS:
        try:
            return float(text.strip())
        except ValueError:
            raise BadValue(f"expected a number, got {text!r}") from None
    if kind == "timestamp":
        return parse_timestamp(text)
    if kind == "blob":
        return decode_base64(text.strip())
    raise BadValue(f"expected nested {kind} parameters, got a single value")


def format_float(value: float) -> str | float:
    """A float for JSON: NaN and the infinities as the strings AWS uses."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def scalar_to_text(node: Node, value: Any, default_timestamp: str = "iso8601") -> str:
    """A scalar member as text for XML, query strings and headers."""
    kind = node.kind
    if kind == "string":
        return value if isinstance(value, str) else str(value)
    if kind == "boolean":
        return "true" if value else "false"
    if kind in INTEGER_KINDS:
        return str(int(value))
    if kind in FLOAT_KINDS:
        formatted = format_float(value)
        return formatted if isinstance(formatted, str) else repr(formatted)
    if kind == "timestamp":
        return str(format_timestamp(value, node.timestamp_format or default_timestamp))
    if kind == "blob":
        return encode_base64(value)
    return value if isinstance(value, str) else str(value)


_JSON_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}


def json_type_name(value: Any) -> str:
    """How a decoded JSON value's type is named in error messages."""
    if value is None:
        return "null"
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)
