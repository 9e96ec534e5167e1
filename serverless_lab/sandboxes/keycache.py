"""A per-process cache of sandboxes by access key, for the AWS endpoint's every request.

Looking a sandbox up by its key through the ORM cost more CPU than anything else a simple AWS call
does (compiling the query, not running it). Every save or delete of a sandbox (or rename of its
owner) publishes the sandbox's access key on a Redis channel once its transaction has committed;
each process subscribes to that channel and, before any lookup, applies what has arrived: a poll of
the subscription's socket, not a round trip. Redis writes a PUBLISH to its subscribers' sockets in
the same turn of its event loop as its answer to the publisher, so a request that follows a
committed change (say, a deleted sandbox's key used next) finds that change's message waiting, in
any process. A lookup that read the database while an invalidation arrived does not cache its row.

While the process has no confirmed subscription (Redis unreachable, the connection broken: then
messages may have been missed), the cache is emptied and not used: every lookup reads the database
until a new subscription is confirmed. Entries also expire after ``MAX_AGE_S``. Without Redis there
is no cache.
"""
from __future__ import annotations

import logging
import os
import select
import threading
import time
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.base import ModelState
from django.db.models.signals import post_delete, post_save
from redis.backoff import NoBackoff
from redis.retry import Retry

from serverless_lab.ops.redis_pool import shared_client

from .models import Sandbox

logger = logging.getLogger(__name__)
MAX_AGE_S = 60.0
MAX_ENTRIES = 4096
RESUBSCRIBE_AFTER_S = 1.0  # after a failed subscription, lookups go to the database this long

_lock = threading.Lock()  # guards everything below
_entries: dict[str, tuple[float, Sandbox]] = {}


class _Subscription:
    pubsub: Any = None
    poll: Any = None  # on the subscription's socket: a request's check for news is one system call
    pid = 0
    retry_at = 0.0
    generation = 0  # bumped by every invalidation applied (and every subscription lost)


_sub = _Subscription()


def channel() -> str:
    """The Redis channel that carries the access keys of changed sandboxes."""
    return f"{settings.REDIS_PREFIX}:sandbox-changes"


def lookup(access_key_id: str) -> Sandbox | None:
    """The sandbox with this key, from the cache when it is provably current, else from the
    database. Each caller gets its own copy."""
    if not settings.REDIS_URL:
        return lookup_uncached(access_key_id)
    now = time.monotonic()
    with _lock:
        listening = _apply_invalidations()
        entry = _entries.get(access_key_id) if listening else None
        generation = _sub.generation
    if entry is not None and now - entry[0] < MAX_AGE_S:
        return _copy(entry[1])
    sandbox = lookup_uncached(access_key_id)
    if sandbox is None or not listening:
        return sandbox
    with _lock:
        if _apply_invalidations() and _sub.generation == generation:
            if len(_entries) >= MAX_ENTRIES:
                _entries.clear()
            _entries[access_key_id] = (now, sandbox)
    return _copy(sandbox)


def seen(access_key_id: str) -> int | None:
    """The id of this key's sandbox if it is in the cache: a hint, read without the lock or any
    check (not authentication)."""
    entry = _entries.get(access_key_id)
    return entry[1].pk if entry is not None else None


def lookup_uncached(access_key_id: str) -> Sandbox | None:
    return Sandbox.objects.select_related("owner").filter(access_key_id=access_key_id).first()


def _copy(sandbox: Sandbox) -> Sandbox:
    """A shallow copy, as ``copy.copy`` makes one through ``Model.__reduce__`` (the instance's dict,
    its ``_state`` by ``ModelState.__getstate__``), at a fraction of the cost."""
    state = ModelState.__new__(ModelState)
    state.__dict__.update(sandbox._state.__getstate__())
    clone = Sandbox.__new__(Sandbox)
    clone.__dict__.update(sandbox.__dict__)
    clone._state = state
    return clone


def _apply_invalidations() -> bool:
    """Drop the entries whose sandboxes changed, as far as messages have arrived; False when the
    cache must not be used (no confirmed subscription). Called with ``_lock`` held."""
    if _sub.pid != os.getpid():  # a forked child must not read its parent's socket
        _sub.pubsub, _sub.pid, _sub.retry_at = None, os.getpid(), 0.0
        _forget_all()
    if _sub.pubsub is None and not _subscribe():
        return False
    if not _sub.poll.poll(0):  # nothing arrived (what was read is parsed: the loop below drains it)
        return True
    try:
        while (message := _sub.pubsub.get_message(timeout=0.0)) is not None:
            if message["type"] == "message":
                _entries.pop(message["data"].decode(), None)
                _sub.generation += 1
    except (redis.RedisError, OSError):
        logger.warning("lost the sandbox cache's subscription; reading sandboxes from the database", exc_info=True)
        _unsubscribe()
        return False
    return True


def _subscribe() -> bool:
    if time.monotonic() < _sub.retry_at:
        return False
    # No retries: redis-py would reconnect and subscribe again silently, hiding what was missed.
    client = redis.Redis.from_url(
        settings.REDIS_URL, retry=Retry(NoBackoff(), 0), socket_connect_timeout=1, socket_timeout=1,
        client_name=f"lab-sandbox-cache-{os.getpid()}",
    )
    pubsub = client.pubsub()
    try:
        pubsub.subscribe(channel())
        confirmed = pubsub.get_message(timeout=1.0)
        if not confirmed or confirmed["type"] != "subscribe":
            raise redis.ConnectionError("Redis did not confirm the subscription")
    except (redis.RedisError, OSError):
        logger.warning("could not subscribe to sandbox changes; reading sandboxes from the database", exc_info=True)
        pubsub.close()
        _sub.retry_at = time.monotonic() + RESUBSCRIBE_AFTER_S
        return False
    _sub.pubsub = pubsub
    _sub.poll = select.poll()
    _sub.poll.register(pubsub.connection._sock, select.POLLIN | select.POLLERR | select.POLLHUP)
    return True


def _unsubscribe() -> None:
    try:
        _sub.pubsub.close()
    except (redis.RedisError, OSError):
        pass
    _sub.pubsub, _sub.retry_at = None, time.monotonic() + RESUBSCRIBE_AFTER_S
    _forget_all()


def _forget_all() -> None:
    _entries.clear()
    _sub.generation += 1


def _publish_change(access_key_id: str) -> None:
    try:
        shared_client(settings.REDIS_URL).publish(channel(), access_key_id)
    except redis.RedisError:  # the change is committed; caches then catch up within MAX_AGE_S
        logger.warning("could not invalidate the cached sandbox of key %s", access_key_id, exc_info=True)


def _changed(sender: type[Sandbox], instance: Sandbox, **kwargs: Any) -> None:
    if settings.REDIS_URL:
        access_key_id = instance.access_key_id
        transaction.on_commit(lambda: _publish_change(access_key_id), using=kwargs.get("using") or "default")


def _owner_changed(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """A cached sandbox carries its owner (the caller ARN names them): a user's save that may have
    renamed them invalidates their sandboxes (a login's ``last_login`` update does not)."""
    if settings.REDIS_URL and (update_fields is None or get_user_model().USERNAME_FIELD in update_fields):
        keys = list(Sandbox.objects.filter(owner_id=instance.pk).values_list("access_key_id", flat=True))
        transaction.on_commit(lambda: [_publish_change(key) for key in keys], using=kwargs.get("using") or "default")


post_save.connect(_changed, sender=Sandbox, dispatch_uid="sandbox-keycache-save")
post_save.connect(_owner_changed, sender=settings.AUTH_USER_MODEL, dispatch_uid="sandbox-keycache-owner")
post_delete.connect(_changed, sender=Sandbox, dispatch_uid="sandbox-keycache-delete")
