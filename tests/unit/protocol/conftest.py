"""An in-process AWS for the protocol tests: real boto3 clients, our protocol layer as the server.

botocore's ``before-send`` hook hands us each fully prepared HTTP request (serialised,
signed, customised exactly as it would go over the wire); we route and parse it, let the
test's handler answer, serialise the answer and give botocore the HTTP response to parse.
So every test checks both halves against botocore's own serializers and parsers.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse, create_request_object, prepare_request_dict
from botocore.config import Config
from botocore.model import ServiceModel
from botocore.serialize import create_serializer
from urllib3 import HTTPHeaderDict
from urllib3.response import HTTPResponse

from serverless_lab.cloud.core.errors import AwsError
from serverless_lab.cloud.core.protocol import (
    AwsRequest,
    AwsResponse,
    find_operation,
    load_service_model,
    parse_request,
    serialize_error,
    serialize_result,
)

ENDPOINT = "http://lab.test"
REQUEST_ID = "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE"

Handler = Callable[[str, dict], dict]


def aws_request_from(prepared: AWSPreparedRequest) -> AwsRequest:
    """What the endpoint would hand the protocol layer for this botocore request."""
    parts = urlsplit(prepared.url)
    body = prepared.body
    if body is None:
        body = b""
    elif hasattr(body, "read"):
        body = body.read()
    elif isinstance(body, str):
        body = body.encode("utf-8")
    headers = {name: value.decode() if isinstance(value, bytes) else value for name, value in prepared.headers.items()}
    return AwsRequest(prepared.method, parts.path or "/", parts.query, headers, bytes(body))


def botocore_response(method: str, url: str, response: AwsResponse) -> AWSResponse:
    """Our response as the HTTP response botocore's parsers read."""
    headers = HTTPHeaderDict(response.headers)
    raw = HTTPResponse(
        body=io.BytesIO(response.body),
        headers=headers,
        status=response.status,
        preload_content=False,
        request_method=method,
    )
    return AWSResponse(url, response.status, headers, raw)


@dataclass
class Call:
    operation: str
    params: dict
    request: AwsRequest
    response: AwsResponse | None = None


@dataclass
class InProcessAws:
    """boto3 clients whose requests are answered by ``handler`` through the protocol layer."""

    handler: Handler = lambda operation, params: {}
    request_id: str = REQUEST_ID
    calls: list[Call] = field(default_factory=list)
    _clients: dict[str, Any] = field(default_factory=dict)
    _session: boto3.session.Session | None = None

    def client(self, service: str) -> Any:
        if service not in self._clients:
            if self._session is None:  # one botocore session: models and endpoint rules load once
                self._session = boto3.session.Session(
                    aws_access_key_id="AKIDLABEXAMPLE", aws_secret_access_key="secret", region_name="us-east-1"
                )
            config = Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"})
            client = self._session.client(service, endpoint_url=ENDPOINT, config=config)
            client.meta.events.register("before-send", lambda request, **_: self._serve(service, request))
            self._clients[service] = client
        return self._clients[service]

    @property
    def last(self) -> Call:
        return self.calls[-1]

    def _serve(self, service: str, prepared: AWSPreparedRequest) -> AWSResponse:
        model = load_service_model(service)
        request = aws_request_from(prepared)
        operation = call = None
        try:
            operation, labels = find_operation(model, request)
            call = Call(operation.name, parse_request(operation, request, labels), request)
            self.calls.append(call)
            result = self.handler(call.operation, call.params)
            response = serialize_result(operation, result, request_id=self.request_id)
        except AwsError as error:
            response = serialize_error(model, error, request_id=self.request_id, operation_model=operation)
        if call is not None:
            call.response = response
        return botocore_response(prepared.method, prepared.url, response)


@pytest.fixture(scope="session")
def _in_process_aws() -> InProcessAws:
    return InProcessAws()


@pytest.fixture
def aws(_in_process_aws: InProcessAws) -> Iterator[InProcessAws]:
    """The shared in-process AWS, reset for this test."""
    _in_process_aws.calls.clear()
    _in_process_aws.handler = lambda operation, params: {}
    yield _in_process_aws


def wire_request(model: ServiceModel, operation_name: str, params: dict) -> AwsRequest:
    """The HTTP request botocore's serializer (the oracle) makes for ``params``."""
    operation = model.operation_model(operation_name)
    request_dict = create_serializer(model.resolved_protocol).serialize_to_request(params, operation)
    prepare_request_dict(request_dict, endpoint_url=ENDPOINT)
    prepared = create_request_object(request_dict).prepare()
    return aws_request_from(prepared)


@pytest.fixture
def wire() -> Callable[[ServiceModel, str, dict], AwsRequest]:
    """``wire(model, operation, params)``: botocore's serializer output for any model."""
    return wire_request


@pytest.fixture(scope="session")
def sqs_query() -> ServiceModel:
    """SQS's model switched to the query protocol it spoke until 2023 (botocore only ships JSON now)."""
    description = copy.deepcopy(load_service_model("sqs")._service_description)
    description["metadata"].update(
        protocol="query", protocols=["query"], xmlNamespace="http://queue.amazonaws.com/doc/2012-11-05/"
    )
    for operation in description["operations"].values():
        if "output" in operation:
            operation["output"]["resultWrapper"] = f"{operation['name']}Result"
    return ServiceModel(description, service_name="sqs")
