"""Every S3 unit test gets its own object storage directory (yielded as ``media``)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Iterator[Path]:
    from serverless_lab.cloud.s3 import storage

    settings.MEDIA_ROOT = str(tmp_path)
    storage.object_storage.cache_clear()
    yield tmp_path
    storage.object_storage.cache_clear()
