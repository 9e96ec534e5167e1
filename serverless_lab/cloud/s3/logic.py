"""Pure S3 rules: bucket names, listing, ranges, conditional requests, ETags, CORS matching.

No Django and no ORM here, so every rule is table-tested in ``tests/unit/s3``.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")

MAX_KEY_BYTES = 1024
MIN_PART_BYTES = 5 * 1024 * 1024
MAX_PART_NUMBER = 10_000

# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` breaks S3's general-purpose bucket naming rules, or None if it is valid."""
    if not 3 <= len(name) <= 63:
        return "Bucket names must be between 3 and 63 characters long."
    if not _BUCKET_NAME.match(name):
        return (
            "Bucket names may contain only lowercase letters, numbers, dots and hyphens, "
            "and must begin and end with a letter or number."
        )
    if ".." in name or ".-" in name or "-." in name:
        return "Bucket names must not contain two adjacent periods, or a period next to a hyphen."
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        return "Bucket names must not be formatted as an IP address."
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return "Bucket names must not use a prefix or suffix that AWS reserves."
    return None


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be an object key here, or None.

    S3 allows any UTF-8 up to 1,024 bytes; we also refuse NUL, which no database text column
    can store. Keys are never used as file names (bytes live under generated names).
    """
    if not key:
        return "Object keys must not be empty."
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        return "Your key is too long: object keys are at most 1024 bytes."
    if "\x00" in key:
        return "Object keys must not contain the NUL character."
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return "Object keys must be valid UTF-8."
    return None


# --- listing ---------------------------------------------------------------------------------


@dataclass
class ListingPage(Generic[T]):
    """One page of a listing: objects, common prefixes, and where the next page starts."""

    contents: list[T] = field(default_factory=list)
    common_prefixes: list[str] = field(default_factory=list)
    is_truncated: bool = False
    next_marker: str | None = None  # the last key or common prefix on this page


def group_listing(
    items: Iterable[T], *, key_of: Any, prefix: str, delimiter: str, max_keys: int, after: str = ""
) -> ListingPage[T]:
    """Group ``items`` (sorted by key, all starting with ``prefix`` and after ``after``) into a page.

    Every key whose remainder after ``prefix`` contains ``delimiter`` rolls up into one common
    prefix, which counts once against ``max_keys``. A common prefix equal to ``after`` (the
    previous page ended on it) is skipped, so pages never repeat it.
    """
    page: ListingPage[T] = ListingPage()
    count = 0
    last_prefix: str | None = None
    for item in items:
        key: str = key_of(item)
        rolled: str | None = None
        if delimiter:
            position = key.find(delimiter, len(prefix))
            if position >= 0:
                rolled = key[: position + len(delimiter)]
        if rolled is not None and (rolled == last_prefix or rolled == after):
            continue
        if count >= max_keys:
            page.is_truncated = max_keys > 0
            break
        if rolled is not None:
            page.common_prefixes.append(rolled)
            last_prefix = rolled
            page.next_marker = rolled
        else:
            page.contents.append(item)
            page.next_marker = key
        count += 1
    if not page.is_truncated:
        page.next_marker = None
    return page


def encode_continuation_token(marker: str) -> str:
    return base64.urlsafe_b64encode(marker.encode("utf-8")).decode("ascii")


def decode_continuation_token(token: str) -> str | None:
    """The marker inside a token we issued, or None when it is not one of ours."""
    try:
        return base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None


# --- ranges ----------------------------------------------------------------------------------


class RangeNotSatisfiable(Exception):
    """The Range header asks for bytes the object does not have (S3 InvalidRange, 416)."""


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range ``header`` selects from an object of ``size`` bytes.

    None means "the whole object": no header, or one S3 ignores (a syntax it does not support,
    such as several ranges). Raises RangeNotSatisfiable when the range starts past the end.
    """
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if not match or (not match[1] and not match[2]):
        return None
    first, last = match[1], match[2]
    if not first:  # suffix range: the last N bytes
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable
        if size == 0:
            return None
        return max(size - length, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    return start, min(end, size - 1)


# --- conditional requests ----------------------------------------------------------------


def _etag_list(header: str) -> list[str]:
    return [item.strip().removeprefix("W/").strip('"') for item in header.split(",") if item.strip()]


def evaluate_conditions(
    *,
    etag: str,
    last_modified: datetime,
    if_match: str | None = None,
    if_none_match: str | None = None,
    if_modified_since: datetime | None = None,
    if_unmodified_since: datetime | None = None,
) -> int | None:
    """The status a conditional GET/HEAD ends with (304 or 412), or None to serve the object.

    Follows RFC 7232 §6 as S3 applies it: If-Match beats If-Unmodified-Since, If-None-Match beats
    If-Modified-Since. ``etag`` is unquoted; times compare at one-second precision.
    """
    modified = last_modified.replace(microsecond=0)
    if if_match is not None:
        tags = _etag_list(if_match)
        if "*" not in tags and etag not in tags:
            return 412
    elif if_unmodified_since is not None and modified > if_unmodified_since:
        return 412
    if if_none_match is not None:
        tags = _etag_list(if_none_match)
        if "*" in tags or etag in tags:
            return 304
    elif if_modified_since is not None and modified <= if_modified_since:
        return 304
    return None


# --- ETags -----------------------------------------------------------------------------------


def quote_etag(etag: str) -> str:
    return f'"{etag}"'


def multipart_etag(part_etags: Sequence[str]) -> str:
    """S3's multipart ETag: the MD5 of the parts' binary MD5s, then ``-<number of parts>``."""
    digest = hashlib.md5(b"".join(bytes.fromhex(tag) for tag in part_etags), usedforsecurity=False)
    return f"{digest.hexdigest()}-{len(part_etags)}"


def content_md5_matches(header: str, md5: str) -> bool:
    """Whether a Content-MD5 header (base64 of the binary digest) matches the body's MD5 (hex, as
    computed once for its ETag)."""
    try:
        claimed = base64.b64decode(header, validate=True)
    except (binascii.Error, ValueError):
        return False
    return claimed == bytes.fromhex(md5)


# --- CORS --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorsDecision:
    """The Access-Control-* headers one CORS rule grants to one request."""

    headers: dict[str, str]


def _origin_matches(pattern: str, origin: str) -> bool:
    # S3 allows at most one "*" wildcard in an AllowedOrigin; fnmatch's other specials are escaped.
    escaped = pattern.replace("[", "[[]").replace("?", "[?]")
    return fnmatch.fnmatchcase(origin, escaped)


def match_cors(
    rules: Sequence[dict[str, Any]], *, origin: str, method: str, request_headers: Iterable[str] = ()
) -> CorsDecision | None:
    """The headers of the first rule allowing ``origin`` to use ``method`` with ``request_headers``.

    ``rules`` are botocore-shaped CORSRule dicts. None means no rule matches (S3 then answers
    a preflight with 403 and adds no CORS headers to other responses).
    """
    wanted = [name.strip().lower() for name in request_headers if name.strip()]
    for rule in rules:
        origins = rule.get("AllowedOrigins", [])
        if not any(_origin_matches(pattern, origin) for pattern in origins):
            continue
        if method.upper() not in [m.upper() for m in rule.get("AllowedMethods", [])]:
            continue
        allowed = [name.lower() for name in rule.get("AllowedHeaders", [])]
        if not all(any(fnmatch.fnmatchcase(name, pattern) for pattern in allowed) for name in wanted):
            continue
        headers = {
            "Access-Control-Allow-Origin": "*" if origins == ["*"] else origin,
            "Access-Control-Allow-Methods": ", ".join(rule.get("AllowedMethods", [])),
            "Vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
        }
        if origins != ["*"]:
            headers["Access-Control-Allow-Credentials"] = "true"
        if wanted:
            headers["Access-Control-Allow-Headers"] = ", ".join(wanted)
        if rule.get("ExposeHeaders"):
            headers["Access-Control-Expose-Headers"] = ", ".join(rule["ExposeHeaders"])
        if rule.get("MaxAgeSeconds") is not None:
            headers["Access-Control-Max-Age"] = str(rule["MaxAgeSeconds"])
        return CorsDecision(headers)
    return None


# --- notifications -----------------------------------------------------------------------------


def event_matches(patterns: Iterable[str], event_name: str) -> bool:
    """Whether ``event_name`` (``s3:ObjectCreated:Put``) matches a configured event (``s3:ObjectCreated:*``)."""
    return any(fnmatch.fnmatchcase(event_name, pattern) for pattern in patterns)


def filter_matches(filter_rules: Iterable[dict[str, str]], key: str) -> bool:
    """Whether ``key`` passes a notification's prefix/suffix FilterRules."""
    for rule in filter_rules:
        name, value = rule.get("Name", "").lower(), rule.get("Value", "")
        if name == "prefix" and not key.startswith(value):
            return False
        if name == "suffix" and not key.endswith(value):
            return False
    return True
