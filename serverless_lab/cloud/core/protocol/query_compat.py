"""The query protocol for services that moved to JSON but still serve query-era clients.

botocore models SQS as JSON (``awsQueryCompatible``), yet older SDKs (boto3 before 1.31, the AWS SDK
for Java v1, boto2, hand-written form posts) still send ``Action=SendMessage&QueueUrl=…`` form
bodies, to ``/`` or to the queue URL itself, and read XML back. This module derives a query-protocol
view of such a model (the same operations and shapes, plus the query-era wire names, result wrappers
and XML namespace), so the ordinary query parser and serialiser handle those requests. Errors met on the way (an
unknown action, a bad parameter, the handler's own) carry the query view along (:func:`answer_as`)
so they are answered in XML too.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

from botocore.model import ServiceModel

from serverless_lab.cloud.core.errors import AwsError

from .request import AwsRequest
from .shapes import _loader, service_protocol

# Query-era wire names (``locationName``) of SQS's 2012-11-05 query model, by shape ("Shape") or
# shape part ("Shape.member", "Shape.key", "Shape.value", "Shape.members.Member").
_SQS_NAMES = {
    "AWSAccountIdList.member": "AWSAccountId",
    "ActionNameList.member": "ActionName",
    "AttributeNameList.member": "AttributeName",
    "BatchResultErrorEntryList.member": "BatchResultErrorEntry",
    "BinaryList.member": "BinaryListValue",
    "ChangeMessageVisibilityBatchRequestEntryList.member": "ChangeMessageVisibilityBatchRequestEntry",
    "ChangeMessageVisibilityBatchResultEntryList.member": "ChangeMessageVisibilityBatchResultEntry",
    "CreateQueueRequest.members.Attributes": "Attribute",
    "CreateQueueRequest.members.tags": "Tag",
    "DeleteMessageBatchRequestEntryList.member": "DeleteMessageBatchRequestEntry",
    "DeleteMessageBatchResultEntryList.member": "DeleteMessageBatchResultEntry",
    "GetQueueAttributesResult.members.Attributes": "Attribute",
    "ListMessageMoveTasksResultEntryList.member": "ListMessageMoveTasksResultEntry",
    "ListQueueTagsResult.members.Tags": "Tag",
    "Message.members.Attributes": "Attribute",
    "Message.members.MessageAttributes": "MessageAttribute",
    "MessageAttributeNameList.member": "MessageAttributeName",
    "MessageAttributeValue.members.StringListValues": "StringListValue",
    "MessageAttributeValue.members.BinaryListValues": "BinaryListValue",
    "MessageBodyAttributeMap.key": "Name",
    "MessageBodyAttributeMap.value": "Value",
    "MessageBodySystemAttributeMap.key": "Name",
    "MessageBodySystemAttributeMap.value": "Value",
    "MessageList.member": "Message",
    "MessageSystemAttributeList.member": "MessageSystemAttributeName",
    "MessageSystemAttributeMap": "Attribute",
    "MessageSystemAttributeMap.key": "Name",
    "MessageSystemAttributeMap.value": "Value",
    "MessageSystemAttributeValue.members.StringListValues": "StringListValue",
    "MessageSystemAttributeValue.members.BinaryListValues": "BinaryListValue",
    "QueueAttributeMap": "Attribute",
    "QueueAttributeMap.key": "Name",
    "QueueAttributeMap.value": "Value",
    "QueueUrlList.member": "QueueUrl",
    "SendMessageBatchRequestEntry.members.MessageAttributes": "MessageAttribute",
    "SendMessageBatchRequestEntry.members.MessageSystemAttributes": "MessageSystemAttribute",
    "SendMessageBatchRequestEntryList.member": "SendMessageBatchRequestEntry",
    "SendMessageBatchResultEntryList.member": "SendMessageBatchResultEntry",
    "SendMessageRequest.members.MessageAttributes": "MessageAttribute",
    "SendMessageRequest.members.MessageSystemAttributes": "MessageSystemAttribute",
    "SetQueueAttributesRequest.members.Attributes": "Attribute",
    "StringList.member": "StringListValue",
    "TagKeyList.member": "TagKey",
    "TagMap": "Tag",
    "TagMap.key": "Key",
    "TagMap.value": "Value",
    "TagQueueRequest.members.Tags": "Tag",
}
_QUERY_ERA = {"sqs": ("http://queue.amazonaws.com/doc/2012-11-05/", _SQS_NAMES)}
# A queue URL's path, as older SDKs post to it: /<account id>/<queue name>
_QUEUE_PATH = re.compile(r"^/\d{12}/[^/]+$")


def speaks_query(service_model: ServiceModel, request: AwsRequest) -> bool:
    """Whether ``request`` is a query-protocol call to a JSON service that still accepts those."""
    if service_model.service_name not in _QUERY_ERA or request.header("x-amz-target"):
        return False
    if service_protocol(service_model) not in ("json", "json-1.0", "json-1.1"):
        return False  # already a query model
    content_type = (request.header("content-type") or "").lower()
    if request.body and not content_type.startswith("application/x-www-form-urlencoded"):
        return False
    try:
        return "Action" in request.form
    except AwsError:  # a body that is no form at all (not UTF-8)
        return False


def protocol_model(service_model: ServiceModel, request: AwsRequest | None) -> ServiceModel:
    """The model whose wire format ``request`` speaks: the query view for a query-era call."""
    if request is not None and speaks_query(service_model, request):
        return query_view(service_model.service_name)
    return service_model


def answer_as(error: AwsError, model: ServiceModel) -> AwsError:
    """Mark ``error`` to be rendered in ``model``'s wire protocol (a query view's XML), whatever
    model the endpoint renders errors with; ``serialize_error`` honours the mark."""
    error.wire_model = model  # type: ignore[attr-defined]
    return error


def implied_params(service_model: ServiceModel, request: AwsRequest) -> dict[str, str]:
    """Members a query-era call gives by where it posts: SQS's ``QueueUrl`` is the URL posted to."""
    path = request.path.split("?", 1)[0]
    if service_model.service_name == "sqs" and _QUEUE_PATH.match(path):
        return {"QueueUrl": path}
    return {}


@cache
def query_view(service_name: str) -> ServiceModel:
    """The query-protocol twin of ``service_name``'s JSON model (same operations and shapes)."""
    namespace, names = _QUERY_ERA[service_name]
    description: dict[str, Any] = copy.deepcopy(_loader().load_service_model(service_name, "service-2"))
    metadata = description["metadata"]
    for key in ("targetPrefix", "jsonVersion", "awsQueryCompatible"):
        metadata.pop(key, None)
    metadata.update(protocol="query", protocols=["query"], xmlNamespace=namespace)
    for name, operation in description["operations"].items():
        if "output" in operation:
            operation["output"]["resultWrapper"] = f"{name}Result"
    shapes = description["shapes"]
    from .serializers import _SQS_QUERY_CODES  # (serializers import the parsers, which import us)

    legacy_codes = {"sqs": _SQS_QUERY_CODES}[service_name]
    for shape_name, legacy_code in legacy_codes.items():
        if shape_name in shapes:  # query-era clients match their exceptions by these codes
            shapes[shape_name]["error"] = {"code": legacy_code, "httpStatusCode": 400, "senderFault": True}
    for path, wire_name in names.items():
        shape_name, *parts = path.split(".")
        target = shapes.get(shape_name)
        for part in parts:
            target = target.get(part) if target is not None else None
        if target is not None:
            target["locationName"] = wire_name
    return ServiceModel(description, service_name=service_name)
