"""A per-process cache of sandboxes by access key, for the AWS endpoint's every request.

Looking a sandbox up by its key through the ORM cost more CPU than anything else a simple AWS call
does (compiling the query, not running it). Each cached entry carries the sandbox's *version*, a
counter in Redis that is bumped whenever the row is saved or deleted, after the transaction
commits. The endpoint reads that counter in the Redis round trip it already makes for the rate
quota, so an entry is only used while it is provably current: a deleted sandbox's key stops working
on the next request, from any process. The bump follows the commit, so a request racing a change
can at worst cache the old row under the old version, which the bump then invalidates.

Entries also expire after ``MAX_AGE_S``, which bounds what a Redis that lost its keys (a restart
between a change and the next request) could leave stale. Without Redis there is no cache.
"""
from __future__ import annotations

import copy
import logging
import threading
import time
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from serverless_lab.ops.redis_pool import shared_client

from .models import Sandbox

logger = logging.getLogger(__name__)
MAX_AGE_S = 60.0
MAX_ENTRIES = 4096

_lock = threading.Lock()
_entries: dict[str, tuple[bytes | None, float, Sandbox]] = {}


def version_key(access_key_id: str) -> str:
    """The Redis key of the version counter of the sandbox with this access key."""
    return f"{settings.REDIS_PREFIX}:sandbox-version:{access_key_id}"


def lookup(access_key_id: str, version: bytes | None) -> Sandbox | None:
    """The sandbox with this key, from the cache when it was cached at ``version`` (the counter's
    current value, read by the caller), else from the database. Each caller gets its own copy."""
    now = time.monotonic()
    entry = _entries.get(access_key_id)
    if entry is not None and entry[0] == version and now - entry[1] < MAX_AGE_S:
        return copy.copy(entry[2])
    sandbox = lookup_uncached(access_key_id)
    with _lock:
        if sandbox is None:
            _entries.pop(access_key_id, None)
            return None
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[access_key_id] = (version, now, sandbox)
    return copy.copy(sandbox)


def lookup_uncached(access_key_id: str) -> Sandbox | None:
    return Sandbox.objects.select_related("owner").filter(access_key_id=access_key_id).first()


def _bump(access_key_id: str) -> None:
    try:
        shared_client(settings.REDIS_URL).incr(version_key(access_key_id))
    except redis.RedisError:  # the change is committed; caches then catch up within MAX_AGE_S
        logger.warning("could not invalidate the cached sandbox of key %s", access_key_id, exc_info=True)


def _changed(sender: type[Sandbox], instance: Sandbox, **kwargs: Any) -> None:
    if settings.REDIS_URL:
        access_key_id = instance.access_key_id
        transaction.on_commit(lambda: _bump(access_key_id), using=kwargs.get("using") or "default")


def _owner_changed(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """A cached sandbox carries its owner (the caller ARN names them): a user's save that may have
    renamed them invalidates their sandboxes (a login's ``last_login`` update does not)."""
    if settings.REDIS_URL and (update_fields is None or get_user_model().USERNAME_FIELD in update_fields):
        keys = list(Sandbox.objects.filter(owner_id=instance.pk).values_list("access_key_id", flat=True))
        transaction.on_commit(lambda: [_bump(key) for key in keys], using=kwargs.get("using") or "default")


post_save.connect(_changed, sender=Sandbox, dispatch_uid="sandbox-keycache-save")
post_save.connect(_owner_changed, sender=settings.AUTH_USER_MODEL, dispatch_uid="sandbox-keycache-owner")
post_delete.connect(_changed, sender=Sandbox, dispatch_uid="sandbox-keycache-delete")
