"""Server-side request parsing: an HTTP request into the params dict the boto3 caller passed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element, ParseError, fromstring

from botocore.model import OperationModel

from serverless_lab.cloud.core.errors import AwsError, SerializationError

from .query_compat import answer_as
from .request import AwsRequest
from .shapes import (
    FLOAT_KINDS,
    INTEGER_KINDS,
    BadValue,
    Node,
    OperationPlan,
    decode_base64,
    json_type_name,
    operation_plan,
    parse_timestamp,
    scalar_from_text,
)

JSON_PROTOCOLS = frozenset({"json", "json-1.0", "json-1.1"})
QUERY_PROTOCOLS = frozenset({"query", "ec2"})

# What each protocol's services call a value of the wrong type (JSON ones: SerializationException).
_BAD_VALUE_CODES = {"query": "InvalidParameterValue", "ec2": "InvalidParameterValue", "rest-xml": "InvalidArgument"}
_MALFORMED_XML = "The XML you provided was not well-formed or did not validate against our published schema."


def parse_request(operation_model: OperationModel, request: AwsRequest, uri_params: dict[str, str]) -> dict:
    """The input params of ``request``, typed per the operation's input shape.

    Malformed input raises SerializationError (``MalformedXML`` for XML bodies) naming
    the offending member; nothing else escapes.
    """
    plan = operation_plan(operation_model)
    node = plan.input
    if node is None:
        return {}
    try:
        if plan.protocol in JSON_PROTOCOLS:
            return _json_struct(node, _load_json(request.body))
        if plan.protocol in QUERY_PROTOCOLS:
            params = _query_struct(node, _form_tree(request.form), plan.protocol == "ec2")
            # Members implied by the path (an SQS queue URL posted to) fill what the form left out.
            return {**{k: v for k, v in uri_params.items() if k in node.members}, **params}
        return _parse_rest(plan, node, request, uri_params)
    except BadValue as exc:
        where = exc.where()
        message = f"Invalid value for {where}: {exc.message}" if where else exc.message
        error: AwsError = SerializationError(message, code=_BAD_VALUE_CODES.get(plan.protocol))
    except AwsError as exc:
        error = exc
    except (ValueError, TypeError, LookupError, RecursionError) as exc:
        error = SerializationError(f"Could not parse the {plan.name} request: {exc}")
    # Answered in the protocol the request was parsed with (a query view's, for query-era SQS).
    raise answer_as(error, operation_model.service_model) from None


# --- JSON ------------------------------------------------------------------------------


def _load_json(body: bytes) -> dict:
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise SerializationError(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise SerializationError(f"The request body must be a JSON object, not {json_type_name(value)}.")
    return value


def _json_index(node: Node) -> dict[str, tuple[str, Node]]:
    """Body members of a structure by JSON key (members bound to a location are left out)."""
    index = node.cache.get("json")
    if index is None:
        index = node.cache["json"] = {
            member.wire or name: (name, member) for name, member in node.members.items() if member.location is None
        }
    return index


def _json_struct(node: Node, value: Any) -> dict:
    if not isinstance(value, dict):
        raise BadValue(f"expected an object, got {json_type_name(value)}")
    index = _json_index(node)
    result = {}
    for key, raw in value.items():
        entry = index.get(key)
        if entry is None or raw is None:
            continue
        name, member = entry
        try:
            result[name] = _JSON_READERS[member.kind](member, raw)
        except BadValue as exc:
            exc.path.append(name)
            raise
    return result


def _json_list(node: Node, value: Any) -> list:
    if not isinstance(value, list):
        raise BadValue(f"expected an array, got {json_type_name(value)}")
    member = node.member
    reader = _JSON_READERS[member.kind]
    result = []
    for position, item in enumerate(value):
        try:
            result.append(None if item is None else reader(member, item))
        except BadValue as exc:
            exc.path.append(str(position + 1))
            raise
    return result


def _json_map(node: Node, value: Any) -> dict:
    if not isinstance(value, dict):
        raise BadValue(f"expected an object, got {json_type_name(value)}")
    member = node.value
    reader = _JSON_READERS[member.kind]
    result = {}
    for key, item in value.items():
        if item is None:
            continue
        try:
            result[key] = reader(member, item)
        except BadValue as exc:
            exc.path.append(key)
            raise
    return result


def _json_string(node: Node, value: Any) -> str:
    if not isinstance(value, str):
        raise BadValue(f"expected a string, got {json_type_name(value)}")
    return value


def _json_integer(node: Node, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise BadValue(f"expected an integer, got {json_type_name(value)} {value!r}")


def _json_float(node: Node, value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if value in ("NaN", "Infinity", "-Infinity"):
        return float(value)
    raise BadValue(f"expected a number, got {json_type_name(value)} {value!r}")


def _json_boolean(node: Node, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise BadValue(f"expected a boolean, got {json_type_name(value)}")


def _json_blob(node: Node, value: Any) -> bytes:
    return decode_base64(value)


def _json_timestamp(node: Node, value: Any) -> Any:
    return parse_timestamp(value)


def _json_document(node: Node, value: Any) -> Any:
    return value


_JSON_READERS: dict[str, Callable[[Node, Any], Any]] = {
    "structure": _json_struct,
    "list": _json_list,
    "map": _json_map,
    "string": _json_string,
    "character": _json_string,
    "boolean": _json_boolean,
    "blob": _json_blob,
    "timestamp": _json_timestamp,
    "document": _json_document,
    **{kind: _json_integer for kind in INTEGER_KINDS},
    **{kind: _json_float for kind in FLOAT_KINDS},
}


# --- query / ec2 -----------------------------------------------------------------------


def _form_tree(form: dict[str, str]) -> dict:
    """``{"A.member.1.B": "x"}`` as ``{"A": {"member": {"1": {"B": "x"}}}}``."""
    root: dict = {}
    for key, value in form.items():
        if key in ("Action", "Version"):
            continue
        *parents, last = key.split(".")
        node = root
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if not isinstance(node.get(last), dict):
            node[last] = value
    return root


def _query_names(node: Node, ec2: bool) -> list[tuple[str, tuple[str, ...], Node]]:
    """(member name, accepted parameter names, node) for a structure's members."""
    cache_key = "ec2" if ec2 else "query"
    names = node.cache.get(cache_key)
    if names is None:
        names = []
        for name, member in node.members.items():
            if ec2:
                primary = member.query_name or (member.wire[:1].upper() + member.wire[1:] if member.wire else name)
            else:
                primary = member.wire or name
            accepted = [primary]
            if member.kind == "list" and member.member.wire and member.member.wire not in accepted:
                accepted.append(member.member.wire)
            if name not in accepted:
                accepted.append(name)
            names.append((name, tuple(accepted), member))
        node.cache[cache_key] = names
    return names


def _query_struct(node: Node, tree: Any, ec2: bool) -> dict:
    if not isinstance(tree, dict):
        raise BadValue("expected nested parameters, got a single value")
    result = {}
    for name, accepted, member in _query_names(node, ec2):
        for param in accepted:
            sub = tree.get(param)
            if sub is not None:
                try:
                    result[name] = _query_value(member, sub, ec2)
                except BadValue as exc:
                    exc.path.append(param)
                    raise
                break
    return result


def _indexed(tree: dict) -> list[tuple[str, Any]]:
    """The ``1``, ``2``, ... children of a list/map parameter, in numeric order."""
    items = [(int(key), key, value) for key, value in tree.items() if key.isdecimal()]
    items.sort()
    return [(key, value) for _, key, value in items]


def _query_value(node: Node, sub: Any, ec2: bool) -> Any:
    kind = node.kind
    if kind == "structure":
        return _query_struct(node, sub, ec2)
    if kind in ("list", "map"):
        if sub == "":
            return [] if kind == "list" else {}
        if not isinstance(sub, dict):
            raise BadValue(f"expected numbered {kind} parameters, got a single value")
        # Accept both "Name.member.N" / "Name.entry.N" and the flattened "Name.N".
        wrapper: str | None = (node.member.wire or "member") if kind == "list" else "entry"
        if not isinstance(sub.get(wrapper), dict):
            wrapper = "member" if kind == "list" and isinstance(sub.get("member"), dict) else None
        try:
            items = _indexed(sub[wrapper] if wrapper else sub)
            return _query_list(node, items, ec2) if kind == "list" else _query_map(node, items, ec2)
        except BadValue as exc:
            if wrapper:
                exc.path.append(wrapper)
            raise
    if isinstance(sub, dict):
        raise BadValue("expected a single value, got nested parameters")
    return scalar_from_text(node, sub)


def _query_list(node: Node, items: list[tuple[str, Any]], ec2: bool) -> list:
    result = []
    for index, item in items:
        try:
            result.append(_query_value(node.member, item, ec2))
        except BadValue as exc:
            exc.path.append(index)
            raise
    return result


def _query_map(node: Node, items: list[tuple[str, Any]], ec2: bool) -> dict:
    key_name, value_name = node.key.wire or "key", node.value.wire or "value"
    result = {}
    for index, entry in items:
        try:
            if not isinstance(entry, dict) or not isinstance(entry.get(key_name), str) or value_name not in entry:
                raise BadValue(f"map entry needs {key_name} and {value_name}")
            try:
                result[entry[key_name]] = _query_value(node.value, entry[value_name], ec2)
            except BadValue as exc:
                exc.path.append(value_name)
                raise
        except BadValue as exc:
            exc.path.append(index)
            raise
    return result


# --- rest-json / rest-xml -----------------------------------------------------------------


class _RestInput:
    """An input structure's members sorted by where they travel."""

    def __init__(self, node: Node, request_uri: str) -> None:
        self.uri: list[tuple[str, str, Node]] = []
        self.query: list[tuple[str, str, Node]] = []
        self.query_map: tuple[str, Node] | None = None
        self.header: list[tuple[str, str, Node]] = []
        self.header_maps: list[tuple[str, str]] = []
        self.has_body_members = False
        for name, member in node.members.items():
            wire = member.wire or name
            location = member.location
            if location == "uri":
                self.uri.append((name, wire, member))
            elif location == "querystring":
                if member.kind == "map":
                    self.query_map = (name, member)
                else:
                    self.query.append((name, wire, member))
            elif location == "header":
                self.header.append((name, wire.lower(), member))
            elif location == "headers":
                self.header_maps.append((name, wire.lower()))
            elif name != node.payload:
                self.has_body_members = True
        template_query = request_uri.partition("?")[2]
        self.claimed_query = frozenset(
            [pair.partition("=")[0] for pair in template_query.split("&") if pair] + [wire for _, wire, _ in self.query]
        )
        self.payload: tuple[str, Node] | None = (node.payload, node.members[node.payload]) if node.payload else None


def _rest_input(plan: OperationPlan, node: Node) -> _RestInput:
    table = plan.cache.get("rest-input")
    if table is None:
        table = plan.cache["rest-input"] = _RestInput(node, plan.request_uri)
    return table


def _parse_rest(plan: OperationPlan, node: Node, request: AwsRequest, uri_params: dict[str, str]) -> dict:
    table = _rest_input(plan, node)
    result: dict[str, Any] = {}
    for name, wire, member in table.uri:
        if wire in uri_params:
            result[name] = _text_member(name, member, uri_params[wire])
    if table.query or table.query_map:
        _read_query(table, request, result)
    headers = request.lower_headers
    body = request.body
    payload = table.payload
    if payload is not None and payload[1].kind in ("blob", "string") and _is_aws_chunked(headers):
        body, headers = _decode_aws_chunked(body, headers)
    for name, wire, member in table.header:
        value = headers.get(wire)
        if value is not None:
            result[name] = _header_member(name, member, value)
    for name, prefix in table.header_maps:
        found = {key[len(prefix) :]: value for key, value in headers.items() if key.startswith(prefix)}
        if found:
            result[name] = found
    if payload is not None:
        name, member = payload
        if member.kind == "blob":
            if body:
                result[name] = body
        elif member.kind == "string":
            if body:
                result[name] = body.decode("utf-8")
        elif body.strip():
            result[name] = _parse_body(plan.protocol, member, body, name)
    elif table.has_body_members and body.strip():
        result.update(_parse_body(plan.protocol, node, body, None))
    return result


def _parse_body(protocol: str, node: Node, body: bytes, member_name: str | None) -> Any:
    try:
        if protocol == "rest-json":
            return _json_struct(node, _load_json(body))
        return _xml_struct(node, _load_xml(body))
    except BadValue as exc:
        if member_name:
            exc.path.append(member_name)
        raise


def _read_query(table: _RestInput, request: AwsRequest, result: dict[str, Any]) -> None:
    pairs = request.query_pairs
    for name, wire, member in table.query:
        if member.kind == "list":
            values = [value for key, value in pairs if key == wire]
            if values:
                result[name] = [_text_member(name, member.member, value) for value in values]
        elif wire in request.query_dict:
            result[name] = _text_member(name, member, request.query_dict[wire])
    if table.query_map is not None:
        name, member = table.query_map
        found: dict[str, Any] = {}
        for key, value in pairs:
            if key in table.claimed_query:
                continue
            if member.value.kind == "list":
                found.setdefault(key, []).append(value)
            else:
                found[key] = value
        if found:
            result[name] = found


def _text_member(name: str, node: Node, text: str) -> Any:
    try:
        return scalar_from_text(node, text)
    except BadValue as exc:
        exc.path.append(name)
        raise


def _header_member(name: str, node: Node, text: str) -> Any:
    try:
        if node.kind == "list":
            return [scalar_from_text(node.member, item) for item in _split_header_list(text)]
        if node.json_value:
            return json.loads(decode_base64(text.strip()))
        return scalar_from_text(node, text)
    except BadValue as exc:
        exc.path.append(name)
        raise
    except ValueError as exc:
        raise BadValue(f"header {name} is not base64-encoded JSON: {exc}") from None


def _split_header_list(text: str) -> list[str]:
    """RFC 7230 comma-separated values; double-quoted items may contain commas."""
    items: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    items.append("".join(current).strip())
    return [item for item in items if item]


def _is_aws_chunked(headers: dict[str, str]) -> bool:
    return "aws-chunked" in headers.get("content-encoding", "") or headers.get("x-amz-content-sha256", "").startswith(
        "STREAMING-"
    )


def _decode_aws_chunked(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """The payload of an ``aws-chunked`` body, and the headers plus any trailers."""
    data = bytearray()
    trailers: dict[str, str] = {}
    position = 0
    while True:
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            raise SerializationError("The aws-chunked request body is truncated.", code="IncompleteBody")
        size_text = body[position:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise SerializationError(f"Invalid aws-chunked chunk size {size_text!r}.") from None
        position = line_end + 2
        if size == 0:
            break
        if position + size + 2 > len(body) or body[position + size : position + size + 2] != b"\r\n":
            raise SerializationError("The aws-chunked request body is truncated.", code="IncompleteBody")
        data += body[position : position + size]
        position += size + 2
    for line in body[position:].split(b"\r\n"):
        name, sep, value = line.decode("latin-1").partition(":")
        if sep and name.strip().lower() != "x-amz-trailer-signature":
            trailers[name.strip().lower()] = value.strip()
    merged = {**headers, **trailers, "content-length": str(len(data))}
    encodings = [item.strip() for item in merged.get("content-encoding", "").split(",")]
    remaining = ",".join(item for item in encodings if item and item != "aws-chunked")
    if remaining:
        merged["content-encoding"] = remaining
    else:
        merged.pop("content-encoding", None)
    return bytes(data), merged


# --- XML (rest-xml bodies) -----------------------------------------------------------------


def _load_xml(body: bytes) -> Element:
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise SerializationError(_MALFORMED_XML + " Document type declarations are not allowed.", code="MalformedXML")
    try:
        return fromstring(body)
    except ParseError as exc:
        raise SerializationError(f"{_MALFORMED_XML} ({exc})", code="MalformedXML") from None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _xml_members(node: Node) -> list[tuple[str, tuple[str, ...], Node]]:
    """(member name, accepted element names, node) for a structure's body members."""
    members = node.cache.get("xml")
    if members is None:
        members = []
        for name, member in node.members.items():
            if member.location is not None:
                continue
            accepted = [member.wire or name]
            if member.kind == "list" and member.flattened and member.member.wire:
                accepted.append(member.member.wire)
            members.append((name, tuple(accepted), member))
        node.cache["xml"] = members
    return members


def _xml_struct(node: Node, element: Element) -> dict:
    children: dict[str, list[Element]] = {}
    for child in element:
        children.setdefault(_local(child.tag), []).append(child)
    result: dict[str, Any] = {}
    for name, accepted, member in _xml_members(node):
        if member.xml_attribute:
            local = (member.wire or name).rpartition(":")[2]
            for attribute, value in element.attrib.items():
                if _local(attribute) == local:
                    result[name] = value
            continue
        for tag in accepted:
            found = children.get(tag)
            if found:
                try:
                    result[name] = _xml_value(member, found)
                except BadValue as exc:
                    exc.path.append(name)
                    raise
                break
    return result


def _xml_value(node: Node, elements: list[Element]) -> Any:
    kind = node.kind
    if kind == "list":
        values = []
        for position, item in enumerate(elements if node.flattened else list(elements[0]), 1):
            try:
                values.append(_xml_value(node.member, [item]))
            except BadValue as exc:
                exc.path.append(str(position))
                raise
        return values
    if kind == "map":
        entries = elements if node.flattened else list(elements[0])
        key_name, value_name = node.key.wire or "key", node.value.wire or "value"
        result = {}
        for entry in entries:
            parts = {_local(child.tag): child for child in entry}
            if key_name not in parts or value_name not in parts:
                raise BadValue(f"map entry needs {key_name} and {value_name}")
            result[parts[key_name].text or ""] = _xml_value(node.value, [parts[value_name]])
        return result
    if kind == "structure":
        return _xml_struct(node, elements[0])
    return scalar_from_text(node, elements[0].text or "")


# --- required members ----------------------------------------------------------------------

_MISSING_CODES = {"json": "ValidationException", "rest-json": "ValidationException", "rest-xml": "InvalidArgument"}


def validate_required(operation_model: OperationModel, params: dict) -> None:
    """Raise the protocol's missing-parameter error if a required member is absent.

    ``ValidationException`` (json, rest-json; lists every missing member path),
    ``MissingParameter`` (query, ec2) or ``InvalidArgument`` (rest-xml; the first one).
    """
    plan = operation_plan(operation_model)
    if plan.input is None:
        return
    missing: list[str] = []
    _collect_missing(plan.input, params, "", missing)
    if not missing:
        return
    protocol = "json" if plan.protocol in JSON_PROTOCOLS else plan.protocol
    code = _MISSING_CODES.get(protocol, "MissingParameter")
    if code == "ValidationException":
        count = len(missing)
        details = "; ".join(
            f"Value null at '{path}' failed to satisfy constraint: Member must not be null" for path in missing
        )
        raise AwsError(f"{count} validation error{'s' if count > 1 else ''} detected: {details}", code=code)
    if code == "MissingParameter":
        raise AwsError(f"The request must contain the parameter {missing[0]}.", code=code)
    raise AwsError(f"Missing required parameter: {missing[0]}.", code=code, ArgumentName=missing[0])


def _collect_missing(node: Node, value: Any, path: str, missing: list[str]) -> None:
    kind = node.kind
    if kind == "structure" and isinstance(value, dict):
        for name in node.required:
            if value.get(name) is None:
                missing.append(path + name)
        for name, item in value.items():
            member = node.members.get(name)
            if member is not None and item is not None and member.kind in ("structure", "list", "map"):
                _collect_missing(member, item, f"{path}{name}.", missing)
    elif kind == "list" and isinstance(value, list):
        for position, item in enumerate(value, 1):
            _collect_missing(node.member, item, f"{path}{position}.", missing)
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            _collect_missing(node.value, item, f"{path}{key}.", missing)
