"""The server side of the AWS wire protocols, driven by botocore's service models.

``find_operation`` picks the operation a request calls, ``parse_request`` turns it into
the params dict the boto3 caller passed, and ``serialize_result`` / ``serialize_error``
produce the HTTP response botocore's parsers expect. Supports the json (1.0/1.1), query,
ec2, rest-json and rest-xml protocols. No Django imports here.
"""

from __future__ import annotations

from .parsers import parse_request, validate_required
from .query_compat import protocol_model
from .request import AwsRequest, AwsResponse
from .routing import find_operation
from .serializers import serialize_error, serialize_result
from .shapes import load_service_model

__all__ = [
    "AwsRequest",
    "AwsResponse",
    "find_operation",
    "load_service_model",
    "parse_request",
    "protocol_model",
    "serialize_error",
    "serialize_result",
    "validate_required",
]
