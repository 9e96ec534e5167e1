"""AWS Signature Version 4 verification, with botocore's own signer computing the expected value.

We rebuild the request the client signed (method, the path and query exactly as sent, only the
headers it listed in SignedHeaders, the body or its declared SHA-256) and let botocore's
``SigV4Auth``/``S3SigV4Auth`` produce the canonical request, string to sign and signature from the
sandbox's secret key. The client's signature must match it in constant time.
"""
from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping

from urllib.parse import urlsplit

from botocore.auth import UNSIGNED_PAYLOAD, HmacV1QueryAuth, S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from serverless_lab.cloud.core.errors import AwsError

ALGORITHM = "AWS4-HMAC-SHA256"
AUTH_HEADER = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<signature>[0-9a-fA-F]+)\s*$"
)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class SignedRequestInfo:
    """What a request claims about its signature, before it is verified."""

    access_key_id: str
    date: str  # YYYYMMDD of the credential scope
    region: str
    service: str  # the signing name: "sts", "s3", "dynamodb", ...
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    presigned: bool
    expires: int | None = None
    # 2 = S3's legacy query-string signature (AWSAccessKeyId/Expires/Signature), which boto3 still
    # uses by default for S3 presigned URLs; everything else is Signature Version 4.
    version: int = 4


class AuthError(AwsError):
    """An authentication failure; ``kind`` picks the service-specific code in the endpoint."""

    status = 403

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message, code=kind)
        self.kind = kind


def _credential_parts(credential: str) -> tuple[str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise AuthError(
            "IncompleteSignature",
            f"Credential should be scoped to a valid region and service, not '{credential}'. "
            "Expected <AccessKeyId>/<Date>/<Region>/<Service>/aws4_request.",
        )
    return parts[0], parts[1], parts[2], parts[3]


def read_signature(headers: Mapping[str, str], query: Mapping[str, str]) -> SignedRequestInfo | None:
    """The signature claims of a request (header or presigned form); None when it is unsigned."""
    authorization = headers.get("authorization")
    if authorization:
        if not authorization.startswith(ALGORITHM):
            raise AuthError(
                "IncompleteSignature",
                "Only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported by Serverless Lab.",
            )
        match = AUTH_HEADER.match(authorization)
        if not match:
            raise AuthError("IncompleteSignature", f"Authorization header requires Credential, SignedHeaders and Signature: {authorization[:200]}")
        access_key, date, region, service = _credential_parts(match["credential"])
        amz_date = headers.get("x-amz-date", "")
        if not amz_date:
            raise AuthError("IncompleteSignature", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        return SignedRequestInfo(
            access_key, date, region, service, tuple(match["signed"].lower().split(";")), match["signature"].lower(), amz_date, False
        )
    if "X-Amz-Signature" in query or "X-Amz-Credential" in query:
        missing = [k for k in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature") if not query.get(k)]
        if missing:
            raise AuthError("AuthorizationQueryParametersError", f"Query-string authentication requires {', '.join(missing)}.")
        if query["X-Amz-Algorithm"] != ALGORITHM:
            raise AuthError("AuthorizationQueryParametersError", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
        access_key, date, region, service = _credential_parts(query["X-Amz-Credential"])
        try:
            expires = int(query.get("X-Amz-Expires", "604800"))
        except ValueError:
            raise AuthError("AuthorizationQueryParametersError", "X-Amz-Expires should be a number") from None
        return SignedRequestInfo(
            access_key,
            date,
            region,
            service,
            tuple(query["X-Amz-SignedHeaders"].lower().split(";")),
            query["X-Amz-Signature"].lower(),
            query["X-Amz-Date"],
            True,
            expires,
        )
    if "AWSAccessKeyId" in query and "Signature" in query:
        try:
            expires_at = int(query.get("Expires", ""))
        except ValueError:
            raise AuthError("AccessDenied", "Query-string authentication requires the Expires parameter to be a number") from None
        return SignedRequestInfo(
            query["AWSAccessKeyId"], "", "", "s3", (), query["Signature"], "", True, expires_at, version=2
        )
    return None


_AMZ_DATE_SHAPE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z")


def _parse_amz_date(value: str) -> datetime:
    """``YYYYMMDD'T'HHMMSS'Z'`` (by hand: ``strptime`` is a visible share of a request's CPU)."""
    try:
        match = _AMZ_DATE_SHAPE.fullmatch(value)
        if match is None:
            raise ValueError(value)
        return datetime(*map(int, match.groups()), tzinfo=timezone.utc)  # type: ignore[misc]
    except ValueError:
        raise AuthError("IncompleteSignature", f"Date must be in ISO-8601 'basic format'. Got '{value}'.") from None


def check_freshness(info: SignedRequestInfo, *, now: datetime, max_skew_seconds: int) -> None:
    if info.version == 2:
        if info.expires is not None and now.timestamp() > info.expires:
            raise AuthError("AccessDenied", "Request has expired")
        return
    signed_at = _parse_amz_date(info.amz_date)
    if info.presigned:
        if info.expires is not None and not 1 <= info.expires <= 604800:
            raise AuthError("AuthorizationQueryParametersError", "X-Amz-Expires must be between 1 and 604800 seconds.")
        if info.expires is not None and (now - signed_at).total_seconds() > info.expires:
            raise AuthError("AccessDenied", "Request has expired")
        if (signed_at - now).total_seconds() > max_skew_seconds:
            raise AuthError("AccessDenied", "Request is not valid yet")
        return
    if abs((now - signed_at).total_seconds()) > max_skew_seconds:
        raise AuthError(
            "skewed",
            f"Signature expired: {info.amz_date} is now earlier than "
            f"{now.strftime(_AMZ_DATE)} - {max_skew_seconds // 60} min. (or the request is from the future)",
        )


class _Verifier:
    """Mixin: sign exactly what the client said it signed."""

    signed_header_names: tuple[str, ...] = ()
    unsigned_payload = False

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        header_map = HTTPHeaders()
        for name in self.signed_header_names:
            if name in request.headers:
                header_map[name] = request.headers[name]
        return header_map

    def payload(self, request: AWSRequest) -> str:
        if self.unsigned_payload:
            return UNSIGNED_PAYLOAD
        return super().payload(request)  # type: ignore[misc]


class _SigV4Verifier(_Verifier, SigV4Auth):
    pass


class _S3SigV4Verifier(_Verifier, S3SigV4Auth):
    pass


def expected_signature(
    info: SignedRequestInfo,
    *,
    secret_key: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
) -> str:
    """The signature botocore computes for this request with ``secret_key``.

    ``url`` must carry the path and query exactly as the client sent them (percent-encoding
    included), minus ``X-Amz-Signature`` for presigned URLs.
    """
    verifier_class = _S3SigV4Verifier if info.service == "s3" else _SigV4Verifier
    verifier = verifier_class(Credentials(info.access_key_id, secret_key), info.service, info.region)
    verifier.signed_header_names = info.signed_headers
    verifier.unsigned_payload = info.presigned and info.service == "s3"
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    # botocore's canonical_request looks the declared payload hash up by this spelling.
    if "x-amz-content-sha256" in headers:
        request.headers["X-Amz-Content-SHA256"] = headers["x-amz-content-sha256"]
    request.context["timestamp"] = info.amz_date
    canonical = verifier.canonical_request(request)
    return verifier.signature(verifier.string_to_sign(request, canonical), request)


class _V2QueryVerifier(HmacV1QueryAuth):
    def _get_date(self) -> str:
        # Signing puts "now + expires in" where Date goes; verifying, that is the URL's Expires.
        return str(self._expires)


def expected_signature_v2(
    info: SignedRequestInfo, *, secret_key: str, method: str, url: str, auth_path: str, query: Mapping[str, str]
) -> str:
    """The S3 query-string (Signature Version 2) signature botocore's ``HmacV1QueryAuth`` makes.

    ``auth_path`` is ``/<bucket>/<key>`` as sent, without our endpoint prefix (botocore signs the
    path it built before joining it to the endpoint URL); ``url``'s sub-resources (``versionId``…)
    are signed too. The signed headers travel in the query string, ``Expires`` standing for ``Date``.
    """
    headers = HTTPHeaders()
    headers["Date"] = str(info.expires)
    for name, value in query.items():
        lower = name.lower()
        if lower in ("content-md5", "content-type") or lower.startswith("x-amz-"):
            headers[lower] = value
    signer = _V2QueryVerifier(Credentials(info.access_key_id, secret_key), expires=info.expires or 0)
    return signer.get_signature(method, urlsplit(url), headers, auth_path=auth_path)


def signature_matches(info: SignedRequestInfo, expected: str) -> bool:
    return hmac.compare_digest(info.signature.encode(), expected.encode())
