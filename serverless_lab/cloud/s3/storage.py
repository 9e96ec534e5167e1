"""Where object bytes live: Django's storage API, under names we generate (never the object key).

The storage is ``STORAGES["lab_s3"]`` when a deployment configures one (for example django-storages'
S3 backend), else a filesystem storage under ``MEDIA_ROOT / "s3"`` that fsyncs each file and its
directory before ``save`` returns. Objects up to ``backend.INLINE_MAX_BYTES`` are not stored here
at all: their bytes are in their row. Every name starts with the sandbox's id, so a sandbox's
bytes can be removed as one prefix on reset/delete.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Iterable
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.db import transaction

from serverless_lab.cloud.core.drain import Drain

logger = logging.getLogger(__name__)
STORAGE_ALIAS = "lab_s3"
_FSYNC = ThreadPoolExecutor(max_workers=4, thread_name_prefix="s3-fsync")


def _fsync_directory(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DurableFileSystemStorage(FileSystemStorage):
    """A FileSystemStorage whose files are complete and on disk once ``save`` returns.

    Every name is new (random, see :func:`_new_name`) and nothing refers to it until the caller
    commits a row that does, after ``save`` returned. So the file is written at its final name
    directly, and its bytes and its directory entry are made durable by fsyncing the file, then
    its directory: the file's fsync usually commits the file system's journal with the new entry
    in it, so the directory's finds little left to do, where a temporary name, fsync, rename and
    directory fsync take two journal commits one after the other. A crash mid-write can leave a partial
    file that no row refers to: never visible, and removed with the sandbox's bytes.
    """

    def _save(self, name: str, content: File) -> str:
        _write_durably(self.path(name), content.chunks())
        return name

    def write_in_background(self, name: str, data: bytes) -> Future[None]:
        """Create the file ``name`` with ``data`` and make it durable, all on a pool thread: the
        returned future completes once file and directory are fsynced. Writing 1 MiB into fresh
        page-cache pages took this VM up to 2.6 ms, as long as the database statement that can run
        meanwhile. Nothing may refer to the name before the future completed; on failure the file
        is removed and the future raises."""
        return _FSYNC.submit(_write_durably, self.path(name), [data])

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return name  # names are random UUIDs: skip the existence check


@cache
def object_storage() -> Storage:
    if STORAGE_ALIAS in settings.STORAGES:
        return storages[STORAGE_ALIAS]
    return DurableFileSystemStorage(location=Path(settings.MEDIA_ROOT) / "s3")


def _new_name(sandbox_id: int) -> str:
    token = uuid.uuid4().hex
    return f"{sandbox_id}/{token[:2]}/{token}"


def _finish(fd: int, full_path: str, directory: str) -> None:
    """Fsync and close a written file, then fsync its directory (whose new entry the file's fsync
    has usually committed already on a journalling file system: 0.1 ms here after 1.2 ms for a
    1 MiB file, the same in all as both at once on two threads); remove the file on failure."""
    try:
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        _fsync_directory(directory)
    except BaseException:
        Path(full_path).unlink(missing_ok=True)
        raise


def _write_durably(full_path: str, chunks: Iterable[bytes]) -> None:
    """Create the file, write ``chunks`` and fsync it and its directory; on failure it is removed."""
    fd = _create(full_path)
    try:
        for chunk in chunks:
            _write_all(fd, chunk)
    except BaseException:
        os.close(fd)
        Path(full_path).unlink(missing_ok=True)
        raise
    _finish(fd, full_path, os.path.dirname(full_path))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def save_bytes_started(sandbox_id: int, data: bytes) -> tuple[str, Future[None]]:
    """Store ``data`` under a fresh name; returns the name at once, and a future that completes when
    the bytes are written and durable (the filesystem storage's: see
    :meth:`DurableFileSystemStorage.write_in_background`; another storage's save is durable when
    it returns). Nothing may refer to the name before the future completed, nor may the name be
    deleted before: wait for it (its failure included) first."""
    storage = object_storage()
    name = _new_name(sandbox_id)
    if isinstance(storage, DurableFileSystemStorage):  # one write of the bytes at hand, no chunked copies
        return name, storage.write_in_background(name, data)
    durable: Future[None] = Future()
    name = storage.save(name, ContentFile(data))
    durable.set_result(None)
    return name, durable


def save_bytes(sandbox_id: int, data: bytes) -> str:
    """Store ``data`` durably under a fresh name and return the name."""
    name, durable = save_bytes_started(sandbox_id, data)
    durable.result()
    return name


def save_file(sandbox_id: int, handle: IO[bytes]) -> str:
    return object_storage().save(_new_name(sandbox_id), File(handle))


def read_bytes(name: str, start: int = 0, end: int | None = None) -> bytes:
    """Bytes ``start`` to ``end`` inclusive (None: to the end) of a stored file."""
    with object_storage().open(name, "rb") as handle:
        if start:
            handle.seek(start)
        return handle.read() if end is None else handle.read(end - start + 1)


def concatenate(sandbox_id: int, names: Iterable[str]) -> str:
    """Store the concatenation of stored files (multipart completion) under a fresh name."""
    storage = object_storage()
    with tempfile.TemporaryFile() as joined:
        for name in names:
            with storage.open(name, "rb") as part:
                while chunk := part.read(1024 * 1024):
                    joined.write(chunk)
        joined.seek(0)
        return save_file(sandbox_id, joined)


def delete_now(names: Iterable[str]) -> None:
    storage = object_storage()
    for name in names:
        if name:
            try:
                storage.delete(name)
            except OSError:
                logger.warning("could not delete stored object %s", name, exc_info=True)


def delete_on_commit(names: Iterable[str]) -> None:
    """Delete stored files once the transaction that dropped their rows commits, on a background
    thread: nothing waits for the space, and unlinking a megabyte while the file system commits
    another put's fsync took this VM 1.5 ms, a tenth of a 1 MiB put (``settle`` waits for it)."""
    pending = [name for name in names if name]
    if pending:
        transaction.on_commit(lambda: _delete_in_background(pending))


_DELETER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s3-delete")
_deleting: set[Future[None]] = set()


def _delete_in_background(names: list[str]) -> None:
    deletion = _DELETER.submit(delete_now, names)
    _deleting.add(deletion)
    deletion.add_done_callback(_deleting.discard)


def settle() -> None:
    """Wait until the files of committed deletions and replacements are gone."""
    futures.wait(list(_deleting))


def delete_sandbox_bytes(sandbox_id: int) -> None:
    """Remove every stored file of a sandbox, including any orphan left by a crash mid-upload."""
    storage = object_storage()

    def walk(prefix: str) -> None:
        try:
            directories, files = storage.listdir(prefix)
        except (FileNotFoundError, NotADirectoryError):
            return
        for directory in directories:
            walk(f"{prefix}/{directory}")
        delete_now(f"{prefix}/{name}" for name in files)

    walk(str(sandbox_id))
    if isinstance(storage, FileSystemStorage):
        _remove_empty_directories(Path(storage.location) / str(sandbox_id))


def _remove_empty_directories(root: Path) -> None:
    if not root.is_dir():
        return
    for directory in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        _rmdir_quietly(directory)
    _rmdir_quietly(root)


def _rmdir_quietly(path: Any) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass


def streams_to_files() -> bool:
    """Whether object bytes go to this process's durable filesystem storage (``StreamedFile``)."""
    return isinstance(object_storage(), DurableFileSystemStorage)


class StreamedFile:
    """A large PUT body written to its file while it arrives (the endpoint's ASGI app feeds it), so
    that only its fsync is left when the last byte is in: the chunks are written in order on the
    fsync pool (``core.drain.Drain``); ``finish`` has the file and its directory fsynced, and
    ``durable`` completes then. The request owns the file until a handler takes it over
    (``backend.put_object`` marks it ``referenced`` and then keeps or removes it itself); the
    endpoint removes it (``discard``) otherwise."""

    def __init__(self, sandbox_id: int) -> None:
        storage = object_storage()
        assert isinstance(storage, DurableFileSystemStorage)
        self.name = _new_name(sandbox_id)
        self.referenced = False
        self.durable: Future[None] = Future()
        self._path = storage.path(self.name)
        self._fd: int | None = None
        self._error: BaseException | None = None
        self._drain: Drain[bytes] = Drain(_FSYNC, self._write, self._complete)

    def feed(self, chunk: bytes) -> None:
        self._drain.put(chunk)

    def finish(self) -> None:
        """The body is complete: fsync what was written."""
        self._drain.close()

    def discard(self) -> None:
        """Remove the file (once its write has ended) unless a handler took it over."""
        if not self.referenced:
            self.durable.add_done_callback(lambda _: delete_now([self.name]))

    def _write(self, chunk: bytes) -> None:
        if self._error is not None:
            return
        try:
            if self._fd is None:
                self._fd = _create(self._path)
            _write_all(self._fd, chunk)
        except BaseException as error:  # reported by ``durable``, once finished
            self._error = error

    def _complete(self) -> None:
        try:
            if self._error is not None:
                raise self._error
            if self._fd is None:
                self._fd = _create(self._path)
            fd, self._fd = self._fd, None
            _finish(fd, self._path, os.path.dirname(self._path))
        except BaseException as error:
            if self._fd is not None:
                os.close(self._fd)
            Path(self._path).unlink(missing_ok=True)
            self.durable.set_exception(error)
            return
        self.durable.set_result(None)


def _create(full_path: str) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        return os.open(full_path, flags, 0o600)
    except FileNotFoundError:  # the directory's first file
        os.makedirs(os.path.dirname(full_path), exist_ok=True)
        return os.open(full_path, flags, 0o600)
