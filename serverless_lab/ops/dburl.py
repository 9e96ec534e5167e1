"""A database's URL (as ``DATABASE_URL`` takes it) from a Django connection's settings.

Processes the lab starts itself (the live lab's server in the tests, the trace writer's child)
must reach the database their parent is using, which under a test run is not the configured one.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote


def connection_url(params: Mapping[str, Any]) -> str:
    """``sqlite:///<path>`` or ``postgres://user[:password]@host:port/name``."""
    if params["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{params['NAME']}"
    auth = quote(params.get("USER") or "", safe="")
    if params.get("PASSWORD"):
        auth += ":" + quote(params["PASSWORD"], safe="")
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{quote(str(params['NAME']), safe='')}"
