"""Per-process caches of what a synchronous invoke reads about a function, validated by the sandbox's
configuration token (``coordination.config_token``).

Resolving a FunctionName is an ORM query whose Python costs more than the database does, in the web
process and again in the worker. A warm invoke instead uses what this process resolved before: the
web process checks the token inside the lease script (no extra round trip), and hands it to the
worker, which trusts its own copy only if it was read under that same token.

Every write of a Function, Version or Alias replaces the token (the signals below: at once, and again
after the commit, so a copy re-read before the commit does not survive it). Entries also expire after
``MAX_AGE_S`` whatever the token says, which bounds the staleness should a replacement be lost
(Redis unreachable at that moment).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.db import transaction

from serverless_lab.sandboxes.models import Sandbox

from . import backend, coordination, logic
from .models import Function, FunctionConfig

logger = logging.getLogger(__name__)

MAX_AGE_S = 60.0
MAX_ENTRIES = 4096


@dataclass(frozen=True)
class _Entry:
    token: str
    value: Any
    loaded_at: float


# Plain dicts: a get or a set is atomic under the GIL, and two threads loading the same entry at
# once only do the work twice.
_targets: dict[tuple[int, str, str | None], _Entry] = {}
_configs: dict[tuple[int, str], _Entry] = {}


def _put(entries: dict[Any, _Entry], key: Any, entry: _Entry) -> None:
    if len(entries) >= MAX_ENTRIES:
        entries.clear()
    entries[key] = entry


def _fresh(entry: _Entry | None) -> bool:
    return entry is not None and time.monotonic() - entry.loaded_at < MAX_AGE_S


def resolve(
    *, sandbox: Sandbox, function_name: str, qualifier: str | None, reload: bool = False
) -> tuple[backend.Target, str]:
    """``backend.resolve``, from this process's cache unless ``reload``; and the token the result was
    read under (the caller must check it, e.g. with ``acquire_lease(config_token=...)``, and
    ``reload`` when it no longer matches). Errors (FunctionNotFound...) are never cached."""
    key = (sandbox.pk, function_name, qualifier)
    entry = None if reload else _targets.get(key)
    if entry is not None and _fresh(entry):
        return entry.value, entry.token
    token = coordination.config_token(sandbox.pk)
    target = backend.resolve(sandbox=sandbox, function_name=function_name, qualifier=qualifier)
    _put(_targets, key, _Entry(token, target, time.monotonic()))
    return target, token


def function_config(*, function_id: int, version: str, token: str) -> tuple[Function, FunctionConfig]:
    """The function (with its sandbox) and the configuration of ``version``, as current as
    ``token`` says. Raises ``DoesNotExist`` when either is gone."""
    key = (function_id, version)
    entry = _configs.get(key)
    if entry is not None and entry.token == token and _fresh(entry):
        return entry.value
    function = Function.objects.select_related("sandbox").get(pk=function_id)
    config = function if version == logic.LATEST else function.versions.get(number=int(version))
    value = (function, config)
    _put(_configs, key, _Entry(token, value, time.monotonic()))
    return value


def configuration_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """post_save/post_delete of Function, Version and Alias: replace the sandbox's token now and
    once more after the commit."""
    if not settings.REDIS_URL:  # no Redis, no Invoke: nothing is cached
        return
    sandbox_id = instance.sandbox_id
    try:
        coordination.config_changed(sandbox_id)
    except redis.RedisError:
        logger.warning("could not replace the configuration token of sandbox %s", sandbox_id, exc_info=True)
    transaction.on_commit(lambda: coordination.config_changed(sandbox_id), robust=True)
