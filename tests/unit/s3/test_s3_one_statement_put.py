"""PutObject outside a transaction: on PostgreSQL one guarded statement in the common case, the usual
transaction otherwise; either way the same objects, errors, usage and notifications. On SQLite every
put goes the usual way, and the same scenarios check it."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from serverless_lab.cloud.s3 import backend, exceptions, storage
from serverless_lab.cloud.s3.models import Object, Usage

pytestmark = pytest.mark.django_db(transaction=True)

SMALL, LARGE = b"s" * 1024, bytes(range(256)) * (backend.INLINE_MAX_BYTES // 256 + 1)
postgresql_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the one-statement path is PostgreSQL's")


@pytest.fixture
def sandbox(cast: Any) -> Any:
    backend.create_bucket(sandbox=cast.sandbox, name="one-statement", region="us-east-1")
    return cast.sandbox


def files(root: Path) -> list[Path]:
    """The stored files, once replaced and deleted objects' files are gone (in the background)."""
    storage.settle()
    return [path for path in root.rglob("*") if path.is_file()]


def put(sandbox: Any, key: str, body: bytes, **options: Any) -> Object:
    options.setdefault("fields", backend.ObjectFields())
    return backend.put_object(sandbox=sandbox, bucket_name=options.pop("bucket", "one-statement"), key=key, body=body, **options)


def traced_put(sandbox: Any, key: str, body: bytes, **options: Any) -> tuple[Object, list[str]]:
    """The put's result and the SQL it ran."""
    with CaptureQueriesContext(connection) as queries:
        obj = put(sandbox, key, body, **options)
    return obj, [query["sql"] for query in queries.captured_queries]


def summed(sandbox: Any) -> int:
    return Object.objects.filter(sandbox=sandbox).aggregate(total=Sum("size"))["total"] or 0


def read(sandbox: Any, key: str) -> bytes:
    return backend.read_object(backend.get_object(sandbox=sandbox, bucket_name="one-statement", key=key))


def one_statement() -> bool:
    return connection.vendor == "postgresql"


def test_a_put_into_a_plain_bucket_is_one_statement_and_stores_everything(sandbox, media):
    put(sandbox, "first", b"x")  # the sandbox's first write makes its usage row, the usual way
    fields = backend.ObjectFields(
        content_type="text/plain", metadata={"owner": "alice"}, headers={"CacheControl": "no-cache"},
        tags=[{"Key": "team", "Value": "lab"}],
    )
    for key, body in (("small", SMALL), ("large", LARGE)):
        obj, queries = traced_put(sandbox, key, body, fields=fields)
        if one_statement():  # a large body's statement runs while its file is fsynced, then commits
            assert [query.split()[0] for query in queries] == (["EXECUTE"] if body is SMALL else ["BEGIN", "EXECUTE", "COMMIT"])
        stored = backend.get_object(sandbox=sandbox, bucket_name="one-statement", key=key)
        assert (stored.pk, stored.etag, stored.version_id) == (obj.pk, hashlib.md5(body).hexdigest(), "null")
        assert (stored.content_type, stored.metadata, stored.headers, stored.tags) == (
            "text/plain", {"owner": "alice"}, {"CacheControl": "no-cache"}, [{"Key": "team", "Value": "lab"}]
        )
        assert stored.is_latest and read(sandbox, key) == body
    assert len(files(media)) == 1
    assert backend.storage_used(sandbox) == summed(sandbox) == 1 + len(SMALL) + len(LARGE)


def test_replacing_a_key_counts_the_new_bytes_once_and_deletes_a_replaced_file(sandbox, media):
    put(sandbox, "seed", b"x")
    for body in (b"a" * 100, b"b" * 40, LARGE, LARGE[:-1], SMALL, b""):
        put(sandbox, "key", body)
        assert read(sandbox, "key") == body
        assert backend.storage_used(sandbox) == summed(sandbox) == 1 + len(body)
        assert len(files(media)) == (1 if len(body) > backend.INLINE_MAX_BYTES else 0)
    assert Object.objects.filter(key="key").count() == 1


def test_a_versioned_bucket_goes_the_usual_way_and_keeps_every_version(sandbox):
    put(sandbox, "seed", b"x")
    backend.put_bucket_versioning(sandbox=sandbox, name="one-statement", status="Enabled")
    first, queries = traced_put(sandbox, "key", b"a" * 10)
    second = put(sandbox, "key", b"b" * 20)
    if one_statement():
        assert len(queries) > 1
    assert first.version_id != second.version_id != "null"
    assert sorted(Object.objects.filter(key="key").values_list("size", "is_latest")) == [(10, False), (20, True)]
    backend.put_bucket_versioning(sandbox=sandbox, name="one-statement", status="Suspended")
    put(sandbox, "key", b"c" * 30)  # a suspended bucket writes the "null" version, still the usual way
    assert sorted(Object.objects.filter(key="key").values_list("version_id", "size", "is_latest"))[-1] == (
        "null", 30, True
    )
    assert backend.storage_used(sandbox) == summed(sandbox) == 1 + 10 + 20 + 30


@pytest.mark.parametrize("body", [b"q" * 41, LARGE], ids=["small", "large"])
def test_a_put_over_the_quota_is_refused_and_keeps_nothing(sandbox, media, body):
    sandbox.max_storage_bytes = 100 + len(body) - 41
    put(sandbox, "a", b"x" * 60)
    with pytest.raises(exceptions.QuotaExceeded) as caught:
        put(sandbox, "b", body)
    assert caught.value.code == "QuotaExceeded" and caught.value.status == 403
    assert list(Object.objects.values_list("key", flat=True)) == ["a"] and files(media) == []
    assert backend.storage_used(sandbox) == summed(sandbox) == 60
    put(sandbox, "b", body[:-1])  # exactly at the quota
    assert backend.storage_used(sandbox) == summed(sandbox) == sandbox.max_storage_bytes


def test_a_large_body_that_cannot_be_made_durable_is_kept_nowhere(sandbox, media, monkeypatch):
    """On PostgreSQL the statement runs while the file is fsynced: a failed fsync rolls it back."""
    put(sandbox, "seed", b"x")

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("os.fsync", failing_fsync)
    with pytest.raises(OSError):
        put(sandbox, "large", LARGE)
    monkeypatch.undo()
    assert list(Object.objects.values_list("key", flat=True)) == ["seed"] and files(media) == []
    assert backend.storage_used(sandbox) == summed(sandbox) == 1


@postgresql_only
def test_a_failed_statement_removes_the_file_written_beside_it(sandbox, media, monkeypatch):
    """The file is written on another thread while the statement runs; when the statement fails,
    the file is removed once its write has ended, never left behind by a write still going on."""
    put(sandbox, "seed", b"x")

    def failing_statement(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(backend, "_put_in_one_statement", failing_statement)
    with pytest.raises(RuntimeError):
        put(sandbox, "large", LARGE)
    assert files(media) == []


@pytest.mark.parametrize("body", [SMALL, LARGE], ids=["small", "large"])
def test_a_statement_that_breaks_a_constraint_leaves_the_put_to_the_usual_way(sandbox, media, body):
    """A latest version other than "null" in a bucket never versioned cannot come from the API; the
    statement's insert then breaks the one-latest constraint, and the usual path sorts it out."""
    from django.utils import timezone

    put(sandbox, "seed", b"x")
    bucket = backend.get_bucket(sandbox=sandbox, name="one-statement")
    Object.objects.create(sandbox=sandbox, bucket=bucket, key="key", version_id="v1", last_modified=timezone.now())
    obj = put(sandbox, "key", body)
    assert (obj.version_id, read(sandbox, "key")) == ("null", body)
    assert sorted(Object.objects.filter(key="key").values_list("version_id", "is_latest")) == [
        ("null", True), ("v1", False)
    ]
    assert backend.storage_used(sandbox) == summed(sandbox) == 1 + len(body)
    assert len(files(media)) == (1 if body is LARGE else 0)


def test_the_usual_errors_in_the_usual_order_and_nothing_stored(cast, sandbox, media):
    from serverless_lab.sandboxes.services import sandbox_create

    put(sandbox, "seed", b"x")
    other = sandbox_create(owner=cast.bob, name="bob-sandbox")
    backend.create_bucket(sandbox=other, name="bobs-bucket", region="us-east-1")
    wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    for body in (SMALL, LARGE):
        with pytest.raises(exceptions.NoSuchBucket):
            put(sandbox, "k", body, bucket="no-such-bucket")
        with pytest.raises(exceptions.AccessDenied):
            put(sandbox, "k", body, bucket="bobs-bucket")
        with pytest.raises(exceptions.NoSuchBucket):  # the bucket's error before Content-MD5's
            put(sandbox, "k", body, bucket="no-such-bucket", content_md5=wrong_md5)
        with pytest.raises(exceptions.InvalidDigest):
            put(sandbox, "k", body, content_md5=wrong_md5)
    assert list(Object.objects.values_list("key", flat=True)) == ["seed"] and files(media) == []
    assert backend.storage_used(sandbox) == 1 and backend.storage_used(other) == 0


@postgresql_only
def test_a_write_committed_while_the_statement_waits_sends_the_put_the_usual_way(sandbox):
    """The guard: the statement read the key's old size from a snapshot taken before another S3
    write of the sandbox committed; it must not apply (it would count the replaced bytes wrongly)."""
    import psycopg

    put(sandbox, "key", b"a" * 100)
    settings = connection.settings_dict
    other = psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], password=settings["PASSWORD"] or None,
        host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
    )
    outcome: dict[str, Any] = {}

    def racer() -> None:
        try:
            outcome["obj"] = put(sandbox, "key", b"b" * 40)
        finally:
            connections.close_all()

    try:
        # Another writer holds the usage lock, as every S3 write does first...
        other.execute(f"UPDATE {Usage._meta.db_table} SET bytes = bytes + 0 WHERE sandbox_id = %s", [sandbox.pk])
        thread = threading.Thread(target=racer)
        thread.start()
        waiting = 0
        for _ in range(200):  # ...until the racing put's statement waits for it
            other.execute("SELECT pg_stat_clear_snapshot()")  # else the transaction sees its first snapshot
            waiting = other.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
                ["EXECUTE lab_s3_put%"],
            ).fetchone()[0]
            if waiting:
                break
            time.sleep(0.05)
        assert waiting == 1
        # ...and replaces the key (100 -> 70 bytes) before committing.
        other.execute(f"UPDATE {Object._meta.db_table} SET size = 70 WHERE sandbox_id = %s AND key = 'key'", [sandbox.pk])
        other.execute(f"UPDATE {Usage._meta.db_table} SET bytes = bytes - 30 WHERE sandbox_id = %s", [sandbox.pk])
        other.commit()
        thread.join(timeout=30)
    finally:
        other.close()
    assert outcome["obj"].size == 40 and read(sandbox, "key") == b"b" * 40
    assert backend.storage_used(sandbox) == summed(sandbox) == 40


def concurrently(calls: list[Any]) -> list[str]:
    def run(call: Any) -> str:
        try:
            call()
        except exceptions.S3Error as error:
            return error.code
        finally:
            connections.close_all()
        return "ok"

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


@postgresql_only
def test_concurrent_puts_keep_the_quota_exact(sandbox):
    put(sandbox, "seed", b"x" * 100)
    sandbox.max_storage_bytes = 600
    outcomes = concurrently([lambda i=i: put(sandbox, f"racer-{i}", b"r" * 100) for i in range(12)])
    assert sorted(outcomes) == ["QuotaExceeded"] * 7 + ["ok"] * 5
    assert Object.objects.count() == 6
    assert backend.storage_used(sandbox) == summed(sandbox) == 600


@postgresql_only
def test_concurrent_replacements_of_one_key_keep_the_usage_exact(sandbox, media):
    put(sandbox, "seed", b"x")
    bodies = [bytes([65 + i]) * (10 * (i + 1)) for i in range(6)] + [LARGE, LARGE[:-7]]
    for _ in range(3):
        assert set(concurrently([lambda body=body: put(sandbox, "key", body) for body in bodies])) == {"ok"}
        assert read(sandbox, "key") in bodies
        assert backend.storage_used(sandbox) == summed(sandbox) == 1 + len(read(sandbox, "key"))
        assert len(files(media)) == (1 if len(read(sandbox, "key")) > backend.INLINE_MAX_BYTES else 0)


def test_notifications_still_fire(sandbox):
    from celery import current_app

    from serverless_lab.cloud.sqs import backend as sqs_backend
    from serverless_lab.cloud.sqs.models import Message

    put(sandbox, "seed", b"x")
    queue = sqs_backend.create_queue(sandbox=sandbox, name="uploads", attributes={}, tags={})
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    try:
        backend.put_bucket_notification_configuration(
            sandbox=sandbox,
            name="one-statement",
            configuration={
                "QueueConfigurations": [
                    {"QueueArn": sqs_backend.queue_arn_of(queue), "Events": ["s3:ObjectCreated:*"]}
                ]
            },
        )
        for key, body in (("small", SMALL), ("large", LARGE)):
            _, queries = traced_put(sandbox, key, body)
            if one_statement():  # the statement wrote (the usual way would lock the usage row again)
                assert sum(Usage._meta.db_table in query or query.startswith("EXECUTE lab_s3_put") for query in queries) == 1
    finally:
        current_app.conf.task_always_eager = eager
    bodies = [json.loads(body) for body in Message.objects.filter(queue=queue).order_by("pk").values_list("body", flat=True)]
    assert bodies[0]["Event"] == "s3:TestEvent"
    records = [body["Records"][0] for body in bodies[1:]]
    assert [(r["eventName"], r["s3"]["object"]["key"], r["s3"]["object"]["size"]) for r in records] == [
        ("ObjectCreated:Put", "small", len(SMALL)),
        ("ObjectCreated:Put", "large", len(LARGE)),
    ]
    assert records[0]["s3"]["object"]["eTag"] == hashlib.md5(SMALL).hexdigest()


def _broker_down() -> None:
    raise RuntimeError("the broker is down")


@postgresql_only
def test_a_put_that_fails_after_its_commit_keeps_its_bytes(sandbox, media, monkeypatch):
    """An event queued after the commit can fail (its broker down): the object is committed by then,
    so its file must stay."""
    from django.db import transaction

    put(sandbox, "seed", b"x")
    real = backend._put_in_one_statement

    def then_fail(*args: Any, **kwargs: Any) -> Any:
        obj = real(*args, **kwargs)
        transaction.on_commit(_broker_down)
        return obj

    monkeypatch.setattr(backend, "_put_in_one_statement", then_fail)
    with pytest.raises(RuntimeError):
        put(sandbox, "large", LARGE)
    monkeypatch.undo()
    assert read(sandbox, "large") == LARGE and len(files(media)) == 1


def test_a_file_streamed_while_the_body_arrived_becomes_the_objects_or_goes(sandbox, media):
    from serverless_lab.cloud.s3.storage import StreamedFile

    put(sandbox, "seed", b"x")

    def streamed() -> StreamedFile:
        stored = StreamedFile(sandbox.pk)
        stored.feed(LARGE)
        stored.finish()
        return stored

    stored = streamed()
    obj = put(sandbox, "large", LARGE, stored=stored)
    assert obj.storage_name == stored.name and stored.referenced and read(sandbox, "large") == LARGE
    stored.discard()  # what the endpoint does at the end of every request: put_object took it over
    refused = streamed()
    with pytest.raises(exceptions.NoSuchBucket):
        put(sandbox, "large", LARGE, stored=refused, bucket="no-such-bucket")
    refused.discard()
    assert [path.name for path in files(media)] == [stored.name.rsplit("/", 1)[1]]


@postgresql_only
def test_the_statement_is_prepared_once_per_connection(sandbox):
    put(sandbox, "seed", b"x")
    connection.close()  # a new connection has no prepared statement yet
    _, first = traced_put(sandbox, "a", b"1")
    _, second = traced_put(sandbox, "b", b"2")
    assert [query.split()[0] for query in first] == ["PREPARE", "EXECUTE"]
    assert [query.split()[0] for query in second] == ["EXECUTE"]
    assert [read(sandbox, key) for key in ("a", "b")] == [b"1", b"2"]
