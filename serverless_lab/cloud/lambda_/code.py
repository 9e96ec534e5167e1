"""Where function code lives.

Zips go to Django storage (``STORAGES["lab_lambda"]`` when configured, else ``MEDIA_ROOT/lambda``),
one file per sandbox and code hash. A worker unpacks a zip once per hash into a read-only
directory under ``MEDIA_ROOT/lambda-code/<sandbox>/`` that execution environments mount at
``/var/task``; unpacking goes to a temporary directory renamed into place, so concurrent workers
never see half a tree.
"""

from __future__ import annotations

import base64
import os
import shutil
import stat
import tempfile
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages

from . import logic

STORAGE_ALIAS = "lab_lambda"


@cache
def code_storage() -> Storage:
    if STORAGE_ALIAS in settings.STORAGES:
        return storages[STORAGE_ALIAS]
    return FileSystemStorage(location=Path(settings.MEDIA_ROOT) / "lambda")


def _hex(sha256_b64: str) -> str:
    return base64.b64decode(sha256_b64).hex()


def save_zip(sandbox_id: int, data: bytes) -> tuple[str, str]:
    """Store the zip (once per content) and return (storage name, CodeSha256)."""
    sha = logic.code_sha256(data)
    name = f"{sandbox_id}/{_hex(sha)}.zip"
    storage = code_storage()
    if not storage.exists(name):
        storage.save(name, ContentFile(data))
    return name, sha


def read_zip(name: str) -> bytes:
    with code_storage().open(name, "rb") as handle:
        return handle.read()


def unpacked_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "lambda-code"


def code_dir(sandbox_id: int, code_name: str, sha256_b64: str) -> Path:
    """The read-only directory holding this code, unpacked on first use."""
    target = unpacked_root() / str(sandbox_id) / _hex(sha256_b64)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpack-"))
    try:
        logic.extract_zip(read_zip(code_name), staging)
        os.rename(staging, target)
    except OSError:
        if not target.is_dir():  # another worker did not win the race: a real failure
            raise
    finally:
        if staging.exists():
            _remove_tree(staging)
    return target


def _remove_tree(path: Path) -> None:
    """rmtree for read-only trees: directories are 0555 once unpacked."""
    for directory in [path, *(p for p in path.rglob("*") if p.is_dir())]:
        os.chmod(directory, stat.S_IRWXU)
    shutil.rmtree(path)


def delete_sandbox_code(sandbox_id: int) -> None:
    storage = code_storage()
    try:
        _, files = storage.listdir(str(sandbox_id))
    except (FileNotFoundError, NotADirectoryError):
        files = []
    for name in files:
        storage.delete(f"{sandbox_id}/{name}")
    unpacked = unpacked_root() / str(sandbox_id)
    if unpacked.exists():
        _remove_tree(unpacked)
