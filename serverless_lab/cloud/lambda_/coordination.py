"""What the web process and the runtime workers share through Redis: concurrency leases and result mailboxes.

Concurrency: each running (or queued synchronous) invocation holds a lease, a member of two sorted sets
(the sandbox's and the function's) scored by its expiry time. Acquiring drops expired members first,
so a worker that died mid-invoke frees its slot when the lease runs out instead of leaking it the way
a bare INCR/DECR counter would. One Lua script checks and adds atomically.

Configuration tokens: a per-sandbox random token, replaced whenever one of its functions, versions or
aliases changes, tells a process whether what it cached about them (``lambda_.cache``) is still
current. Acquiring a lease can check it in the same script, so a warm invoke spends no round trip
on it.

A synchronous invoke also queues its Celery task in that script (``enqueue``): the lease and the
message go together or not at all, in one round trip.

Results: the worker pushes a synchronous invocation's result onto a per-request list; the endpoint
waits on it with BLPOP from an asyncio client, holding no thread while the function runs.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from functools import cache
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings

from serverless_lab.ops.redis_pool import shared_client

THROTTLED_RESERVED = "ReservedFunctionConcurrentInvocationLimitExceeded"
THROTTLED_SANDBOX = "ConcurrentInvocationLimitExceeded"
STALE_CONFIG = "StaleConfiguration"  # not a throttle: the caller's cached function is out of date
# A lease outlives the function's timeout by this much (time in the queue, writing the result).
LEASE_SLACK_S = 30
RESULT_TTL_S = 120
CONFIG_TOKEN_TTL_S = 86400  # a sandbox's token expires when unused (a lost token only means a cache miss)

_ACQUIRE = """
if ARGV[7] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[7] then return 3 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local reserved = tonumber(ARGV[5])
if reserved >= 0 then
  if redis.call('ZCARD', KEYS[2]) >= reserved then return 1 end
elseif redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 2
end
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[3])
  redis.call('EXPIRE', KEYS[i], ARGV[6])
end
if ARGV[8] ~= '' then redis.call('LPUSH', KEYS[4], ARGV[8]) end
return 0
"""


def _key(*parts: object) -> str:
    return ":".join([settings.REDIS_PREFIX, "lambda", *map(str, parts)])


def _client() -> redis.Redis:
    return shared_client(settings.REDIS_URL)


@cache
def _acquire_script() -> Any:
    return _client().register_script(_ACQUIRE)


def _lease_keys(sandbox_id: int, function_id: int) -> list[str]:
    return [_key("running", "sandbox", sandbox_id), _key("running", "function", function_id)]


def acquire_lease(
    *,
    sandbox_id: int,
    function_id: int,
    lease_id: str,
    sandbox_limit: int,
    reserved: int | None,
    timeout_s: int,
    config_token: str | None = None,
    enqueue: tuple[str, str] | None = None,
) -> str | None:
    """Take a concurrency slot for ``lease_id``; None on success, else the throttle Reason, or
    ``STALE_CONFIG`` (no slot taken) when ``config_token`` is no longer the sandbox's token.
    ``enqueue`` (a list's key, a message) is LPUSHed only if the slot was taken."""
    now = time.time()
    ttl = timeout_s + LEASE_SLACK_S
    queue_key, message = enqueue or (_key("unused"), "")
    keys = [*_lease_keys(sandbox_id, function_id), _config_key(sandbox_id), queue_key]
    reserved_arg = -1 if reserved is None else reserved
    args: list[object] = [now, now + ttl, lease_id, sandbox_limit, reserved_arg, ttl, config_token or "", message]
    outcome = _acquire_script()(keys=keys, args=args)
    return {0: None, 1: THROTTLED_RESERVED, 2: THROTTLED_SANDBOX, 3: STALE_CONFIG}[int(outcome)]


def release_lease(*, sandbox_id: int, function_id: int, lease_id: str, answer: dict[str, Any] | None = None) -> None:
    """Free the slot; with ``answer``, also hand a synchronous invocation's result (or lab error) to
    the endpoint waiting for it, ``lease_id`` being its request id. One round trip for both."""
    pipe = _client().pipeline(transaction=False)
    for key in _lease_keys(sandbox_id, function_id):
        pipe.zrem(key, lease_id)
    if answer is not None:
        pipe.rpush(_result_key(lease_id), json.dumps(answer))
        pipe.expire(_result_key(lease_id), RESULT_TTL_S)
    pipe.execute()


def _config_key(sandbox_id: int) -> str:
    return _key("config", sandbox_id)


def config_token(sandbox_id: int) -> str:
    """The sandbox's current configuration token (made on first use). Read it *before* reading the
    configuration it is to vouch for: a change after the read replaces it."""
    key = _config_key(sandbox_id)
    token = None
    while token is None:  # None only if the token expired between the two commands
        pipe = _client().pipeline(transaction=False)
        _, token = pipe.set(key, uuid.uuid4().hex, nx=True, ex=CONFIG_TOKEN_TTL_S).get(key).execute()
    return token.decode()


def config_changed(sandbox_id: int) -> None:
    """A function, version or alias of the sandbox changed: whatever was cached about them is stale."""
    _client().set(_config_key(sandbox_id), uuid.uuid4().hex, ex=CONFIG_TOKEN_TTL_S)


def _result_key(request_id: str) -> str:
    return _key("result", request_id)


_async_clients: dict[int, aioredis.Redis] = {}


def _async_client() -> aioredis.Redis:
    """One asyncio client per event loop (a client's connections belong to the loop that made them)."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(id(loop))
    if client is None:
        # No socket timeout: BLPOP's own timeout bounds the wait, and redis-py's default (5 s) would
        # cut any invoke that waits longer than that for a worker.
        client = _async_clients[id(loop)] = aioredis.Redis.from_url(settings.REDIS_URL, socket_timeout=None)
    return client


async def wait_for_result(request_id: str, timeout_s: float) -> dict[str, Any] | None:
    """The result posted for ``request_id``, or None after ``timeout_s`` seconds."""
    popped = await _async_client().blpop([_result_key(request_id)], timeout=timeout_s)
    return json.loads(popped[1]) if popped else None
