"""S3 operations on a sandbox: one function per operation, keyword-only, ``sandbox`` first.

Writes store the bytes first (durably, under a generated name) and then commit the row that points
at them, so a crash mid-upload never leaves a half object visible; a failed commit deletes the
bytes again, and bytes a committed transaction no longer references are deleted after the commit.
"""

from __future__ import annotations

import functools
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from concurrent.futures import Future
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from serverless_lab.cloud.core import digests
from serverless_lab.cloud.core.prepared import PreparedStatement
from serverless_lab.sandboxes.models import Sandbox

from . import exceptions, logic, notifications, storage
from .models import NULL_VERSION, Bucket, MultipartUpload, Object, Part, Usage

logger = logging.getLogger(__name__)

# The largest object a sandbox may hold, also capped by its whole storage quota.
DEFAULT_MAX_OBJECT_BYTES = 5 * 1024**3


def max_object_bytes(sandbox: Sandbox) -> int:
    return min(getattr(settings, "LAB_S3_MAX_OBJECT_BYTES", DEFAULT_MAX_OBJECT_BYTES), sandbox.max_storage_bytes)


def storage_used(sandbox: Sandbox) -> int:
    """Bytes the sandbox holds: every object version plus the parts of unfinished uploads."""
    return Usage.objects.filter(pk=sandbox.pk).values_list("bytes", flat=True).first() or 0


def _check_size(sandbox: Sandbox, size: int) -> None:
    limit = max_object_bytes(sandbox)
    if size > limit:
        raise exceptions.EntityTooLarge(size, limit)


def _check_quota(sandbox: Sandbox, size: int, used: int | None = None) -> None:
    """An early refusal, before a body is stored: ``_use_bytes`` enforces the quota exactly at commit.
    ``used``: the sandbox's storage_used when the caller already has it."""
    _check_size(sandbox, size)
    if used is None:
        used = storage_used(sandbox)
    if used + size > sandbox.max_storage_bytes:
        raise exceptions.QuotaExceeded(used, size, sandbox.max_storage_bytes)


def _use_bytes(sandbox: Sandbox, size: int, *, enforce_quota: bool = False) -> int:
    """Add ``size`` (negative: release) to the sandbox's :class:`Usage`, inside the caller's
    transaction, and return the new total.

    The UPDATE locks the usage row until the transaction ends, and every write to a sandbox's
    objects, parts or versioning does this first (``size`` 0 only to lock): so a sandbox's S3 writes
    are serialised, and what a write reads after it is current. With ``enforce_quota`` a total over
    the quota raises ``QuotaExceeded`` (see :func:`_check_total`), rolling the addition back.
    """
    sql = f"UPDATE {Usage._meta.db_table} SET bytes = bytes + %s WHERE sandbox_id = %s RETURNING bytes"
    with connection.cursor() as cursor:
        cursor.execute(sql, [size, sandbox.pk])
        row = cursor.fetchone()
        if row is None:  # the sandbox's first write: make its row (a concurrent first write may too)
            Usage.objects.bulk_create([Usage(sandbox_id=sandbox.pk, bytes=0)], ignore_conflicts=True)
            cursor.execute(sql, [size, sandbox.pk])
            row = cursor.fetchone()
    if enforce_quota:
        _check_total(sandbox, row[0], size)
    return int(row[0])


def _check_total(sandbox: Sandbox, total: int, size: int) -> None:
    """QuotaExceeded if ``total`` (what :func:`_use_bytes` returned after adding ``size``) is over the
    quota. The caller still holds the usage lock, so concurrent writers cannot overshoot together."""
    if total > sandbox.max_storage_bytes:
        raise exceptions.QuotaExceeded(total - size, size, sandbox.max_storage_bytes)


def _release_bytes(sandbox: Sandbox, size: int) -> None:
    """Take ``size`` freed bytes off the sandbox's usage (the caller already holds its lock)."""
    if size:
        _use_bytes(sandbox, -size)


def _check_key(key: str) -> None:
    problem = logic.key_problem(key)
    if problem:
        raise exceptions.InvalidArgument(problem, ArgumentName="key")


def _refuse_nul(**values: str | None) -> None:
    """No key, bucket name, prefix or marker can hold NUL (keys with one are refused on write), and
    PostgreSQL rejects it in a query: answer InvalidArgument rather than fail with a 500."""
    for name, value in values.items():
        if value and "\x00" in value:
            raise exceptions.InvalidArgument(f"The {name} must not contain the NUL character.", ArgumentName=name)


def _new_version_id() -> str:
    return uuid.uuid4().hex


# --- buckets -----------------------------------------------------------------------------


def get_bucket(*, sandbox: Sandbox, name: str) -> Bucket:
    """The sandbox's bucket ``name``: NoSuchBucket if nobody has it, AccessDenied if another sandbox does."""
    _refuse_nul(bucket=name)
    return _owned(sandbox, name, Bucket.objects.filter(name=name).first())


def _bucket_and_storage_used(sandbox: Sandbox, name: str) -> tuple[Bucket, int]:
    """:func:`get_bucket` and :func:`storage_used` in one query, a write's first round trip (raw SQL:
    compiling the ORM's version cost more CPU than running it)."""
    _refuse_nul(bucket=name)
    rows = Bucket.objects.raw(
        f"SELECT b.*, (SELECT u.bytes FROM {Usage._meta.db_table} u WHERE u.sandbox_id = %s) AS used"
        f" FROM {Bucket._meta.db_table} b WHERE b.name = %s",
        [sandbox.pk, name],
    )
    bucket = _owned(sandbox, name, next(iter(rows), None))
    return bucket, int(bucket.used or 0)  # type: ignore[attr-defined]


def _owned(sandbox: Sandbox, name: str, bucket: Bucket | None) -> Bucket:
    if bucket is None:
        raise exceptions.NoSuchBucket(name)
    if bucket.sandbox_id != sandbox.pk:
        raise exceptions.AccessDenied("Access Denied")
    return bucket


def create_bucket(*, sandbox: Sandbox, name: str, region: str) -> Bucket:
    problem = logic.bucket_name_problem(name)
    if problem:
        raise exceptions.InvalidBucketName(name, problem)
    existing = Bucket.objects.filter(name=name).first()
    if existing is not None:
        if existing.sandbox_id == sandbox.pk:
            raise exceptions.BucketAlreadyOwnedByYou(name)
        raise exceptions.BucketAlreadyExists(name)
    try:
        with transaction.atomic():
            return Bucket.objects.create(sandbox=sandbox, name=name, region=region)
    except IntegrityError:
        raise exceptions.BucketAlreadyExists(name) from None


def list_buckets(*, sandbox: Sandbox) -> list[Bucket]:
    return list(Bucket.objects.filter(sandbox=sandbox).order_by("name"))


def delete_bucket(*, sandbox: Sandbox, name: str) -> None:
    with transaction.atomic():
        _use_bytes(sandbox, 0)  # no object can be written meanwhile
        bucket = get_bucket(sandbox=sandbox, name=name)
        if Object.objects.filter(bucket=bucket).exists():
            raise exceptions.BucketNotEmpty(name)
        parts = list(Part.objects.filter(upload__bucket=bucket).values_list("storage_name", "size"))
        bucket.delete()
        _release_bytes(sandbox, sum(size for _, size in parts))
        storage.delete_on_commit([name for name, _ in parts])


def put_bucket_versioning(*, sandbox: Sandbox, name: str, status: str) -> None:
    if status not in ("Enabled", "Suspended"):
        raise exceptions.MalformedXML("VersioningConfiguration Status must be Enabled or Suspended.")
    with transaction.atomic():
        _use_bytes(sandbox, 0)  # object writes read the status under this lock: none is midway
        bucket = get_bucket(sandbox=sandbox, name=name)
        bucket.versioning = status
        bucket.save(update_fields=["versioning"])


def put_bucket_tagging(*, sandbox: Sandbox, name: str, tags: list[dict[str, str]]) -> None:
    _check_tags(tags)
    Bucket.objects.filter(pk=get_bucket(sandbox=sandbox, name=name).pk).update(tags=tags)


def delete_bucket_tagging(*, sandbox: Sandbox, name: str) -> None:
    Bucket.objects.filter(pk=get_bucket(sandbox=sandbox, name=name).pk).update(tags=[])


def put_bucket_cors(*, sandbox: Sandbox, name: str, rules: list[dict[str, Any]]) -> None:
    if not rules or len(rules) > 100:
        raise exceptions.MalformedXML("A CORS configuration holds 1 to 100 CORSRule elements.")
    for rule in rules:
        if not rule.get("AllowedOrigins") or not rule.get("AllowedMethods"):
            raise exceptions.MalformedXML("Each CORSRule needs AllowedOrigin and AllowedMethod.")
        for method in rule["AllowedMethods"]:
            if method not in ("GET", "PUT", "POST", "DELETE", "HEAD"):
                raise exceptions.InvalidRequest(
                    f"Found unsupported HTTP method in CORS config. Unsupported method is {method}"
                )
    Bucket.objects.filter(pk=get_bucket(sandbox=sandbox, name=name).pk).update(cors_rules=rules)


def bucket_cors_rules(*, name: str, sandbox: Sandbox | None) -> list[dict[str, Any]]:
    """A bucket's CORS rules ([] when unset or unknown). ``sandbox`` None: an unsigned preflight,
    which S3 answers for any bucket by its global name; otherwise only the sandbox's own buckets."""
    if "\x00" in name:
        return []
    rows = Bucket.objects.filter(name=name)
    if sandbox is not None:
        rows = rows.filter(sandbox=sandbox)
    return next(iter(rows.values_list("cors_rules", flat=True)), None) or []


def delete_bucket_cors(*, sandbox: Sandbox, name: str) -> None:
    Bucket.objects.filter(pk=get_bucket(sandbox=sandbox, name=name).pk).update(cors_rules=None)


def put_bucket_policy(*, sandbox: Sandbox, name: str, policy: str) -> None:
    """Store the policy as given (it is shown back, not enforced: a sandbox has one principal)."""
    try:
        document = json.loads(policy)
    except ValueError:
        raise exceptions.S3Error(
            "Policies must be valid JSON and the first byte must be '{'", code="MalformedPolicy"
        ) from None
    if not isinstance(document, dict) or "Statement" not in document:
        raise exceptions.S3Error("Missing required field Statement", code="MalformedPolicy")
    Bucket.objects.filter(pk=get_bucket(sandbox=sandbox, name=name).pk).update(policy=policy)


def delete_bucket_policy(*, sandbox: Sandbox, name: str) -> None:
    Bucket.objects.filter(pk=get_bucket(sandbox=sandbox, name=name).pk).update(policy=None)


_NOTIFICATION_TARGETS = (
    ("LambdaFunctionConfigurations", "LambdaFunctionArn"),
    ("QueueConfigurations", "QueueArn"),
    ("TopicConfigurations", "TopicArn"),
)


def put_bucket_notification_configuration(*, sandbox: Sandbox, name: str, configuration: dict[str, Any]) -> None:
    """Store Lambda/SQS/SNS/EventBridge targets; events are matched by :func:`notification_targets`.

    New destinations must exist (``InvalidArgument`` otherwise) and the SQS/SNS ones get S3's test event.
    """
    for list_name, arn_name in _NOTIFICATION_TARGETS:
        for target in configuration.get(list_name, []):
            if not str(target.get(arn_name, "")).startswith("arn:"):
                raise exceptions.InvalidArgument(
                    f"The ARN is not well formed: {target.get(arn_name, '')}", ArgumentName=arn_name
                )
            if not target.get("Events"):
                raise exceptions.MalformedXML(f"{list_name} entries need at least one Event.")
            target.setdefault("Id", uuid.uuid4().hex)
    stored = {
        key: configuration[key]
        for key in (*(n for n, _ in _NOTIFICATION_TARGETS), "EventBridgeConfiguration")
        if key in configuration
    }
    bucket = get_bucket(sandbox=sandbox, name=name)
    added = notifications.new_destinations(bucket.notification, stored)
    notifications.validate_destinations(sandbox, added)
    with transaction.atomic():
        Bucket.objects.filter(pk=bucket.pk).update(notification=stored)
        notifications.send_test_events(sandbox, bucket.name, added)


def notification_targets(bucket: Bucket, event_name: str, key: str) -> list[str]:
    """The ARNs of configured targets that ``event_name`` on ``key`` should reach (the console
    shows them; notifications.py delivers to the Lambda, SQS and SNS ones)."""
    arns = []
    for list_name, arn_name in _NOTIFICATION_TARGETS:
        for target in bucket.notification.get(list_name, []):
            rules = target.get("Filter", {}).get("Key", {}).get("FilterRules", [])
            if logic.event_matches(target.get("Events", []), event_name) and logic.filter_matches(rules, key):
                arns.append(target[arn_name])
    return arns


def _object_event(bucket: Bucket, event_name: str, key: str, obj: Object | None = None) -> None:
    """Called inside the write's transaction for every object event: Lambda, SQS and SNS targets get
    S3's event record after commit (notifications.py); EventBridge ones are matched but not delivered."""
    if bucket.notification:
        notifications.deliver(bucket, event_name, key, obj)


def _check_tags(tags: list[dict[str, str]]) -> None:
    keys = [tag.get("Key", "") for tag in tags]
    if len(keys) != len(set(keys)):
        raise exceptions.InvalidArgument("Cannot provide multiple Tags with the same key", ArgumentName="TagKey")
    for tag in tags:
        if not 1 <= len(tag.get("Key", "")) <= 128 or len(tag.get("Value", "")) > 256:
            raise exceptions.InvalidArgument("The TagKey you have provided is invalid", ArgumentName="TagKey")


# --- objects -------------------------------------------------------------------------------


@dataclass
class ObjectFields:
    """What a client sets on an object besides its bytes."""

    content_type: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    tags: list[dict[str, str]] = field(default_factory=list)


def _store_version(
    *,
    sandbox: Sandbox,
    bucket_name: str,
    key: str,
    size: int,
    etag: str,
    fields: ObjectFields,
    storage_name: str,
    data: bytes | None = None,
    event_name: str = "s3:ObjectCreated:Put",
    enforce_quota: bool = True,
    checks: Callable[[], None] | None = None,
) -> Object:
    """Commit a new current version of ``key`` pointing at already-stored bytes (or holding a small
    body's bytes, ``data``, with ``storage_name`` empty).

    In order: the usage lock, the bucket's errors, then ``checks`` (the request's own), then the
    quota. Without versioning (or suspended), the "null" version is replaced and its bytes deleted
    after commit; with versioning enabled, earlier versions stay. If the commit fails the new bytes go.
    """
    try:
        with transaction.atomic():
            total = _use_bytes(sandbox, size)
            bucket, current = _locked_state(sandbox, bucket_name, key)
            if checks is not None:
                checks()
            if enforce_quota:
                _check_total(sandbox, total, size)
            obj, freed = _insert_version(bucket, key, current, is_delete_marker=False)
            obj.size, obj.etag, obj.storage_name, obj.data = size, etag, storage_name, data
            obj.content_type = fields.content_type or "binary/octet-stream"
            obj.metadata, obj.headers, obj.tags = fields.metadata, fields.headers, fields.tags
            obj.save(force_insert=obj.pk is None, force_update=obj.pk is not None)
            _release_bytes(sandbox, freed)
            _object_event(bucket, event_name, key, obj)
            return obj
    except BaseException:
        storage.delete_now([storage_name])
        raise


class _Current(NamedTuple):
    pk: int
    version_id: str
    is_latest: bool
    size: int
    storage_name: str


def _locked_state(sandbox: Sandbox, bucket_name: str, key: str) -> tuple[Bucket, list[_Current]]:
    """The sandbox's bucket ``bucket_name`` (its errors as :func:`get_bucket`) and the latest and
    "null" versions of ``key`` in it, in one query. The caller holds the sandbox's usage lock
    (:func:`_use_bytes`), so all of it stays current until the transaction ends."""
    _refuse_nul(bucket=bucket_name)
    rows = list(
        Bucket.objects.raw(
            "SELECT b.*, o.id AS o_pk, o.version_id AS o_version_id, o.is_latest AS o_is_latest,"
            " o.size AS o_size, o.storage_name AS o_storage_name"
            f" FROM {Bucket._meta.db_table} b LEFT JOIN {Object._meta.db_table} o ON o.bucket_id = b.id"
            " AND b.sandbox_id = %s AND o.key = %s AND (o.is_latest OR o.version_id = %s) WHERE b.name = %s",
            [sandbox.pk, key, NULL_VERSION, bucket_name],
        )
    )
    bucket = _owned(sandbox, bucket_name, rows[0] if rows else None)
    current = [
        _Current(row.o_pk, row.o_version_id, bool(row.o_is_latest), row.o_size, row.o_storage_name)  # type: ignore[attr-defined]
        for row in rows
        if row.o_pk is not None  # type: ignore[attr-defined]
    ]
    return bucket, current


def _insert_version(
    bucket: Bucket, key: str, current: list[_Current], *, is_delete_marker: bool
) -> tuple[Object, int]:
    """An unsaved new latest version of ``key``, and the bytes it frees; ``bucket`` and ``current``
    come from :func:`_locked_state` under the usage lock the caller still holds.

    Without versioning (or suspended) the new version replaces the "null" one: it takes over that
    row, so saving it is one UPDATE rather than a DELETE and an INSERT, and the old bytes go after
    commit. Any other latest version stops being the latest.
    """
    versioned = bucket.versioning == "Enabled"
    replaced = None if versioned else next((row for row in current if row.version_id == NULL_VERSION), None)
    stale = [row.pk for row in current if row.is_latest and row is not replaced]
    if stale:
        Object.objects.filter(pk__in=stale).update(is_latest=False)
    obj = Object(
        sandbox_id=bucket.sandbox_id,
        bucket=bucket,
        key=key,
        version_id=_new_version_id() if versioned else NULL_VERSION,
        is_latest=True,
        is_delete_marker=is_delete_marker,
        last_modified=timezone.now(),
    )
    if replaced is None:
        return obj, 0
    storage.delete_on_commit([replaced.storage_name])
    obj.pk = replaced.pk
    return obj, replaced.size


# An object this small keeps its bytes in its row: the database commit that makes the version
# visible makes them durable too, where a file costs a create, write, fsync, rename and directory
# fsync (and an unlink when it is replaced), and a read an open.
INLINE_MAX_BYTES = 64 * 1024


def _keep_body(sandbox: Sandbox, body: bytes) -> tuple[str, bytes | None]:
    """Where a new object's ``body`` lives: its storage name (stored durably now) or, for a small
    body, "" and the bytes for its row."""
    if len(body) <= INLINE_MAX_BYTES:
        return "", body
    return storage.save_bytes(sandbox.pk, body), None


def put_object(
    *,
    sandbox: Sandbox,
    bucket_name: str,
    key: str,
    body: bytes,
    fields: ObjectFields,
    content_md5: str | None = None,
    md5: Future[str] | None = None,
    stored: storage.StreamedFile | None = None,
) -> Object:
    """Errors in S3's order: the key, the bucket, Content-MD5, tags, the size, the quota. ``md5``:
    the body's MD5 (hex) if it is being computed already; ``stored``: a large body's file, written
    while it arrived, which this call then owns: kept if a committed row names it, else removed."""
    if stored is None:
        return _put_object(sandbox, bucket_name, key, body, fields, content_md5, md5, None)
    stored.referenced = True  # not the request's to remove any more
    try:
        obj = _put_object(sandbox, bucket_name, key, body, fields, content_md5, md5, stored)
    except BaseException:
        futures.wait([stored.durable])  # the file exists once its write ended, failed or not
        _delete_unless_named(sandbox, stored.name)
        raise
    if obj.storage_name != stored.name:  # its bytes went elsewhere (into its row)
        futures.wait([stored.durable])
        storage.delete_now([stored.name])
    return obj


def _put_object(
    sandbox: Sandbox,
    bucket_name: str,
    key: str,
    body: bytes,
    fields: ObjectFields,
    content_md5: str | None,
    md5: Future[str] | None,
    stored: storage.StreamedFile | None,
) -> Object:
    _check_key(key)
    _refuse_nul(bucket=bucket_name)
    if md5 is None:
        md5 = digests.started("md5", body)  # for a large body, on a pool thread while the file is written

    def checks() -> None:
        if content_md5 is not None and not logic.content_md5_matches(content_md5, md5.result()):
            raise exceptions.InvalidDigest()
        _check_tags(fields.tags)
        _check_size(sandbox, len(body))

    small = len(body) <= INLINE_MAX_BYTES
    if _one_statement_applies() and _passes(checks):
        # Likely the common case: one guarded statement puts the row in (see _put_in_one_statement;
        # a put it does not fit goes on the usual way below). A large body's file is written and
        # fsynced on another thread while the statement runs, which commits once it is on disk.
        name, data, durable = "", body, None
        if stored is not None and not small:
            name, durable, data = stored.name, stored.durable, None
        elif not small:
            (name, durable), data = storage.save_bytes_started(sandbox.pk, body), None
        try:
            etag = md5.result()
            # A file on disk already (written while the body arrived) needs no transaction around
            # the statement: it commits by itself, one round trip instead of three.
            in_transaction = durable is not None and not durable.done()
            if durable is not None and not in_transaction:
                durable.result()  # raises if the write failed
            with transaction.atomic() if in_transaction else nullcontext():
                obj = _put_in_one_statement(sandbox, bucket_name, key, len(body), etag, fields, name, data)
                if in_transaction:
                    durable.result()
        except BaseException:
            if stored is None:  # a streamed file is put_object's to remove
                if durable is not None:
                    futures.wait([durable])  # the file exists once its write ended, failed or not
                _delete_unless_named(sandbox, name)
            raise
        if obj is not None:
            return obj
    elif small:
        # Nothing to store before the transaction, so the bucket is looked up and the request
        # checked inside it: one round trip fewer.
        name, data = "", body
    else:
        _, used = _bucket_and_storage_used(sandbox, bucket_name)  # refusals before the bytes are stored
        checks()
        _check_quota(sandbox, len(body), used)
        if stored is not None:
            stored.durable.result()
            name, data = stored.name, None
        else:
            name, data = storage.save_bytes(sandbox.pk, body), None
    return _store_version(
        sandbox=sandbox,
        bucket_name=bucket_name,
        key=key,
        size=len(body),
        etag=md5.result(),
        fields=fields,
        storage_name=name,
        data=data,
        checks=checks,
    )


def _delete_unless_named(sandbox: Sandbox, name: str) -> None:
    """Remove a failed put's file unless a committed row names it: a put can fail after its commit
    (an event that could not be queued), and then its object's bytes must stay. When the database
    cannot tell, the file stays too: an unnamed file is only space (it goes with the sandbox's
    bytes), a missing one is a lost object."""
    if not name:
        return
    try:
        named = Object.objects.filter(sandbox=sandbox, storage_name=name).exists()
    except DatabaseError:
        return
    if not named:
        storage.delete_now([name])


def _passes(checks: Callable[[], None]) -> bool:
    try:
        checks()
    except exceptions.S3Error:
        return False  # raised again by the usual path, after the bucket's own errors
    return True


def _one_statement_applies() -> bool:
    """Whether :func:`_put_in_one_statement` can run: on PostgreSQL, outside the caller's
    transaction (the statement commits by itself, or in one of put_object's own)."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


# The one-statement put's parameters, in its prepared statement's order, with their types.
_PUT_PARAMETERS = {
    "sandbox": "bigint", "bucket": "text", "key": "text", "size": "bigint", "quota": "bigint", "etag": "text",
    "content_type": "text", "metadata": "jsonb", "headers": "jsonb", "tags": "jsonb", "storage_name": "text",
    "data": "bytea", "now": "timestamptz",
}


@functools.cache
def _one_statement_put_sql() -> str:
    """PutObject as one PostgreSQL statement, its parameters numbered as in ``_PUT_PARAMETERS``;
    see :func:`_put_in_one_statement` (run as ``_PUT``, prepared)."""
    q = connection.ops.quote_name
    usage, bucket, obj = (q(m._meta.db_table) for m in (Usage, Bucket, Object))
    written = ("size", "etag", "content_type", "metadata", "headers", "tags", "storage_name", "data", "last_modified")
    updates = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in written)
    return f"""
    WITH seen AS (
        SELECT xmin AS version FROM {usage} WHERE sandbox_id = $1
    ), target AS (
        SELECT id, notification FROM {bucket}
        WHERE name = $2 AND sandbox_id = $1 AND versioning = ''
    ), replaced AS (
        SELECT o.size, o.storage_name FROM {obj} o JOIN target ON o.bucket_id = target.id
        WHERE o.key = $3 AND o.version_id = '{NULL_VERSION}'
    ), used AS (
        UPDATE {usage} SET bytes = bytes + $4 - COALESCE((SELECT size FROM replaced), 0)
        WHERE sandbox_id = $1 AND xmin = (SELECT version FROM seen)
          AND bytes + $4 <= $5 AND EXISTS (SELECT FROM target)
        RETURNING bytes
    ), inserted AS (
        INSERT INTO {obj} (sandbox_id, bucket_id, {q("key")}, version_id, is_latest, is_delete_marker,
                           {", ".join(q(c) for c in written)})
        SELECT $1, target.id, $3, '{NULL_VERSION}', true, false, $4, $6, $7, $8, $9, $10, $11, $12, $13
        FROM target, used
        ON CONFLICT (bucket_id, {q("key")}, version_id) DO UPDATE SET {updates}
        RETURNING id
    )
    SELECT (SELECT id FROM inserted), (SELECT id FROM target), (SELECT notification::text FROM target),
           (SELECT storage_name FROM replaced)
    """


_PUT = PreparedStatement("lab_s3_put", _PUT_PARAMETERS.values(), _one_statement_put_sql)


def _put_in_one_statement(
    sandbox: Sandbox,
    bucket_name: str,
    key: str,
    size: int,
    etag: str,
    fields: ObjectFields,
    storage_name: str,
    data: bytes | None,
) -> Object | None:
    """PutObject's quickest path: one statement instead of a transaction's five round trips
    (BEGIN, usage lock, bucket and key read, write, COMMIT), for the common case of a bucket whose
    versioning was never enabled (so the key has at most its "null" version). It commits by itself
    (a small body, ``data``, or a file durable already), or with the caller's transaction once the
    body's file is durable.
    None when the statement wrote nothing: the bucket is missing, not the sandbox's or
    versioned, the quota would be passed, the sandbox has no usage row yet, or another S3 write of
    the sandbox committed while it ran; the caller then goes the usual way, which raises whatever
    error applies.

    The statement reads the usage row, the bucket and the key's current version from one snapshot
    and then locks the usage row, as every S3 write does first, by updating it only where the row
    is still the version it read (``xmin``): every S3 write of the sandbox updates that row, so if
    none committed in between (when one did, PostgreSQL re-checks the condition against the newest
    version, which fails) what the snapshot read is current under the lock, as in the usual path.
    The replaced version's row is overwritten in place and its file deleted after the commit;
    notifications are queued for after it too.
    """
    now = timezone.now()
    content_type = fields.content_type or "binary/octet-stream"
    params = {
        "sandbox": sandbox.pk,
        "bucket": bucket_name,
        "key": key,
        "size": size,
        "quota": sandbox.max_storage_bytes,
        "etag": etag,
        "content_type": content_type,
        "metadata": json.dumps(fields.metadata),
        "headers": json.dumps(fields.headers),
        "tags": json.dumps(fields.tags),
        "storage_name": storage_name,
        "data": data,
        "now": now,
    }
    try:
        with connection.cursor() as cursor:
            _PUT.execute(cursor, [params[name] for name in _PUT_PARAMETERS])
            pk, bucket_id, notification, replaced_name = cursor.fetchone()
    except IntegrityError:  # not expected under the guard; the usual path gives the right answer
        if connection.in_atomic_block:
            transaction.set_rollback(True)  # put_object's transaction cannot go on: it rolls back
        return None
    if pk is None:
        return None
    storage.delete_on_commit([replaced_name or ""])
    obj = Object(
        pk=pk,
        sandbox_id=sandbox.pk,
        bucket_id=bucket_id,
        key=key,
        version_id=NULL_VERSION,
        size=size,
        etag=etag,
        content_type=content_type,
        metadata=fields.metadata,
        headers=fields.headers,
        tags=fields.tags,
        storage_name=storage_name,
        data=data,
        last_modified=now,
    )
    if notification != "{}":
        bucket = Bucket(pk=bucket_id, sandbox=sandbox, name=bucket_name, notification=json.loads(notification))
        _object_event(bucket, "s3:ObjectCreated:Put", key, obj)
    return obj


def get_object(*, sandbox: Sandbox, bucket_name: str, key: str, version_id: str | None = None) -> Object:
    """The current (or the given) version of ``key``; a delete marker reads as NoSuchKey."""
    _refuse_nul(key=key, versionId=version_id, bucket=bucket_name)
    # One query when the object is there; the bucket's own errors only when it is not. Raw SQL:
    # compiling the ORM's version cost more CPU than running it. At most one row matches (the
    # version and "one latest" unique constraints).
    rows = Object.objects.raw(
        f"SELECT o.* FROM {Object._meta.db_table} o JOIN {Bucket._meta.db_table} b ON b.id = o.bucket_id"
        " WHERE b.name = %s AND b.sandbox_id = %s AND o.key = %s"
        + (" AND o.version_id = %s" if version_id else " AND o.is_latest = %s"),
        [bucket_name, sandbox.pk, key, version_id or True],
    )
    obj = next(iter(rows), None)
    if obj is None:
        get_bucket(sandbox=sandbox, name=bucket_name)
    if version_id:
        if obj is None:
            if version_id != NULL_VERSION and len(version_id) != 32:
                raise exceptions.InvalidArgument("Invalid version id specified", ArgumentName="versionId")
            raise exceptions.NoSuchVersion(key, version_id)
        if obj.is_delete_marker:
            raise exceptions.MethodNotAllowed("GET")
        return obj
    if obj is None or obj.is_delete_marker:
        raise exceptions.NoSuchKey(key)
    return obj


def read_object(obj: Object, byte_range: tuple[int, int] | None = None) -> bytes:
    if obj.size == 0:
        return b""
    if not obj.storage_name:  # a small object, bytes in its row
        data = bytes(obj.data or b"")
        return data if byte_range is None else data[byte_range[0] : byte_range[1] + 1]
    if byte_range is None:
        return storage.read_bytes(obj.storage_name)
    return storage.read_bytes(obj.storage_name, byte_range[0], byte_range[1])


@dataclass
class DeleteOutcome:
    key: str
    version_id: str | None
    delete_marker: bool
    delete_marker_version_id: str | None = None


def _delete_one(sandbox: Sandbox, bucket: Bucket, key: str, version_id: str | None) -> tuple[DeleteOutcome, int]:
    """Delete a key (or one version of it); returns the outcome and the bytes freed. The caller
    holds the sandbox's usage lock (:func:`_use_bytes`) and read ``bucket`` after taking it."""
    _refuse_nul(key=key, versionId=version_id)
    if version_id:
        obj = Object.objects.filter(bucket=bucket, key=key, version_id=version_id).first()
        if obj is None:
            return DeleteOutcome(key, version_id, False), 0
        was_latest = obj.is_latest
        storage.delete_on_commit([obj.storage_name])
        obj.delete()
        _object_event(bucket, "s3:ObjectRemoved:Delete", key, obj)
        if was_latest:
            newest = Object.objects.filter(bucket=bucket, key=key).order_by("-last_modified", "-pk").first()
            if newest is not None:
                newest.is_latest = True
                newest.save(update_fields=["is_latest"])
        outcome = DeleteOutcome(key, version_id, obj.is_delete_marker, version_id if obj.is_delete_marker else None)
        return outcome, obj.size
    if not bucket.versioning:
        obj = Object.objects.filter(bucket=bucket, key=key, is_latest=True).first()
        if obj is None:
            return DeleteOutcome(key, None, False), 0
        storage.delete_on_commit([obj.storage_name])
        obj.delete()
        _object_event(bucket, "s3:ObjectRemoved:Delete", key)
        return DeleteOutcome(key, None, False), obj.size
    bucket, current = _locked_state(sandbox, bucket.name, key)
    marker, freed = _insert_version(bucket, key, current, is_delete_marker=True)
    marker.save()
    _object_event(bucket, "s3:ObjectRemoved:DeleteMarkerCreated", key, marker)
    return DeleteOutcome(key, marker.version_id, True, marker.version_id), freed


def delete_object(*, sandbox: Sandbox, bucket_name: str, key: str, version_id: str | None = None) -> DeleteOutcome:
    return delete_objects(sandbox=sandbox, bucket_name=bucket_name, targets=[(key, version_id)])[0]


def delete_objects(*, sandbox: Sandbox, bucket_name: str, targets: list[tuple[str, str | None]]) -> list[DeleteOutcome]:
    if not 1 <= len(targets) <= 1000:
        raise exceptions.MalformedXML("Delete takes 1 to 1000 Object elements.")
    with transaction.atomic():
        _use_bytes(sandbox, 0)
        bucket = get_bucket(sandbox=sandbox, name=bucket_name)
        results = [_delete_one(sandbox, bucket, key, version_id) for key, version_id in targets]
        _release_bytes(sandbox, sum(freed for _, freed in results))
        return [outcome for outcome, _ in results]


def copy_object(
    *,
    sandbox: Sandbox,
    bucket_name: str,
    key: str,
    source_bucket: str,
    source_key: str,
    source_version_id: str | None,
    replace_metadata: bool,
    fields: ObjectFields,
    replace_tags: bool,
) -> tuple[Object, Object]:
    """Copy an object (same or another bucket of the sandbox); returns (source, new object)."""
    _check_key(key)
    bucket = get_bucket(sandbox=sandbox, name=bucket_name)
    source = get_object(sandbox=sandbox, bucket_name=source_bucket, key=source_key, version_id=source_version_id)
    same = source.bucket_id == bucket.pk and source.key == key and not source_version_id
    if same and not replace_metadata and bucket.versioning != "Enabled":
        raise exceptions.InvalidRequest(
            "This copy request is illegal because it is trying to copy an object to itself without changing the "
            "object's metadata, storage class, website redirect location or encryption attributes."
        )
    if not replace_metadata:
        fields = ObjectFields(source.content_type, dict(source.metadata), dict(source.headers), fields.tags)
    if not replace_tags:
        fields.tags = list(source.tags)
    _check_quota(sandbox, source.size)
    name, data = _keep_body(sandbox, read_object(source))
    new = _store_version(
        sandbox=sandbox,
        bucket_name=bucket.name,
        key=key,
        size=source.size,
        etag=source.etag,
        fields=fields,
        storage_name=name,
        data=data,
        event_name="s3:ObjectCreated:Copy",
    )
    return source, new


def _listing_rows(bucket: Bucket, prefix: str, after: str) -> Iterator[Object]:
    rows = Object.objects.filter(bucket=bucket, is_latest=True, is_delete_marker=False)
    if prefix:
        rows = rows.filter(key__startswith=prefix)
    if after:
        rows = rows.filter(key__gt=after)
    return rows.order_by("key").iterator(chunk_size=1000)


def list_objects(
    *, sandbox: Sandbox, bucket_name: str, prefix: str = "", delimiter: str = "", max_keys: int = 1000, after: str = ""
) -> tuple[Bucket, logic.ListingPage[Object]]:
    """Current objects of a bucket, keys after ``after`` (marker, StartAfter or continuation)."""
    _refuse_nul(prefix=prefix, marker=after)
    bucket = get_bucket(sandbox=sandbox, name=bucket_name)
    if max_keys < 0:
        raise exceptions.InvalidArgument(
            "Argument maxKeys must be an integer between 0 and 2147483647", ArgumentName="maxKeys"
        )
    page = logic.group_listing(
        _listing_rows(bucket, prefix, after),
        key_of=lambda obj: obj.key,
        prefix=prefix,
        delimiter=delimiter,
        max_keys=min(max_keys, 1000),
        after=after,
    )
    return bucket, page


@dataclass
class VersionsPage:
    versions: list[Object]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None
    next_version_id_marker: str | None


def list_object_versions(
    *,
    sandbox: Sandbox,
    bucket_name: str,
    prefix: str = "",
    delimiter: str = "",
    max_keys: int = 1000,
    key_marker: str = "",
    version_id_marker: str = "",
) -> VersionsPage:
    """Every version and delete marker, by key then newest first, in pages of ``max_keys``."""
    _refuse_nul(prefix=prefix, keyMarker=key_marker, versionIdMarker=version_id_marker)
    bucket = get_bucket(sandbox=sandbox, name=bucket_name)
    rows = Object.objects.filter(bucket=bucket)
    if prefix:
        rows = rows.filter(key__startswith=prefix)
    if key_marker:
        rows = rows.filter(key__gte=key_marker)
    ordered = rows.order_by("key", "-last_modified", "-pk")
    max_keys = max(0, min(max_keys, 1000))
    items: list[Object] = []
    prefixes: list[str] = []
    skipping = bool(key_marker)
    for obj in ordered.iterator(chunk_size=1000):
        if skipping and obj.key == key_marker:
            if version_id_marker and obj.version_id == version_id_marker:
                skipping = False  # the marker itself was on the previous page
            continue
        skipping = False
        if delimiter:
            position = obj.key.find(delimiter, len(prefix))
            if position >= 0:
                rolled = obj.key[: position + len(delimiter)]
                if rolled not in prefixes and rolled != key_marker:
                    if len(items) + len(prefixes) >= max_keys:
                        return VersionsPage(items, prefixes, True, rolled, None)
                    prefixes.append(rolled)
                continue
        if len(items) + len(prefixes) >= max_keys:
            last = items[-1] if items else None
            return VersionsPage(items, prefixes, True, last.key if last else None, last.version_id if last else None)
        items.append(obj)
    return VersionsPage(items, prefixes, False, None, None)


def put_object_tagging(
    *, sandbox: Sandbox, bucket_name: str, key: str, version_id: str | None, tags: list[dict[str, str]]
) -> Object:
    _check_tags(tags)
    if len(tags) > 10:
        raise exceptions.InvalidArgument("Object tags cannot be greater than 10", ArgumentName="TagSet")
    obj = get_object(sandbox=sandbox, bucket_name=bucket_name, key=key, version_id=version_id)
    Object.objects.filter(pk=obj.pk).update(tags=tags)
    return obj


def delete_object_tagging(*, sandbox: Sandbox, bucket_name: str, key: str, version_id: str | None) -> Object:
    obj = get_object(sandbox=sandbox, bucket_name=bucket_name, key=key, version_id=version_id)
    Object.objects.filter(pk=obj.pk).update(tags=[])
    return obj


# --- multipart uploads -----------------------------------------------------------------------


def create_multipart_upload(*, sandbox: Sandbox, bucket_name: str, key: str, fields: ObjectFields) -> MultipartUpload:
    _check_key(key)
    _check_tags(fields.tags)
    bucket = get_bucket(sandbox=sandbox, name=bucket_name)
    return MultipartUpload.objects.create(
        sandbox=sandbox,
        bucket=bucket,
        key=key,
        upload_id=uuid.uuid4().hex + uuid.uuid4().hex,
        content_type=fields.content_type,
        metadata=fields.metadata,
        headers=fields.headers,
        tags=fields.tags,
        initiated=timezone.now(),
    )


def get_upload(*, sandbox: Sandbox, bucket_name: str, key: str, upload_id: str) -> MultipartUpload:
    _refuse_nul(key=key, uploadId=upload_id)
    bucket = get_bucket(sandbox=sandbox, name=bucket_name)
    upload = MultipartUpload.objects.filter(bucket=bucket, key=key, upload_id=upload_id).first()
    if upload is None:
        raise exceptions.NoSuchUpload(upload_id)
    return upload


def upload_part(
    *,
    sandbox: Sandbox,
    bucket_name: str,
    key: str,
    upload_id: str,
    part_number: int,
    body: bytes,
    content_md5: str | None = None,
    md5: Future[str] | None = None,
) -> Part:
    """``md5``: the body's MD5 (hex) if it is being computed already."""
    if not 1 <= part_number <= logic.MAX_PART_NUMBER:
        raise exceptions.InvalidArgument(
            "Part number must be an integer between 1 and 10000, inclusive", ArgumentName="partNumber"
        )
    digest = md5 if md5 is not None else digests.started("md5", body)
    upload = get_upload(sandbox=sandbox, bucket_name=bucket_name, key=key, upload_id=upload_id)
    if content_md5 is not None and not logic.content_md5_matches(content_md5, digest.result()):
        raise exceptions.InvalidDigest()
    _check_quota(sandbox, len(body))
    name, etag = storage.save_bytes(sandbox.pk, body), digest.result()
    try:
        with transaction.atomic():
            _use_bytes(sandbox, len(body), enforce_quota=True)
            replaced = Part.objects.filter(upload=upload, part_number=part_number).first()
            if replaced is not None:
                storage.delete_on_commit([replaced.storage_name])
                replaced.delete()
                _release_bytes(sandbox, replaced.size)
            return Part.objects.create(
                sandbox=sandbox,
                upload=upload,
                part_number=part_number,
                size=len(body),
                etag=etag,
                storage_name=name,
                last_modified=timezone.now(),
            )
    except BaseException:
        storage.delete_now([name])
        raise


def complete_multipart_upload(
    *, sandbox: Sandbox, bucket_name: str, key: str, upload_id: str, parts: list[tuple[int, str]]
) -> Object:
    """Join the listed parts (number, ETag) into the object; every part but the last is >= 5 MiB."""
    upload = get_upload(sandbox=sandbox, bucket_name=bucket_name, key=key, upload_id=upload_id)
    if not parts:
        raise exceptions.MalformedXML("CompleteMultipartUpload needs at least one Part.")
    numbers = [number for number, _ in parts]
    if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
        raise exceptions.InvalidPartOrder()
    stored = {part.part_number: part for part in upload.parts.all()}
    chosen: list[Part] = []
    for number, etag in parts:
        part = stored.get(number)
        if part is None or etag.strip().strip('"') != part.etag:
            raise exceptions.InvalidPart(number)
        chosen.append(part)
    for part in chosen[:-1]:
        if part.size < logic.MIN_PART_BYTES:
            raise exceptions.EntityTooSmall()
    size = sum(part.size for part in chosen)
    limit = max_object_bytes(sandbox)
    if size > limit:
        raise exceptions.EntityTooLarge(size, limit)
    # The joined object briefly coexists with its parts: the quota counts the parts only.
    name = storage.concatenate(sandbox.pk, [part.storage_name for part in chosen])
    fields = ObjectFields(upload.content_type, upload.metadata, upload.headers, upload.tags)
    with transaction.atomic():
        _use_bytes(sandbox, 0)  # an abort or a retried completion waits
        if not MultipartUpload.objects.filter(pk=upload.pk).exists():
            storage.delete_now([name])
            raise exceptions.NoSuchUpload(upload_id)
        obj = _store_version(
            sandbox=sandbox,
            bucket_name=bucket_name,
            key=key,
            size=size,
            etag=logic.multipart_etag([part.etag for part in chosen]),
            fields=fields,
            storage_name=name,
            event_name="s3:ObjectCreated:CompleteMultipartUpload",
            enforce_quota=False,
        )
        _drop_upload(sandbox, upload)
    return obj


def _drop_upload(sandbox: Sandbox, upload: MultipartUpload) -> None:
    """Delete an upload and its parts (their bytes after commit); the caller holds the usage lock."""
    parts = list(upload.parts.values_list("storage_name", "size"))
    storage.delete_on_commit([name for name, _ in parts])
    upload.delete()
    _release_bytes(sandbox, sum(size for _, size in parts))


def abort_multipart_upload(*, sandbox: Sandbox, bucket_name: str, key: str, upload_id: str) -> None:
    with transaction.atomic():
        _use_bytes(sandbox, 0)
        _drop_upload(sandbox, get_upload(sandbox=sandbox, bucket_name=bucket_name, key=key, upload_id=upload_id))


def list_parts(
    *, sandbox: Sandbox, bucket_name: str, key: str, upload_id: str, max_parts: int = 1000, marker: int = 0
) -> tuple[MultipartUpload, list[Part], bool]:
    upload = get_upload(sandbox=sandbox, bucket_name=bucket_name, key=key, upload_id=upload_id)
    max_parts = max(0, min(max_parts, 1000))
    parts = list(upload.parts.filter(part_number__gt=marker).order_by("part_number")[: max_parts + 1])
    return upload, parts[:max_parts], len(parts) > max_parts


def list_multipart_uploads(
    *, sandbox: Sandbox, bucket_name: str, prefix: str = "", max_uploads: int = 1000, key_marker: str = ""
) -> tuple[list[MultipartUpload], bool]:
    _refuse_nul(prefix=prefix, keyMarker=key_marker)
    bucket = get_bucket(sandbox=sandbox, name=bucket_name)
    rows = MultipartUpload.objects.filter(bucket=bucket)
    if prefix:
        rows = rows.filter(key__startswith=prefix)
    if key_marker:
        rows = rows.filter(key__gt=key_marker)
    max_uploads = max(0, min(max_uploads, 1000))
    uploads = list(rows.order_by("key", "initiated")[: max_uploads + 1])
    return uploads[:max_uploads], len(uploads) > max_uploads
