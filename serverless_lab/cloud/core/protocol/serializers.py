"""Server-side response serialisation: results and AwsErrors in each AWS wire protocol."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from botocore.model import OperationModel, ServiceModel

from serverless_lab.cloud.core.errors import AwsError

from .parsers import JSON_PROTOCOLS, QUERY_PROTOCOLS
from .request import AwsResponse
from .shapes import (
    FLOAT_KINDS,
    INTEGER_KINDS,
    SCALAR_KINDS,
    Node,
    OperationPlan,
    encode_base64,
    error_node,
    format_float,
    format_timestamp,
    operation_plan,
    scalar_to_text,
    service_protocol,
)

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

# Root element names S3 really sends; the model does not carry them (botocore ignores them).
_S3_ROOTS = {
    "ListBuckets": "ListAllMyBucketsResult",
    "ListObjects": "ListBucketResult",
    "ListObjectsV2": "ListBucketResult",
    "ListObjectVersions": "ListVersionsResult",
    "ListMultipartUploads": "ListMultipartUploadsResult",
    "ListParts": "ListPartsResult",
    "CreateMultipartUpload": "InitiateMultipartUploadResult",
    "CompleteMultipartUpload": "CompleteMultipartUploadResult",
    "DeleteObjects": "DeleteResult",
    "GetBucketVersioning": "VersioningConfiguration",
    "GetBucketTagging": "Tagging",
    "GetObjectTagging": "Tagging",
    "GetBucketAcl": "AccessControlPolicy",
    "GetObjectAcl": "AccessControlPolicy",
    "GetBucketCors": "CORSConfiguration",
    "GetBucketLifecycleConfiguration": "LifecycleConfiguration",
    "GetBucketNotificationConfiguration": "NotificationConfiguration",
    "GetBucketWebsite": "WebsiteConfiguration",
    "GetBucketLogging": "BucketLoggingStatus",
    "GetBucketAccelerateConfiguration": "AccelerateConfiguration",
    "GetBucketRequestPayment": "RequestPaymentConfiguration",
    "GetObjectAttributes": "GetObjectAttributesResponse",
}
# Operations whose whole body is one element holding a single member's text.
_XML_VALUE_ROOTS = {("s3", "GetBucketLocation"): "LocationConstraint"}

# __type namespaces the JSON services really send before "#<Code>".
_JSON_TYPE_PREFIXES = {"dynamodb": "com.amazonaws.dynamodb.v20120810#", "sqs": "com.amazonaws.sqs#"}

# SQS moved from query to JSON without modelling its legacy query error codes, which
# it still reports in the x-amzn-query-error header (shape name -> legacy code).
_SQS_QUERY_CODES = {
    "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
    "QueueNameExists": "QueueAlreadyExists",
    "QueueDeletedRecently": "AWS.SimpleQueueService.QueueDeletedRecently",
    "PurgeQueueInProgress": "AWS.SimpleQueueService.PurgeQueueInProgress",
    "MessageNotInflight": "AWS.SimpleQueueService.MessageNotInflight",
    "UnsupportedOperation": "AWS.SimpleQueueService.UnsupportedOperation",
    "BatchEntryIdsNotDistinct": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    "BatchRequestTooLong": "AWS.SimpleQueueService.BatchRequestTooLong",
    "EmptyBatchRequest": "AWS.SimpleQueueService.EmptyBatchRequest",
    "InvalidBatchEntryId": "AWS.SimpleQueueService.InvalidBatchEntryId",
    "TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
}


def serialize_result(operation_model: OperationModel, result: dict | None, *, request_id: str) -> AwsResponse:
    """The HTTP response carrying ``result`` (botocore's output shape) for this operation.

    ``None`` means an empty result. Members that are None or not in the output shape
    are left out. As in botocore's parsed responses, ``ResponseMetadata.HTTPStatusCode``
    in ``result`` may set a status the model cannot express (S3's 206 for a ranged GET).
    """
    plan = operation_plan(operation_model)
    protocol = plan.protocol
    result = result or {}
    if protocol in JSON_PROTOCOLS:
        response = _json_response(plan, operation_model.service_model, result, request_id)
    elif protocol in QUERY_PROTOCOLS:
        response = _query_response(plan, operation_model.service_model, result, request_id)
    else:
        response = _rest_response(plan, operation_model.service_model, result, request_id)
    metadata = result.get("ResponseMetadata")
    if metadata and metadata.get("HTTPStatusCode"):
        response.status = int(metadata["HTTPStatusCode"])
    return response


# --- JSON values ---------------------------------------------------------------------------


def _json_struct(node: Node, value: dict) -> dict:
    index = node.cache.get("json-out")
    if index is None:
        index = node.cache["json-out"] = {
            name: (member.wire or name, member, _JSON_WRITERS[member.kind])
            for name, member in node.members.items()
            if member.location is None
        }
    out = {}
    for name, item in value.items():
        entry = index.get(name)
        if entry is not None and item is not None:
            wire, member, writer = entry
            out[wire] = writer(member, item)
    return out


def _json_list(node: Node, value: Any) -> list:
    member = node.member
    writer = _JSON_WRITERS[member.kind]
    return [None if item is None else writer(member, item) for item in value]


def _json_map(node: Node, value: dict) -> dict:
    member = node.value
    writer = _JSON_WRITERS[member.kind]
    return {str(key): writer(member, item) for key, item in value.items() if item is not None}


def _json_scalar(node: Node, value: Any) -> Any:
    return value if isinstance(value, str) else str(value)


_JSON_WRITERS: dict[str, Callable[[Node, Any], Any]] = {
    "structure": _json_struct,
    "document": lambda node, value: value,
    "list": _json_list,
    "map": _json_map,
    "string": _json_scalar,
    "character": _json_scalar,
    "boolean": lambda node, value: bool(value),
    "blob": lambda node, value: encode_base64(value),
    "timestamp": lambda node, value: format_timestamp(value, node.timestamp_format or "unixtimestamp"),
    **{kind: (lambda node, value: int(value)) for kind in INTEGER_KINDS},
    **{kind: (lambda node, value: format_float(value)) for kind in FLOAT_KINDS},
}


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=_json_default).encode("utf-8")


def _json_default(value: Any) -> Any:
    """Loose conversion for error fields that are not modelled."""
    if isinstance(value, (datetime, date)):
        return format_timestamp(value, "unixtimestamp")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return encode_base64(bytes(value))
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def _json_response(plan: OperationPlan, service: ServiceModel, result: dict, request_id: str) -> AwsResponse:
    body = _json_bytes(_json_struct(plan.output, result) if plan.output is not None else {})
    headers = {"Content-Type": _json_content_type(service), "x-amzn-RequestId": request_id}
    if plan.service_name == "dynamodb":
        headers["x-amz-crc32"] = str(zlib.crc32(body))
    return AwsResponse(plan.response_code, headers, body)


def _json_content_type(service: ServiceModel) -> str:
    return f"application/x-amz-json-{service.metadata.get('jsonVersion', '1.0')}"


# --- XML values ----------------------------------------------------------------------------

_NEEDS_ESCAPE = re.compile(r'[&<>\r"]')


def _escape(text: str) -> str:
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _escape_attribute(text: str) -> str:
    return _escape(text).replace('"', "&quot;")


def _namespace_attribute(namespace: Any) -> str:
    if isinstance(namespace, dict):
        prefix = namespace.get("prefix")
        name = f"xmlns:{prefix}" if prefix else "xmlns"
        return f' {name}="{_escape_attribute(namespace.get("uri", ""))}"'
    if isinstance(namespace, str):
        return f' xmlns="{_escape_attribute(namespace)}"'
    return ""


def _xml_element(node: Node, value: Any, tag: str, out: list[str], extra_attributes: str = "") -> None:
    """Append ``value`` as the element ``<tag>`` (non-flattened form)."""
    kind = node.kind
    if kind in SCALAR_KINDS:
        out.append(f"<{tag}{extra_attributes}>{_escape(scalar_to_text(node, value))}</{tag}>")
    elif kind == "structure":
        attributes = extra_attributes or _namespace_attribute(node.xml_namespace)
        for name, member in _xml_attribute_members(node):
            if value.get(name) is not None:
                attributes += f' {member.wire or name}="{_escape_attribute(scalar_to_text(member, value[name]))}"'
        out.append(f"<{tag}{attributes}>")
        _xml_members(node, value, out)
        out.append(f"</{tag}>")
    elif kind == "list":
        out.append(f"<{tag}{extra_attributes}>")
        item_tag = node.member.wire or "member"
        for item in value:
            if item is not None:
                _xml_element(node.member, item, item_tag, out)
        out.append(f"</{tag}>")
    elif kind == "map":
        out.append(f"<{tag}{extra_attributes}>")
        for key, item in value.items():
            if item is not None:
                out.append("<entry>")
                _xml_map_entry(node, key, item, out)
                out.append("</entry>")
        out.append(f"</{tag}>")
    else:
        out.append(f"<{tag}{extra_attributes}>{_escape(str(value))}</{tag}>")


def _xml_attribute_members(node: Node) -> list[tuple[str, Node]]:
    members = node.cache.get("xml-attributes")
    if members is None:
        members = node.cache["xml-attributes"] = [(n, m) for n, m in node.members.items() if m.xml_attribute]
    return members


def _xml_map_entry(node: Node, key: Any, item: Any, out: list[str]) -> None:
    key_tag, value_tag = node.key.wire or "key", node.value.wire or "value"
    out.append(f"<{key_tag}>{_escape(str(key))}</{key_tag}>")
    _xml_element(node.value, item, value_tag, out)


def _xml_members(node: Node, value: dict, out: list[str]) -> None:
    """Append a structure's body members (those without a location) as child elements."""
    for name, member in node.members.items():
        item = value.get(name)
        if item is not None and member.location is None and not member.xml_attribute:
            _xml_member(member, name, item, out)


def _xml_member(member: Node, name: str, item: Any, out: list[str]) -> None:
    """Append one structure member, honouring flattened lists and maps."""
    tag = member.wire or name
    if member.flattened and member.kind == "list":
        item_tag = member.member.wire or tag
        for element in item:
            if element is not None:
                _xml_element(member.member, element, item_tag, out)
    elif member.flattened and member.kind == "map":
        for key, entry in item.items():
            if entry is not None:
                out.append(f"<{tag}>")
                _xml_map_entry(member, key, entry, out)
                out.append(f"</{tag}>")
    else:
        _xml_element(member, item, tag, out)


def _xml_loose(value: Any, tag: str, out: list[str]) -> None:
    """Append an unmodelled error field as XML."""
    if isinstance(value, dict):
        out.append(f"<{tag}>")
        for key, item in value.items():
            if item is not None:
                _xml_loose(item, str(key), out)
        out.append(f"</{tag}>")
    elif isinstance(value, (list, tuple, set, frozenset)):
        out.append(f"<{tag}>")
        for item in value:
            if item is not None:
                _xml_loose(item, "member", out)
        out.append(f"</{tag}>")
    else:
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (datetime, date)):
            text = str(format_timestamp(value, "iso8601"))
        elif isinstance(value, (bytes, bytearray, memoryview)):
            text = encode_base64(bytes(value))
        else:
            text = str(value)
        out.append(f"<{tag}>{_escape(text)}</{tag}>")


def _xml_namespace(service: ServiceModel) -> str:
    namespace = service.metadata.get("xmlNamespace")
    if isinstance(namespace, dict):
        namespace = namespace.get("uri")
    if namespace:
        return namespace
    return S3_NAMESPACE if service.service_name == "s3" else ""


# --- query / ec2 ---------------------------------------------------------------------------


def _query_response(plan: OperationPlan, service: ServiceModel, result: dict, request_id: str) -> AwsResponse:
    namespace = _escape_attribute(_xml_namespace(service))
    out = [f'<{plan.name}Response xmlns="{namespace}">']
    ec2 = plan.protocol == "ec2"
    if ec2:
        out.append(f"<requestId>{_escape(request_id)}</requestId>")
    if plan.output is not None:
        wrapper = None if ec2 else plan.output.result_wrapper
        if wrapper:
            out.append(f"<{wrapper}>")
        _xml_members(plan.output, result, out)
        if wrapper:
            out.append(f"</{wrapper}>")
    if not ec2:
        out.append(f"<ResponseMetadata><RequestId>{_escape(request_id)}</RequestId></ResponseMetadata>")
    out.append(f"</{plan.name}Response>")
    headers = {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}
    return AwsResponse(plan.response_code, headers, "".join(out).encode("utf-8"))


# --- rest-json / rest-xml ------------------------------------------------------------------


class _RestOutput:
    """An output structure's members sorted by where they travel."""

    def __init__(self, node: Node) -> None:
        self.headers: list[tuple[str, str, Node]] = []
        self.header_maps: list[tuple[str, str]] = []
        self.status: str | None = None
        self.has_body_members = False
        for name, member in node.members.items():
            location = member.location
            if location == "header":
                self.headers.append((name, member.wire or name, member))
            elif location == "headers":
                self.header_maps.append((name, member.wire or ""))
            elif location == "statusCode":
                self.status = name
            elif location is None and name != node.payload:
                self.has_body_members = True
        self.payload: tuple[str, Node] | None = (node.payload, node.members[node.payload]) if node.payload else None


def _rest_output(plan: OperationPlan, node: Node) -> _RestOutput:
    table = plan.cache.get("rest-output")
    if table is None:
        table = plan.cache["rest-output"] = _RestOutput(node)
    return table


def _header_text(node: Node, value: Any) -> str:
    if node.kind == "list":
        return ",".join(_header_list_item(node.member, item) for item in value if item is not None)
    if node.json_value:
        return encode_base64(json.dumps(value, separators=(",", ":")))
    return scalar_to_text(node, value, "rfc822")


def _header_list_item(node: Node, value: Any) -> str:
    text = scalar_to_text(node, value, "rfc822")
    if node.kind == "string" and ('"' in text or "," in text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _raw_body(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return value.read()


def _rest_response(plan: OperationPlan, service: ServiceModel, result: dict, request_id: str) -> AwsResponse:
    status = plan.response_code
    headers: dict[str, str] = {}
    body = b""
    content_type = "application/json" if plan.protocol == "rest-json" else "application/xml"
    node = plan.output
    if node is not None:
        table = _rest_output(plan, node)
        for name, wire, member in table.headers:
            value = result.get(name)
            if value is not None:
                headers[wire] = _header_text(member, value)
        for name, prefix in table.header_maps:
            for key, value in (result.get(name) or {}).items():
                if value is not None:
                    headers[prefix + key] = str(value)
        if table.status is not None and result.get(table.status) is not None:
            status = int(result[table.status])
        if table.payload is not None:
            name, member = table.payload
            value = result.get(name)
            if member.kind in ("blob", "string"):
                body = _raw_body(value) if value is not None else b""
                content_type = "application/octet-stream" if member.kind == "blob" else "text/plain"
            elif value is not None:
                body = _rest_body(plan, service, member, value, member.wire or member.name)
        elif table.has_body_members:
            body = _rest_body(plan, service, node, result, None)
    if plan.method == "HEAD":
        body = b""
    if not any(key.lower() == "content-type" for key in headers):
        headers["Content-Type"] = content_type
    headers.update(_request_id_headers(service, request_id))
    return AwsResponse(status, headers, body)


def _rest_body(plan: OperationPlan, service: ServiceModel, node: Node, value: dict, root: str | None) -> bytes:
    if plan.protocol == "rest-json":
        return _json_bytes(_json_struct(node, value))
    value_root = _XML_VALUE_ROOTS.get((plan.service_name, plan.name))
    namespace = _namespace_attribute(node.xml_namespace or _xml_namespace(service) or None)
    out = [_XML_DECLARATION]
    if value_root is not None:
        text = value.get(value_root)
        out.append(f"<{value_root}{namespace}>{_escape(str(text)) if text is not None else ''}</{value_root}>")
    else:
        if root is None and plan.service_name == "s3":
            root = _S3_ROOTS.get(plan.name)
        _xml_element(node, value, root or node.wire or f"{plan.name}Result", out, namespace)
    return "".join(out).encode("utf-8")


def _request_id_headers(service: ServiceModel, request_id: str) -> dict[str, str]:
    headers = {"x-amzn-RequestId": request_id}
    if service.service_name == "s3":
        headers["x-amz-request-id"] = request_id
        headers["x-amz-id-2"] = encode_base64(request_id)
    return headers


# --- errors --------------------------------------------------------------------------------


def serialize_error(
    service_model: ServiceModel,
    error: AwsError,
    *,
    request_id: str,
    operation_model: OperationModel | None = None,
) -> AwsResponse:
    """``error`` as the service's protocol reports it; botocore reads back its code and message.

    A HEAD operation gets an empty body (botocore then reports the HTTP status as the code).
    An error marked with ``query_compat.answer_as`` is rendered with that model instead.
    """
    service_model = getattr(error, "wire_model", None) or service_model
    protocol = service_protocol(service_model)
    if protocol in JSON_PROTOCOLS:
        response = _json_error(service_model, error, request_id)
    elif protocol == "rest-json":
        response = _rest_json_error(service_model, error, request_id)
    elif protocol == "rest-xml":
        response = _rest_xml_error(service_model, error, request_id)
    else:
        response = _query_error(service_model, error, request_id, ec2=protocol == "ec2")
    if operation_model is not None and operation_model.http.get("method", "").upper() == "HEAD":
        response.body = b""
    return response


def _error_fields(
    service: ServiceModel, error: AwsError, headers: dict[str, str]
) -> list[tuple[str, Node | None, Any]]:
    """``error.fields`` as (name, modelled member or None, value); header-bound members go to ``headers``."""
    node = error_node(service, error.code)
    fields = []
    for name, value in error.fields.items():
        if value is None:
            continue
        member = node.members.get(name) if node is not None else None
        if member is not None and member.location == "header":
            headers[member.wire or name] = _header_text(member, value)
        elif member is None or member.location is None:
            fields.append((name, member, value))
    return fields


def _error_fields_json(service: ServiceModel, error: AwsError, headers: dict[str, str]) -> dict[str, Any]:
    return {
        (member.wire or name) if member else name: _JSON_WRITERS[member.kind](member, value) if member else value
        for name, member, value in _error_fields(service, error, headers)
    }


def _error_fields_xml(service: ServiceModel, error: AwsError, headers: dict[str, str], out: list[str]) -> None:
    for name, member, value in _error_fields(service, error, headers):
        if member is not None:
            _xml_member(member, name, value, out)
        else:
            _xml_loose(value, name, out)


@cache
def _query_compatible_types(service: ServiceModel) -> dict[str, str]:
    """Legacy query error code -> error shape name, for awsQueryCompatible services."""
    types = {legacy: shape for shape, legacy in _SQS_QUERY_CODES.items()} if service.service_name == "sqs" else {}
    for shape in service.error_shapes:
        legacy = shape.metadata.get("error", {}).get("code")
        if legacy:
            types[legacy] = shape.name
    return types


def _json_error(service: ServiceModel, error: AwsError, request_id: str) -> AwsResponse:
    headers = {
        "Content-Type": _json_content_type(service),
        "x-amzn-RequestId": request_id,
        "x-amzn-ErrorType": error.code,
    }
    type_name = error.code
    if "awsQueryCompatible" in service.metadata:
        type_name = _query_compatible_types(service).get(error.code, error.code)
        headers["x-amzn-query-error"] = f"{error.code};{'Sender' if error.sender_fault else 'Receiver'}"
    node = error_node(service, type_name)
    capitalised = node is not None and "Message" in node.members and "message" not in node.members
    message_key = "Message" if capitalised else "message"
    body = _error_fields_json(service, error, headers)
    body["__type"] = _JSON_TYPE_PREFIXES.get(service.service_name, "") + type_name
    body[message_key] = error.message
    return AwsResponse(error.status, headers, _json_bytes(body))


def _rest_json_error(service: ServiceModel, error: AwsError, request_id: str) -> AwsResponse:
    headers = {"Content-Type": "application/json", "x-amzn-RequestId": request_id, "X-Amzn-ErrorType": error.code}
    body = _error_fields_json(service, error, headers)
    body.update(Type="User" if error.sender_fault else "Service", message=error.message, Message=error.message)
    return AwsResponse(error.status, headers, _json_bytes(body))


def _rest_xml_error(service: ServiceModel, error: AwsError, request_id: str) -> AwsResponse:
    headers = {"Content-Type": "application/xml", **_request_id_headers(service, request_id)}
    out = [_XML_DECLARATION]
    if service.service_name == "s3":
        out.append(f"<Error><Code>{_escape(error.code)}</Code><Message>{_escape(error.message)}</Message>")
        _error_fields_xml(service, error, headers, out)
        out.append(f"<RequestId>{_escape(request_id)}</RequestId><HostId>{headers['x-amz-id-2']}</HostId></Error>")
    else:
        _error_response_xml(service, error, request_id, headers, out)
    return AwsResponse(error.status, headers, "".join(out).encode("utf-8"))


def _query_error(service: ServiceModel, error: AwsError, request_id: str, *, ec2: bool) -> AwsResponse:
    headers = {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}
    out: list[str] = []
    if ec2:
        out.append(f"<Response><Errors><Error><Code>{_escape(error.code)}</Code>")
        out.append(f"<Message>{_escape(error.message)}</Message>")
        _error_fields_xml(service, error, headers, out)
        out.append(f"</Error></Errors><RequestID>{_escape(request_id)}</RequestID></Response>")
    else:
        _error_response_xml(service, error, request_id, headers, out)
    return AwsResponse(error.status, headers, "".join(out).encode("utf-8"))


def _error_response_xml(
    service: ServiceModel, error: AwsError, request_id: str, headers: dict[str, str], out: list[str]
) -> None:
    namespace = _xml_namespace(service)
    out.append(f'<ErrorResponse xmlns="{_escape_attribute(namespace)}">' if namespace else "<ErrorResponse>")
    out.append(f"<Error><Type>{'Sender' if error.sender_fault else 'Receiver'}</Type>")
    out.append(f"<Code>{_escape(error.code)}</Code><Message>{_escape(error.message)}</Message>")
    _error_fields_xml(service, error, headers, out)
    out.append(f"</Error><RequestId>{_escape(request_id)}</RequestId></ErrorResponse>")
