"""The AWS-compatible endpoint: one view that boto3 and the AWS CLI reach via AWS_ENDPOINT_URL.

For every request it (1) reads and checks the SigV4 signature against the sandbox that owns the
access key, (2) finds the service (credential scope → X-Amz-Target → path), (3) parses the
operation's parameters with the botocore-model-driven protocol layer, (4) calls the registered
handler and (5) renders its result or AwsError in the service's own wire protocol. Nothing a
client sends can make it answer with a 500 page or a traceback.
"""
from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from serverless_lab.cloud.core import digests, registry
from serverless_lab.cloud.core.offloop import run_sync
from serverless_lab.cloud.core.errors import AwsError, InternalFailure, NotImplementedByLab
from serverless_lab.cloud.core.protocol import (
    AwsRequest,
    find_operation,
    load_service_model,
    parse_request,
    protocol_model,
    serialize_error,
    serialize_result,
)
from serverless_lab.sandboxes.models import Sandbox
from serverless_lab.sandboxes import keycache
from serverless_lab.tracing.recorder import EndpointHop, endpoint_hop_begin

from . import auth, quota

logger = logging.getLogger(__name__)

# Per protocol family: the code AWS answers with for each authentication failure.
_AUTH_CODES: dict[str, dict[str, tuple[str, int]]] = {
    "query": {
        "unknown_key": ("InvalidClientTokenId", 403),
        "bad_signature": ("SignatureDoesNotMatch", 403),
        "missing": ("MissingAuthenticationToken", 403),
        "throttled": ("Throttling", 400),
        "skewed": ("SignatureDoesNotMatch", 403),
    },
    "json": {
        "unknown_key": ("UnrecognizedClientException", 400),
        "bad_signature": ("InvalidSignatureException", 400),
        "missing": ("MissingAuthenticationTokenException", 400),
        "throttled": ("ThrottlingException", 400),
        "skewed": ("InvalidSignatureException", 400),
    },
    "rest-json": {
        "unknown_key": ("UnrecognizedClientException", 403),
        "bad_signature": ("InvalidSignatureException", 403),
        "missing": ("MissingAuthenticationTokenException", 403),
        "throttled": ("TooManyRequestsException", 429),
        "skewed": ("InvalidSignatureException", 403),
    },
    "rest-xml": {
        "unknown_key": ("InvalidAccessKeyId", 403),
        "bad_signature": ("SignatureDoesNotMatch", 403),
        "missing": ("AccessDenied", 403),
        "throttled": ("SlowDown", 503),
        "skewed": ("RequestTimeTooSkewed", 403),
    },
}
_AUTH_MESSAGES = {
    "unknown_key": "The security token included in the request is invalid.",
    "bad_signature": (
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    ),
    "missing": "Request is missing Authentication Token",
    "throttled": "Rate exceeded",
}
_S3_UNKNOWN_KEY_MESSAGE = "The AWS Access Key Id you provided does not exist in our records."
# SQS speaks JSON but keeps its query-era error codes.
_QUERY_COMPATIBLE_CODES = {"sqs"}


def _protocol_family(protocol: str) -> str:
    return {"ec2": "query", "query": "query", "json": "json"}.get(protocol, protocol)


_S3_SCOPE = re.compile(r"/s3/aws4_request")


def _virtual_host_bucket(headers: dict[str, str], query: str, method: str) -> str | None:
    """The bucket of a virtual-host-style S3 request (``<bucket>.localhost:8000/aws/<key>``), or None.

    Only for requests signed for ``s3`` (and unsigned CORS preflights, which only S3 answers), and
    only when the Host has labels in front of a host we serve (ALLOWED_HOSTS, LAB_PUBLIC_URL's).
    """
    credential = headers.get("authorization", "") or unquote(query)
    if not (_S3_SCOPE.search(credential) or (method == "OPTIONS" and "authorization" not in headers)):
        return None
    hostname = headers.get("host", "").rsplit(":", 1)[0].lower() if "]" not in headers.get("host", "") else ""
    bases = {host.lstrip(".").lower() for host in settings.ALLOWED_HOSTS if host not in ("*", ".")}
    bases.add((urlsplit(settings.LAB_PUBLIC_URL).hostname or "").lower())
    matches = [base for base in bases if base and hostname.endswith("." + base)]
    if not matches:
        return None
    return hostname[: -len(max(matches, key=len)) - 1] or None


def _aws_request(request: HttpRequest, body: bytes) -> tuple[AwsRequest, str, str]:
    """The request as the protocol layer sees it, plus the raw path and query as the client sent them.

    A virtual-host-style S3 request is rewritten to path style (``/<bucket>/<key>``) for routing;
    the returned raw path stays as sent, because that is what the client signed.
    """
    raw_path = request.scope.get("raw_path") if hasattr(request, "scope") else None
    full_path = raw_path.decode("latin-1") if raw_path else request.path
    query = request.META.get("QUERY_STRING", "")
    prefix = "/" + settings.AWS_ENDPOINT_PREFIX.rstrip("/")
    path = full_path[len(prefix):] if full_path.startswith(prefix) else full_path
    headers = {key.lower(): value for key, value in request.headers.items()}
    bucket = _virtual_host_bucket(headers, query, request.method or "GET")
    if bucket is not None:
        path = f"/{quote(bucket)}{path if path not in ('', '/') else ''}"
    return AwsRequest(method=request.method or "GET", path=path or "/", query=query, headers=headers, body=body), full_path, query


def _guess_service(aws_request: AwsRequest, signing_name: str | None) -> registry.Registration | None:
    """The registered service this request is for, or None."""
    target = aws_request.headers.get("x-amz-target", "")
    if target:
        by_target = registry.by_target_prefix(target.rpartition(".")[0])
        if by_target is not None:
            return by_target
    candidates = registry.by_signing_name(signing_name) if signing_name else registry.registrations()
    if len(candidates) == 1:
        return candidates[0]
    for candidate in candidates:
        try:
            find_operation(load_service_model(candidate.service_name), aws_request)
        except AwsError:
            continue
        return candidate
    return None


def _render_error(
    registration: registry.Registration | None,
    error: AwsError,
    request_id: str,
    method: str,
    hop: EndpointHop | None = None,
    aws_request: AwsRequest | None = None,
) -> HttpResponse:
    if hop is not None:
        hop.finish(service=registration.service_name if registration else None, error_code=error.code)
    # In the wire protocol the request spoke: a query-era SQS call gets XML (protocol_model).
    service_model = protocol_model(load_service_model(registration.service_name if registration else "sts"), aws_request)
    response = serialize_error(service_model, error, request_id=request_id)
    return _http_response(response.status, response.headers, b"" if method == "HEAD" else response.body)


# The endpoint shares its origin with the site, so whatever a student stores (an HTML or SVG object
# opened through a presigned link) must never run as a page of the site: a sandboxed, script-less
# document with an opaque origin cannot read the site's cookies or pages.
_CONTAINMENT_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}


def _http_response(status: int, headers: dict[str, str], body: bytes) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type=headers.get("Content-Type") or headers.get("content-type"))
    for key, value in headers.items():
        if key.lower() != "content-type":
            response[key] = value
    for key, value in _CONTAINMENT_HEADERS.items():
        response[key] = value
    return response


def _auth_error(registration: registry.Registration | None, kind: str, message: str = "") -> AwsError:
    protocol = load_service_model(registration.service_name).protocol if registration else "query"
    family = _protocol_family(protocol)
    if registration and registration.service_name in _QUERY_COMPATIBLE_CODES:
        family = "query"
    code, status = _AUTH_CODES[family][kind]
    if not message:
        message = _S3_UNKNOWN_KEY_MESSAGE if code == "InvalidAccessKeyId" else _AUTH_MESSAGES[kind]
    return AwsError(message, code=code, status=status)


def _authenticate(aws_request: AwsRequest, full_path: str, query: str, info: auth.SignedRequestInfo) -> Sandbox | str:
    """The sandbox the request is signed for, or the kind of failure. Only requests that pass the
    signature check count against the sandbox's rate quota: knowing a key without its secret cannot
    throttle its owner."""
    sandbox = keycache.lookup(info.access_key_id)
    if sandbox is None:
        return "unknown_key"
    host = aws_request.headers.get("host", "localhost")
    if info.version == 2:
        url = f"http://{host}{full_path}" + (f"?{query}" if query else "")
        expected = auth.expected_signature_v2(
            info, secret_key=sandbox.secret_access_key, method=aws_request.method, url=url,
            auth_path=aws_request.path, query=dict(parse_qsl(query, keep_blank_values=True)),
        )
    else:
        if info.presigned:
            query = "&".join(part for part in query.split("&") if not part.startswith("X-Amz-Signature="))
        url = f"http://{host}{full_path}" + (f"?{query}" if query else "")
        expected = auth.expected_signature(
            info, secret_key=sandbox.secret_access_key, method=aws_request.method, url=url, headers=aws_request.headers, body=aws_request.body
        )
    if not auth.signature_matches(info, expected):
        return "bad_signature"
    if quota.over_quota(sandbox.access_key_id, sandbox.max_requests_per_second):
        return "throttled"
    return sandbox


def _start_digests(aws_request: AwsRequest, registration: registry.Registration) -> None:
    """Start the digests of a large body its handler asks for by an optional
    ``body_digests(aws_request)`` method (S3: the MD5 that is an object's ETag) on other threads
    (``core.digests``), so they are computed while this thread checks the declared SHA-256. Only
    once the request is authenticated: a client without the secret key must not make us hash."""
    wanted = getattr(registration.handler, "body_digests", None)
    if wanted is not None and len(aws_request.body) > digests.ON_POOL_BYTES:
        for algorithm in wanted(aws_request):
            aws_request.body_digest(algorithm)


@dataclass
class WhileArriving:
    """What to do with a request's body while it arrives (the endpoint's ASGI app)."""

    digests: tuple[str, ...] = ()  # to compute (``core.digests.Streamed``)
    stored: Any = None  # to feed: its service's store of it (``body_store_while_arriving``)


def while_arriving(method: str, query: str, headers: Mapping[str, str]) -> WhileArriving:
    """For a large body signed in its Authorization header with the access key of a sandbox this
    process has seen lately (a cheap check, not authentication: nobody else gets us hashing or
    writing, and what an unauthenticated request started is thrown away): the declared SHA-256 the
    endpoint checks, whatever digests its service's handler wants (``body_digests``), and the store
    the handler may start for it (``body_store_while_arriving(request, sandbox_id)``)."""
    length = headers.get("content-length", "")
    if not length.isdigit() or int(length) <= digests.ON_POOL_BYTES:
        return WhileArriving()
    match = auth.AUTH_HEADER.match(headers.get("authorization", ""))
    parts = match["credential"].split("/") if match else []
    sandbox_id = keycache.seen(parts[0]) if len(parts) == 5 else None
    if sandbox_id is None:
        return WhileArriving()
    wanted: list[str] = []
    if len(headers.get("x-amz-content-sha256", "")) == 64:
        wanted.append("sha256")
    registrations = registry.by_signing_name(parts[3])
    handler = registrations[0].handler if len(registrations) == 1 else None
    probe = AwsRequest(method=method, path="/", query=query, headers=headers, body=b"")  # method, query, headers
    if hasattr(handler, "body_digests"):
        wanted += [algorithm for algorithm in handler.body_digests(probe) if algorithm not in wanted]
    stored = handler.body_store_while_arriving(probe, sandbox_id) if hasattr(handler, "body_store_while_arriving") else None
    return WhileArriving(tuple(wanted), stored)


def _check_declared_payload_hash(aws_request: AwsRequest) -> None:
    """A signature covers the *declared* ``X-Amz-Content-SHA256``; the body must match it (or a body
    swapped in transit would pass). ``UNSIGNED-PAYLOAD`` and ``STREAMING-…`` declare no hash."""
    declared = aws_request.headers.get("x-amz-content-sha256", "")
    if len(declared) == 64 and aws_request.body_digest("sha256").result() != declared.lower():
        raise AwsError(
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            code="XAmzContentSHA256Mismatch",
            status=400,
        )


@dataclass
class _Call:
    ctx: registry.RequestContext
    params: dict[str, Any]
    operation_model: Any
    method: Callable[..., Any]
    pending: bool  # an async handler method, still to be awaited on the event loop
    result: Any = None


def _authenticate_and_run(
    aws_request: AwsRequest,
    full_path: str,
    query: str,
    info: auth.SignedRequestInfo,
    registration: registry.Registration,
    request_id: str,
) -> _Call:
    """Everything that touches the database, in one trip to the thread pool: authenticate, parse
    and, for a sync handler method, run it."""
    outcome = _authenticate(aws_request, full_path, query, info)
    if isinstance(outcome, str):
        raise _auth_error(registration, outcome)
    _start_digests(aws_request, registration)
    service_model = load_service_model(registration.service_name)
    operation_model, uri_params = find_operation(service_model, aws_request)
    method_fn = registry.handler_method(registration, operation_model.name)
    if method_fn is None:
        raise NotImplementedByLab(service_model.service_id.hyphenize(), operation_model.name)
    params = parse_request(operation_model, aws_request, uri_params)  # meanwhile a large body is hashed
    _check_declared_payload_hash(aws_request)  # before anything acts on the body
    ctx = registry.RequestContext(
        sandbox=outcome,
        service=registration.service_name,
        operation=operation_model.name,
        region=info.region or outcome.region,
        request_id=request_id,
        request=aws_request,
        trace_header=aws_request.headers.get("x-amzn-trace-id"),
    )
    call = _Call(ctx, params, operation_model, method_fn, pending=asyncio.iscoroutinefunction(method_fn))
    if not call.pending:
        call.result = method_fn(ctx, params)
    return call


def _confirm_subscription_unsigned(aws_request: AwsRequest, query_params: dict[str, str], request_id: str) -> _Call:
    """SNS's SubscribeURL, visited unsigned (a browser, an HTTP subscriber) as on AWS: the
    subscription's Token (64 random hex digits) is the credential, the TopicArn names the account."""
    registration = registry.by_signing_name("sns")[0]
    topic_arn, token = query_params.get("TopicArn", ""), query_params.get("Token", "")
    parts = topic_arn.split(":")
    sandbox = Sandbox.objects.filter(account_id=parts[4]).first() if len(parts) == 6 and token else None
    if sandbox is None:
        raise AwsError("Invalid parameter: Token", code="InvalidParameter", status=400)
    if quota.over_quota(sandbox.access_key_id, sandbox.max_requests_per_second):
        raise _auth_error(registration, "throttled")
    operation_model = load_service_model("sns").operation_model("ConfirmSubscription")
    method_fn = registry.handler_method(registration, "ConfirmSubscription")
    ctx = registry.RequestContext(
        sandbox=sandbox, service="sns", operation="ConfirmSubscription", region=parts[3] or sandbox.region,
        request_id=request_id, request=aws_request,
    )
    params = {"TopicArn": topic_arn, "Token": token}
    return _Call(ctx, params, operation_model, method_fn, pending=False, result=method_fn(ctx, params))


@csrf_exempt
async def aws_endpoint(request: HttpRequest, path: str = "") -> HttpResponse:
    request_id = str(uuid.uuid4())
    registration: registry.Registration | None = None
    method = request.method or "GET"
    hop: EndpointHop | None = None  # the trace hop of a signed request (tracing/recorder.py)
    aws_request: AwsRequest | None = None
    try:
        declared_length = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared_length > settings.LAB_MAX_REQUEST_BYTES:
            raise AwsError(
                f"Your request was too large: {declared_length} bytes, the limit is {settings.LAB_MAX_REQUEST_BYTES}.",
                code="RequestEntityTooLarge",
                status=413,
            )
        try:
            body = request.body
        except RequestDataTooBig:
            raise AwsError("Your request was too large.", code="RequestEntityTooLarge", status=413) from None
        aws_request, full_path, query = _aws_request(request, body)
        aws_request.adopt_digests(getattr(request, "digests", {}))
        aws_request.stored_body = getattr(request, "stored_body", None)
        query_params = dict(parse_qsl(query, keep_blank_values=True))
        info = auth.read_signature(aws_request.headers, query_params)
        hop = endpoint_hop_begin(aws_request, info)
        registration = _guess_service(aws_request, info.service if info else None)
        if info is None and method == "OPTIONS":
            # Browsers send CORS preflights unsigned; a service that serves browsers (S3) answers
            # them from its own configuration through the handler's ``preflight`` method.
            registration = next((r for r in registry.registrations() if hasattr(r.handler, "preflight")), registration)
            if registration is not None and hasattr(registration.handler, "preflight"):
                headers = await run_sync(registration.handler.preflight, aws_request)
                return _http_response(200, headers, b"")
        if info is None and method == "GET" and not path and query_params.get("Action") == "ConfirmSubscription":
            registration = registry.by_signing_name("sns")[0]
            call = await run_sync(_confirm_subscription_unsigned, aws_request, query_params, request_id)
            response = serialize_result(call.operation_model, call.result or {}, request_id=request_id)
            return _http_response(response.status, response.headers, response.body)
        if info is None:
            raise _auth_error(registration, "missing")
        if registration is None:
            raise AwsError(
                f"Serverless Lab does not emulate the AWS service '{info.service}' (yet).",
                code="UnknownService" if info.service else "UnknownOperationException",
                status=400,
            )
        auth.check_freshness(info, now=datetime.now(timezone.utc), max_skew_seconds=settings.LAB_SIGNATURE_MAX_SKEW_SECONDS)
        call = await run_sync(_authenticate_and_run, aws_request, full_path, query, info, registration, request_id)
        ctx, params, operation_model = call.ctx, call.params, call.operation_model
        result = await call.method(ctx, params) if call.pending else call.result
        response = serialize_result(operation_model, result or {}, request_id=request_id)
        if "origin" in aws_request.headers and hasattr(registration.handler, "cors_headers"):
            # A browser's signed request: the handler grants the Access-Control-* headers (S3 CORS).
            response.headers.update(await run_sync(registration.handler.cors_headers, ctx, params))
        if hop is not None:
            hop.finish(service=registration.service_name, ctx=ctx, params=params)
        return _http_response(response.status, response.headers, response.body)
    except auth.AuthError as error:
        if error.kind in _AUTH_CODES["query"]:
            error = _auth_error(registration, error.kind, error.message)
        return _render_error(registration, error, request_id, method, hop, aws_request)
    except AwsError as error:
        return _render_error(registration, error, request_id, method, hop, aws_request)
    except Exception:
        logger.exception("unhandled error in the AWS endpoint (request %s)", request_id)
        failure = InternalFailure("We encountered an internal error. Please try again.")
        return _render_error(registration, failure, request_id, method, hop, aws_request)
    finally:
        stored = getattr(request, "stored_body", None)
        if stored is not None:
            stored.discard()  # unless the handler stored a row that names it
