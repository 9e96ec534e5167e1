"""The durable filesystem storage: a saved file is whole at its name; a failed save leaves nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.base import ContentFile, File

from serverless_lab.cloud.s3.storage import DurableFileSystemStorage


def test_a_saved_file_is_whole_at_its_name_and_alone(tmp_path: Path):
    storage = DurableFileSystemStorage(location=tmp_path)
    body = bytes(range(256)) * 4096
    assert storage.save("7/ab/abcdef", ContentFile(body)) == "7/ab/abcdef"
    assert (tmp_path / "7/ab/abcdef").read_bytes() == body
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()] == ["7/ab/abcdef"]
    storage.save("7/ab/second", ContentFile(b"x"))  # the directory exists now
    assert (tmp_path / "7/ab/second").read_bytes() == b"x"


def test_a_name_is_never_written_twice(tmp_path: Path):
    storage = DurableFileSystemStorage(location=tmp_path)
    storage.save("1/aa/name", ContentFile(b"first"))
    with pytest.raises(FileExistsError):
        storage.save("1/aa/name", ContentFile(b"second"))
    assert (tmp_path / "1/aa/name").read_bytes() == b"first"


def test_a_failed_save_leaves_no_file(tmp_path: Path):
    class Broken(File):
        def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
            yield b"half of it"
            raise OSError("the client went away")

    storage = DurableFileSystemStorage(location=tmp_path)
    with pytest.raises(OSError):
        storage.save("2/bb/broken", Broken(None))
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_file_written_in_the_background_has_the_same_guarantees(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    storage = DurableFileSystemStorage(location=tmp_path)
    body = bytes(range(256)) * 4096
    storage.write_in_background("4/dd/whole", body).result()
    assert (tmp_path / "4/dd/whole").read_bytes() == body
    with pytest.raises(FileExistsError):  # names are never reused
        storage.write_in_background("4/dd/whole", b"again").result()
    assert (tmp_path / "4/dd/whole").read_bytes() == body

    def failing_write(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.write", failing_write)
    with pytest.raises(OSError):
        storage.write_in_background("4/dd/full", body).result()
    monkeypatch.undo()

    def failing_fsync(fd: int) -> None:
        raise OSError("I/O error")

    monkeypatch.setattr("os.fsync", failing_fsync)
    with pytest.raises(OSError):
        storage.write_in_background("4/dd/failed", body).result()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["whole"]


def test_a_file_streamed_while_it_arrives_has_the_same_guarantees(media: Path, monkeypatch: pytest.MonkeyPatch):
    from serverless_lab.cloud.s3.storage import StreamedFile

    body = bytes(range(256)) * 4096
    streamed = StreamedFile(5)
    for start in range(0, len(body), 65536):
        streamed.feed(body[start : start + 65536])
    streamed.finish()
    streamed.durable.result(timeout=10)
    streamed.referenced = True
    streamed.discard()  # a row names it: kept
    assert (media / "s3" / streamed.name).read_bytes() == body

    unused = StreamedFile(5)
    unused.feed(body)
    unused.finish()
    unused.discard()  # nothing names it: removed once written
    unused.durable.result(timeout=10)

    def failing_write(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    failed = StreamedFile(5)
    monkeypatch.setattr("os.write", failing_write)
    failed.feed(body)
    failed.finish()
    with pytest.raises(OSError):
        failed.durable.result(timeout=10)
    monkeypatch.undo()
    deadline = time.monotonic() + 5
    while len(files := sorted(p.name for p in (media / "s3").rglob("*") if p.is_file())) > 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert files == [streamed.name.rsplit("/", 1)[1]]


@pytest.mark.django_db(transaction=True)
def test_a_committed_deletion_removes_the_file_afterwards_in_the_background(media: Path):
    from django.db import transaction

    from serverless_lab.cloud.s3 import storage

    kept, dropped, rolled_back = (storage.save_bytes(3, bytes([n]) * 100_000) for n in range(3))
    with transaction.atomic():
        storage.delete_on_commit([dropped, ""])
        assert storage.object_storage().exists(dropped)  # not before the commit
    with pytest.raises(RuntimeError), transaction.atomic():
        storage.delete_on_commit([rolled_back])
        raise RuntimeError("the transaction that dropped its row failed")
    storage.settle()
    assert sorted(p.relative_to(media / "s3").as_posix() for p in media.rglob("*") if p.is_file()) == sorted([kept, rolled_back])
