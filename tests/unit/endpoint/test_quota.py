"""The rate quota's windows (cloud/endpoint/quota.py): counted in the process, shared through Redis."""
from __future__ import annotations

import time

import pytest
from django.conf import settings

from serverless_lab.cloud.endpoint import quota
from serverless_lab.ops.redis_pool import shared_client


@pytest.fixture
def key() -> str:
    return f"AKIAQUOTA{time.monotonic_ns() % 10**11:011d}"


@pytest.fixture
def same_second() -> None:
    """Start at the beginning of a second, so a test's calls share one window."""
    time.sleep(1 - time.time() % 1 + 0.01)


def test_the_process_counts_its_own_requests_exactly(key, same_second):
    outcomes = [quota.over_quota(key, 3) for _ in range(5)]
    assert outcomes == [False, False, False, True, True]


def test_counts_are_shared_with_other_processes_through_redis(key, same_second):
    assert not quota.over_quota(key, 5)
    quota.flush()
    second = int(time.time())
    redis = shared_client(settings.REDIS_URL)
    assert int(redis.get(quota.redis_key(key, second))) == 1
    assert redis.ttl(quota.redis_key(key, second)) > 0
    redis.incrby(quota.redis_key(key, second), 4)  # another server process's four requests
    quota.flush()  # nothing new here: what the others counted arrives with the next flush
    assert not quota.over_quota(key, 5)  # 1 + 1 counted here, the others' 4 not read yet
    quota.flush()
    assert int(redis.get(quota.redis_key(key, second))) == 6
    assert quota.over_quota(key, 5)


def test_the_flusher_thread_shares_counts_by_itself(key, same_second):
    quota.over_quota(key, 100)
    redis = shared_client(settings.REDIS_URL)
    deadline = time.monotonic() + 0.9
    while redis.get(quota.redis_key(key, int(time.time()))) is None and time.monotonic() < deadline:
        time.sleep(quota.FLUSH_S)
    assert redis.get(quota.redis_key(key, int(time.time()))) == b"1"


def test_a_new_second_starts_a_new_window(key, same_second):
    assert [quota.over_quota(key, 1) for _ in range(2)] == [False, True]
    time.sleep(1.0)
    assert not quota.over_quota(key, 1)


def test_a_redis_that_is_down_leaves_the_local_count(key, same_second, settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert not quota.over_quota(key, 1)
    quota.flush()
    assert "could not share" in caplog.text
    assert quota.over_quota(key, 1)
