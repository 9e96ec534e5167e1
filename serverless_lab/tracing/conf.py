"""Tracing settings, each overridable in Django settings or the environment.

LAB_TRACING             record hops at all (default true; ``false`` for the overhead benchmark)
LAB_TRACING_KEEP        traces kept per sandbox (default 500)
LAB_TRACING_MAX_AGE_H   hours a trace is kept (default 168)
LAB_TRACE_WRITER        where the endpoint's hops are written: auto (default), process or thread
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed


def _setting(name: str, default: str) -> str:
    return str(getattr(settings, name, os.environ.get(name, default)))


@cache
def enabled() -> bool:
    """Asked on every AWS call, so read once (and again when a test changes the setting)."""
    return _setting("LAB_TRACING", "true").strip().lower() not in ("0", "false", "no", "off")


def _forget(*, setting: str, **kwargs: Any) -> None:
    if setting == "LAB_TRACING":
        enabled.cache_clear()


setting_changed.connect(_forget)


def keep_traces() -> int:
    return int(_setting("LAB_TRACING_KEEP", "500"))


def max_age_hours() -> float:
    return float(_setting("LAB_TRACING_MAX_AGE_H", "168"))


def writer_mode() -> str:
    """Where the endpoint's hop writer runs: ``auto`` (a child process on PostgreSQL with Redis,
    else a thread), ``process`` or ``thread``."""
    mode = _setting("LAB_TRACE_WRITER", "auto").strip().lower()
    return mode if mode in ("auto", "process", "thread") else "auto"
