"""What the S3 console pages read: display-ready rows built on the backend's listings."""

from __future__ import annotations

import io
import json
import mimetypes
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import urlencode

from django.db.models import Count, Q, Sum

from serverless_lab.sandboxes.models import Sandbox

from . import backend, exceptions, logic, storage
from .models import Bucket, Object

PAGE_SIZE = 50
MAX_TRAIL = 20
FIRST_PAGE = "-"  # the first page's place in a pager trail (its token is empty; "-" is no token)
DELETED_ROWS = 50
PREVIEW_MAX_BYTES = 256 * 1024

# Images a browser may render from our origin: raster formats only. SVG can carry script, so it
# is previewed as text like HTML, never served as an image.
SAFE_IMAGE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp", "image/x-icon"}
)

_MARKUP_TYPES = frozenset({"text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml"})

NOTIFICATION_LISTS = {
    "LambdaFunctionConfigurations": ("LambdaFunctionArn", "Lambda function"),
    "QueueConfigurations": ("QueueArn", "SQS queue"),
    "TopicConfigurations": ("TopicArn", "SNS topic"),
}


@dataclass
class BucketRow:
    name: str
    region: str
    created_at: Any
    versioning: str
    object_count: int
    size: int


@dataclass
class Crumb:
    label: str
    prefix: str


@dataclass
class FolderRow:
    prefix: str
    name: str


@dataclass
class ObjectRow:
    key: str
    name: str
    size: int
    last_modified: Any
    content_type: str


@dataclass
class ObjectPage:
    bucket: Bucket
    prefix: str
    crumbs: list[Crumb]
    folders: list[FolderRow]
    objects: list[ObjectRow]
    next_query: str | None  # query strings of the pager's links; None: no such link
    prev_query: str | None
    first_query: str | None
    deleted: list[ObjectRow] = field(default_factory=list)


@dataclass
class Preview:
    kind: str  # "image", "json", "text" or "none"
    text: str = ""
    truncated: bool = False
    reason: str = ""
    source_only: bool = False  # markup a browser would run (HTML, SVG), shown as its source


@dataclass
class NotificationRow:
    id: str
    list_name: str
    target_label: str
    arn: str
    events: list[str]
    prefix: str = ""
    suffix: str = ""


@dataclass
class ObjectDetail:
    bucket: Bucket
    obj: Object | None  # None: the key is deleted (a delete marker is its latest version)
    name: str
    parent_prefix: str
    crumbs: list[Crumb]
    versions: list[Object] = field(default_factory=list)


def bucket_rows(*, sandbox: Sandbox) -> list[BucketRow]:
    """The sandbox's buckets with their current object count and size, in one query."""
    current = Q(object_versions__is_latest=True, object_versions__is_delete_marker=False)
    rows = (
        Bucket.objects.filter(sandbox=sandbox)
        .annotate(
            object_count=Count("object_versions", filter=current), size=Sum("object_versions__size", filter=current)
        )
        .order_by("name")
    )
    return [
        BucketRow(row.name, row.region, row.created_at, row.versioning, row.object_count, row.size or 0) for row in rows
    ]


def breadcrumbs(prefix: str) -> list[Crumb]:
    """One crumb per folder of ``prefix`` ("a/b/" → a/, a/b/); the bucket itself is the root."""
    crumbs: list[Crumb] = []
    position = 0
    while (end := prefix.find("/", position)) >= 0:
        crumbs.append(Crumb(prefix[position:end] or "/", prefix[: end + 1]))
        position = end + 1
    return crumbs


def _page_query(prefix: str, token: str, trail: list[str]) -> str:
    query = {"prefix": prefix} if prefix else {}
    if token:
        query["token"] = token
    if trail:
        query["trail"] = ",".join(trail)
    return urlencode(query)


def object_page(
    *, sandbox: Sandbox, bucket_name: str, prefix: str = "", token: str = "", trail: str = ""
) -> ObjectPage:
    """One page of the folder ``prefix``: sub-folders (delimiter "/") and objects.

    ``token`` is a continuation token from a previous page; an unreadable one starts over.
    Continuation tokens only go forward, so the pager carries the tokens of the pages before
    (``trail``, comma-separated, the last ``MAX_TRAIL``) to offer "Previous page".
    """
    after = (logic.decode_continuation_token(token) or "") if token else ""
    if logic.key_problem(after):  # a token we did not issue (a NUL inside, say): start over
        after = ""
    bucket, page = backend.list_objects(
        sandbox=sandbox, bucket_name=bucket_name, prefix=prefix, delimiter="/", max_keys=PAGE_SIZE, after=after
    )
    folders = [FolderRow(p, p[len(prefix) :]) for p in page.common_prefixes]
    # A key equal to the folder itself ("photos/", a "folder marker" some tools create) is the
    # folder, not a nameless object in it; the AWS console hides it the same way.
    objects = [
        ObjectRow(obj.key, obj.key[len(prefix) :], obj.size, obj.last_modified, obj.content_type)
        for obj in page.contents
        if obj.key != prefix
    ]
    next_token = logic.encode_continuation_token(page.next_marker) if page.is_truncated and page.next_marker else None
    behind = [t for t in trail.split(",") if t][-MAX_TRAIL:] if after else []
    next_query = _page_query(prefix, next_token, [*behind, token or FIRST_PAGE][-MAX_TRAIL:]) if next_token else None
    prev_query = first_query = None
    if after:
        previous = behind[-1] if behind else FIRST_PAGE
        prev_query = _page_query(prefix, "" if previous == FIRST_PAGE else previous, behind[:-1])
        if previous != FIRST_PAGE:
            first_query = _page_query(prefix, "", [])
    deleted = _deleted_in_folder(bucket, prefix) if bucket.versioning and not next_token else []
    return ObjectPage(
        bucket, prefix, breadcrumbs(prefix), folders, objects, next_query, prev_query, first_query, deleted
    )


def object_detail(*, sandbox: Sandbox, bucket_name: str, key: str, version_id: str | None = None) -> ObjectDetail:
    """One version of ``key`` (the current one by default) with every version of it.

    A deleted key of a versioned bucket still has a page: its versions can be opened, and it can
    be restored by deleting the delete marker.
    """
    parent = key[: key.rfind("/") + 1]
    try:
        obj = backend.get_object(sandbox=sandbox, bucket_name=bucket_name, key=key, version_id=version_id)
    except exceptions.NoSuchKey:
        bucket = backend.get_bucket(sandbox=sandbox, name=bucket_name)
        versions = _versions(bucket, key)
        if not versions:
            raise
        return ObjectDetail(bucket, None, key[len(parent) :], parent, breadcrumbs(parent), versions)
    detail = ObjectDetail(obj.bucket, obj, key[len(parent) :], parent, breadcrumbs(parent))
    if obj.bucket.versioning:
        detail.versions = _versions(obj.bucket, key)
    return detail


def _versions(bucket: Bucket, key: str) -> list[Object]:
    return list(Object.objects.filter(bucket=bucket, key=key).order_by("-last_modified", "-pk"))


def latest_delete_marker(bucket: Bucket, key: str) -> Object | None:
    return Object.objects.filter(bucket=bucket, key=key, is_latest=True, is_delete_marker=True).first()


def _deleted_in_folder(bucket: Bucket, prefix: str) -> list[ObjectRow]:
    """Keys directly in folder ``prefix`` whose latest version is a delete marker (first 50)."""
    rows = Object.objects.filter(bucket=bucket, is_latest=True, is_delete_marker=True, key__startswith=prefix)
    deleted = []
    for obj in rows.order_by("key").iterator(chunk_size=200):
        if "/" not in obj.key[len(prefix) :]:
            deleted.append(ObjectRow(obj.key, obj.key[len(prefix) :], 0, obj.last_modified, ""))
            if len(deleted) == DELETED_ROWS:
                break
    return deleted


def effective_content_type(obj: Object) -> str:
    """The stored type, or a guess from the key when the client sent none (boto3's default)."""
    stored = obj.content_type.split(";")[0].strip().lower()
    if stored and stored not in ("binary/octet-stream", "application/octet-stream"):
        return stored
    return (mimetypes.guess_type(obj.key)[0] or stored or "binary/octet-stream").lower()


def preview(obj: Object) -> Preview:
    """How the console shows ``obj``: a raster image, pretty JSON, escaped text, or nothing."""
    kind = effective_content_type(obj)
    if kind in SAFE_IMAGE_TYPES:
        return Preview("image")
    textual = (
        kind.startswith("text/")
        or kind in ("application/json", "application/xml", "application/javascript", "image/svg+xml")
        or kind.endswith(("+json", "+xml"))
    )
    if not textual:
        return Preview("none", reason=f"No preview for {kind} objects: download it instead.")
    data = backend.read_object(obj, (0, PREVIEW_MAX_BYTES - 1) if obj.size > PREVIEW_MAX_BYTES else None)
    truncated = obj.size > PREVIEW_MAX_BYTES
    if b"\x00" in data:
        return Preview("none", reason="This object looks binary, so there is no text preview.")
    text = data.decode("utf-8", errors="replace")
    if (kind == "application/json" or kind.endswith("+json")) and not truncated:
        try:
            return Preview("json", json.dumps(json.loads(text), indent=2, ensure_ascii=False))
        except ValueError:
            return Preview("text", text, reason="Not valid JSON, shown as text.")
    return Preview("text", text, truncated, source_only=kind in _MARKUP_TYPES)


def open_object(obj: Object) -> IO[bytes]:
    """A binary file over the object's bytes, for streaming responses."""
    if obj.size == 0:
        return io.BytesIO(b"")
    if not obj.storage_name:  # a small object, bytes in its row
        return io.BytesIO(bytes(obj.data or b""))
    return storage.object_storage().open(obj.storage_name, "rb")


def notification_rows(bucket: Bucket) -> list[NotificationRow]:
    rows = []
    for list_name, (arn_name, label) in NOTIFICATION_LISTS.items():
        for target in bucket.notification.get(list_name, []):
            rules = {
                rule.get("Name", "").lower(): rule.get("Value", "")
                for rule in target.get("Filter", {}).get("Key", {}).get("FilterRules", [])
            }
            rows.append(
                NotificationRow(
                    target.get("Id", ""),
                    list_name,
                    label,
                    target.get(arn_name, ""),
                    list(target.get("Events", [])),
                    rules.get("prefix", ""),
                    rules.get("suffix", ""),
                )
            )
    return rows
