"""The per-process function cache of a synchronous invoke and the sandbox's configuration token that
vouches for it (checked in the lease script), and the worker's answer when the function is gone."""

from __future__ import annotations

import json
from typing import Any

import pytest

from serverless_lab.cloud.lambda_ import backend, blueprints, cache, code, coordination
from serverless_lab.runtime import services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> Any:
    if not settings.REDIS_URL:
        pytest.skip("the configuration token lives in Redis")
    settings.MEDIA_ROOT = str(tmp_path)
    code.code_storage.cache_clear()
    yield
    code.code_storage.cache_clear()


def create(cast: Any, name: str = "cached") -> Any:
    return backend.create_function(
        sandbox=cast.sandbox,
        name=name,
        runtime="python3.12",
        role=f"arn:aws:iam::{cast.sandbox.account_id}:role/r",
        handler="app.handler",
        zip_bytes=blueprints.zip_single_file("app.py", "def handler(e, c):\n    return 1\n"),
    )


def lease(cast: Any, function: Any, lease_id: str, token: str | None) -> str | None:
    return coordination.acquire_lease(
        sandbox_id=cast.sandbox.pk,
        function_id=function.pk,
        lease_id=lease_id,
        sandbox_limit=10,
        reserved=None,
        timeout_s=3,
        config_token=token,
    )


def release(cast: Any, function: Any, lease_id: str) -> None:
    coordination.release_lease(sandbox_id=cast.sandbox.pk, function_id=function.pk, lease_id=lease_id)


def test_a_change_of_a_function_replaces_the_sandboxs_token(cast):
    function = create(cast)
    token = coordination.config_token(cast.sandbox.pk)
    assert coordination.config_token(cast.sandbox.pk) == token
    backend.put_function_concurrency(sandbox=cast.sandbox, function_name="cached", reserved=2)
    assert coordination.config_token(cast.sandbox.pk) != token
    token = coordination.config_token(cast.sandbox.pk)
    backend.delete_function_concurrency(sandbox=cast.sandbox, function_name="cached")  # a save, not an update()
    assert coordination.config_token(cast.sandbox.pk) != token
    token = coordination.config_token(cast.sandbox.pk)
    function.delete()
    assert coordination.config_token(cast.sandbox.pk) != token


def test_a_lease_with_a_stale_token_is_refused_and_takes_no_slot(cast):
    function = create(cast)
    stale = coordination.config_token(cast.sandbox.pk)
    backend.update_function_configuration(sandbox=cast.sandbox, function_name="cached", changes={"timeout_s": 5})
    assert lease(cast, function, "r1", stale) == coordination.STALE_CONFIG
    assert coordination._client().zcard(coordination._lease_keys(cast.sandbox.pk, function.pk)[1]) == 0
    current = coordination.config_token(cast.sandbox.pk)
    try:
        assert lease(cast, function, "r1", current) is None
        assert coordination._client().zcard(coordination._lease_keys(cast.sandbox.pk, function.pk)[1]) == 1
    finally:
        release(cast, function, "r1")


def test_a_lease_queues_its_message_only_when_it_takes_the_slot(cast):
    function = create(cast)
    client = coordination._client()
    queue = coordination._key("unit-queue", function.pk)
    token = coordination.config_token(cast.sandbox.pk)

    def take(lease_id: str, reserved: int | None, config_token: str | None) -> str | None:
        return coordination.acquire_lease(
            sandbox_id=cast.sandbox.pk, function_id=function.pk, lease_id=lease_id, sandbox_limit=10,
            reserved=reserved, timeout_s=3, config_token=config_token, enqueue=(queue, f"message {lease_id}"),
        )  # fmt: skip

    try:
        assert take("q1", 1, token) is None
        assert take("q2", 1, token) == coordination.THROTTLED_RESERVED
        assert take("q3", None, "stale") == coordination.STALE_CONFIG
        assert client.lrange(queue, 0, -1) == [b"message q1"]
    finally:
        release(cast, function, "q1")
        client.delete(queue)


def test_resolve_reads_the_database_once_until_told_to_reload(cast, django_assert_num_queries):
    create(cast)
    target, token = cache.resolve(sandbox=cast.sandbox, function_name="cached", qualifier=None)
    with django_assert_num_queries(0):
        again, same = cache.resolve(sandbox=cast.sandbox, function_name="cached", qualifier=None)
    assert (again, same) == (target, token)
    backend.update_function_configuration(sandbox=cast.sandbox, function_name="cached", changes={"memory_mb": 256})
    reloaded, new = cache.resolve(sandbox=cast.sandbox, function_name="cached", qualifier=None, reload=True)
    assert new != token and reloaded.config.memory_mb == 256


def test_the_workers_copy_is_used_only_under_the_same_token(cast, django_assert_num_queries):
    function = create(cast)
    token = coordination.config_token(cast.sandbox.pk)
    cache.function_config(function_id=function.pk, version="$LATEST", token=token)
    with django_assert_num_queries(0):
        cache.function_config(function_id=function.pk, version="$LATEST", token=token)
    backend.update_function_configuration(sandbox=cast.sandbox, function_name="cached", changes={"timeout_s": 9})
    _, config = cache.function_config(
        function_id=function.pk, version="$LATEST", token=coordination.config_token(cast.sandbox.pk)
    )
    assert config.timeout_s == 9


def test_a_function_deleted_before_its_worker_runs_it_is_answered_and_frees_its_slot(cast):
    function = create(cast)
    token = coordination.config_token(cast.sandbox.pk)
    assert lease(cast, function, "gone-1", None) is None
    function_id = function.pk
    function.delete()
    request = {
        "sandbox_id": cast.sandbox.pk,
        "function_id": function_id,
        "version": "$LATEST",
        "config_token": token,
        "request_id": "gone-1",
        "trace_header": "Root=1-00000000-000000000000000000000000",
        "accepted_at": 0.0,
    }
    services.run_request_response(request, b"{}", client_context=None)
    client = coordination._client()
    assert client.zcard(coordination._lease_keys(cast.sandbox.pk, function_id)[1]) == 0
    posted = json.loads(client.lpop(coordination._result_key("gone-1")))
    assert posted == {"lab_error": "The function was deleted before it could run."}


@pytest.mark.django_db(transaction=True)
def test_the_worker_inserts_a_row_in_one_trip_and_survives_its_function_being_gone(cast):
    from django.db import connection
    from django.utils import timezone

    from serverless_lab.cloud.lambda_.models import Function, Invocation
    from serverless_lab.runtime.environment import InvokeResult

    function = create(cast)
    fields = {"sandbox": cast.sandbox, "function": function, "version": "$LATEST", "memory_mb": 128}
    accepted = timezone.now()
    kept = Invocation(request_id="kept-1", created_at=accepted, started_at=accepted, **fields)
    result = InvokeResult(
        request_id="kept-1", payload=b"1", function_error=None, error_type=None, duration_ms=1.0,
        billed_duration_ms=1, max_memory_used_mb=30, init_duration_ms=None, cold=False, status="ok", log="x\n",
    )  # fmt: skip
    services.invocation_complete(kept, result, log_stream="s")
    row = Invocation.objects.get(request_id="kept-1")
    assert (row.status, row.created_at, row.log_text) == ("succeeded", accepted, "x\n")
    again = Invocation(request_id="kept-2", created_at=accepted, started_at=accepted, **fields)
    services.invocation_complete(again, result, log_stream="s2")  # the statement compiled for kept-1
    row = Invocation.objects.get(request_id="kept-2")
    assert (row.function_id, row.status, row.max_memory_used_mb, row.log_stream) == (function.pk, "succeeded", 30, "s2")

    lost = Invocation(request_id="lost-1", created_at=accepted, started_at=accepted, **fields)
    Function.objects.filter(pk=function.pk).delete()
    services.invocation_complete(lost, result, log_stream="s")  # logged, not raised
    assert not Invocation.objects.filter(request_id="lost-1").exists()
    assert not connection.in_atomic_block and Invocation.objects.count() == 0  # the connection is usable
