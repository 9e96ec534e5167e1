"""The endpoint's sandbox cache (sandboxes/keycache.py): versions, copies, and a Redis that is down."""
from __future__ import annotations

import logging

import pytest

from serverless_lab.sandboxes import keycache
from serverless_lab.sandboxes.services import sandbox_create

pytestmark = pytest.mark.django_db


def test_an_entry_is_used_only_at_the_version_it_was_read_at(cast, django_assert_num_queries):
    key = cast.sandbox.access_key_id
    first = keycache.lookup(key, b"7")
    with django_assert_num_queries(0):
        again = keycache.lookup(key, b"7")
    assert again == first and again is not first  # each caller gets its own copy
    with django_assert_num_queries(1):
        assert keycache.lookup(key, b"8").pk == cast.sandbox.pk


def test_an_unknown_key_is_asked_again_each_time(cast, django_assert_num_queries):
    assert keycache.lookup("AKIANOSUCHKEY0000000", None) is None
    with django_assert_num_queries(1):
        assert keycache.lookup("AKIANOSUCHKEY0000000", None) is None
    other = sandbox_create(owner=cast.charlie, name="later")
    with django_assert_num_queries(1):
        assert keycache.lookup(other.access_key_id, None).pk == other.pk


def test_a_change_committed_while_redis_is_down_does_not_fail(settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="serverless_lab.sandboxes.keycache"):
        keycache._bump("AKIAEXAMPLE000000000")
    assert "could not invalidate" in caplog.text
