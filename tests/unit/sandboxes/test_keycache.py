"""The endpoint's sandbox cache (sandboxes/keycache.py): invalidations, copies, a broken subscription
and a Redis that is down."""
from __future__ import annotations

import logging
import os
import time

import pytest
from django.conf import settings

from serverless_lab.ops.redis_pool import shared_client
from serverless_lab.sandboxes import keycache
from serverless_lab.sandboxes.services import sandbox_create

pytestmark = pytest.mark.django_db


def _arrived(key: str) -> None:
    """Wait until this process has taken in the invalidation of ``key`` (Redis delivers it at once;
    the poll happens on the next lookup)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with keycache._lock:
            keycache._apply_invalidations()
            if key not in keycache._entries:
                return
        time.sleep(0.01)
    raise AssertionError(f"the invalidation of {key} never arrived")


def test_an_entry_is_used_until_its_sandbox_changes(cast, django_assert_num_queries, django_capture_on_commit_callbacks):
    key = cast.sandbox.access_key_id
    first = keycache.lookup(key)
    with django_assert_num_queries(0):
        again = keycache.lookup(key)
    assert again == first and again is not first  # each caller gets its own copy
    assert again._state is not first._state and again.owner == cast.alice
    with django_capture_on_commit_callbacks(execute=True):
        cast.sandbox.max_requests_per_second = 7
        cast.sandbox.save(update_fields=["max_requests_per_second"])
    _arrived(key)
    with django_assert_num_queries(1):
        assert keycache.lookup(key).max_requests_per_second == 7
    with django_assert_num_queries(0):
        assert keycache.lookup(key).max_requests_per_second == 7


def test_a_rename_of_the_owner_invalidates_their_sandboxes(cast, django_assert_num_queries, django_capture_on_commit_callbacks):
    key = cast.sandbox.access_key_id
    keycache.lookup(key)
    with django_capture_on_commit_callbacks(execute=True):
        cast.alice.username = "alice-renamed"
        cast.alice.save()
    _arrived(key)
    with django_assert_num_queries(1):
        assert keycache.lookup(key).owner.username == "alice-renamed"


def test_an_unknown_key_is_asked_again_each_time(cast, django_assert_num_queries):
    assert keycache.lookup("AKIANOSUCHKEY0000000") is None
    with django_assert_num_queries(1):
        assert keycache.lookup("AKIANOSUCHKEY0000000") is None
    other = sandbox_create(owner=cast.charlie, name="later")
    with django_assert_num_queries(1):
        assert keycache.lookup(other.access_key_id).pk == other.pk


def test_a_row_read_while_its_change_arrives_is_not_cached(cast, monkeypatch, django_assert_num_queries):
    """The race the generation counter closes: a lookup reads the old row from the database, the
    change commits and its message arrives before the lookup stores what it read."""
    key = cast.sandbox.access_key_id
    read = keycache.lookup_uncached

    def read_then_change(access_key_id: str):
        row = read(access_key_id)
        keycache._publish_change(access_key_id)
        deadline = time.monotonic() + 5
        while not keycache._sub.pubsub.connection.can_read(timeout=0.01) and time.monotonic() < deadline:
            pass
        return row

    monkeypatch.setattr(keycache, "lookup_uncached", read_then_change)
    assert keycache.lookup(key).pk == cast.sandbox.pk
    monkeypatch.setattr(keycache, "lookup_uncached", read)
    with django_assert_num_queries(1):  # not served from the cache
        keycache.lookup(key)


def test_a_lost_subscription_empties_the_cache_until_a_new_one_is_confirmed(cast, django_assert_num_queries, caplog, monkeypatch):
    monkeypatch.setattr(keycache, "RESUBSCRIBE_AFTER_S", 0.0)
    key = cast.sandbox.access_key_id
    keycache.lookup(key)
    redis = shared_client(settings.REDIS_URL)
    mine = [c for c in redis.client_list(_type="pubsub") if c["name"] == f"lab-sandbox-cache-{os.getpid()}"]
    assert len(mine) == 1
    redis.client_kill_filter(_id=mine[0]["id"])
    with caplog.at_level(logging.WARNING, logger="serverless_lab.sandboxes.keycache"):
        with django_assert_num_queries(1):  # whatever was published meanwhile may be lost: the database answers
            assert keycache.lookup(key).pk == cast.sandbox.pk
    assert "lost the sandbox cache's subscription" in caplog.text
    keycache.lookup(key)  # subscribed again, and cached again
    with django_assert_num_queries(0):
        assert keycache.lookup(key).pk == cast.sandbox.pk


def test_without_a_subscription_lookups_still_answer(cast, settings, caplog, monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(keycache._sub, "pubsub", None)
    monkeypatch.setattr(keycache._sub, "retry_at", 0.0)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="serverless_lab.sandboxes.keycache"):
        for _ in range(2):
            with django_assert_num_queries(1):
                assert keycache.lookup(cast.sandbox.access_key_id).pk == cast.sandbox.pk
    assert caplog.text.count("could not subscribe") == 1  # tried again only after RESUBSCRIBE_AFTER_S


def test_a_change_committed_while_redis_is_down_does_not_fail(settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="serverless_lab.sandboxes.keycache"):
        keycache._publish_change("AKIAEXAMPLE000000000")
    assert "could not invalidate" in caplog.text
