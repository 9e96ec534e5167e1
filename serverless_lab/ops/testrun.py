"""Run the test suite: ``python -m serverless_lab.ops.testrun [pytest args]``.

Uses PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set (as CI does); otherwise SQLite and an
embedded Redis started here, so the suite also runs on a laptop with nothing but Python.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from serverless_lab.ops.embedded import start_embedded_redis

ROOT = Path(__file__).resolve().parent.parent.parent


def main(args: list[str]) -> int:
    import pytest

    embedded = None
    if not os.environ.get("REDIS_URL"):
        embedded = start_embedded_redis(ROOT / "var" / "test-redis")
        os.environ["REDIS_URL"] = embedded.url
        print(f"using an embedded Redis ({embedded.kind}) at {embedded.url}")
    try:
        return int(pytest.main(args))
    finally:
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
