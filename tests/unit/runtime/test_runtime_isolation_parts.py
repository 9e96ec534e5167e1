"""Pieces of the isolation layer that need no sandbox: the relay, seccomp, paths, uid leases, cgroups."""

from __future__ import annotations

import os
import selectors
import socket
import struct
import threading
from pathlib import Path

import pytest

from serverless_lab.runtime.bootstraps.relay import Splice
from serverless_lab.runtime.isolation import (
    IsolationConfig,
    SandboxHost,
    _seccomp_program,
    _traversable,
    detect_cgroup_parent,
)


def _pump(selector: selectors.BaseSelector, splice: Splice, until: threading.Event) -> None:
    while not until.is_set():
        for key, mask in selector.select(0.05):
            splice.handle(key.data, mask)


def test_the_splice_relays_both_ways_with_backpressure_and_half_close() -> None:
    selector = selectors.DefaultSelector()
    splice = Splice(selector)
    inner_a, outer_a = socket.socketpair()
    inner_b, outer_b = socket.socketpair()
    splice.join(inner_a, inner_b)
    stop = threading.Event()
    pump = threading.Thread(target=_pump, args=(selector, splice, stop))
    pump.start()
    try:
        payload = os.urandom(5 * 1024 * 1024)  # well over the relay's backlog and the socket buffers
        received = bytearray()

        def read_all() -> None:
            while chunk := outer_b.recv(1 << 20):
                received.extend(chunk)

        reader = threading.Thread(target=read_all)
        reader.start()
        outer_a.sendall(payload)
        outer_a.shutdown(socket.SHUT_WR)
        reader.join(10)
        assert bytes(received) == payload
        outer_b.sendall(b"reply after the other side finished sending")
        outer_b.shutdown(socket.SHUT_WR)
        assert outer_a.recv(1024) == b"reply after the other side finished sending"
    finally:
        stop.set()
        pump.join()
        splice.close()
        for sock in (outer_a, outer_b):
            sock.close()


def test_the_splice_drops_the_pair_once_a_side_is_gone() -> None:
    selector = selectors.DefaultSelector()
    splice = Splice(selector)
    inner_a, outer_a = socket.socketpair()
    inner_b, outer_b = socket.socketpair()
    splice.join(inner_a, inner_b)

    def pump() -> None:
        for _ in range(5):
            for key, mask in selector.select(0.05):
                splice.handle(key.data, mask)

    outer_a.close()
    pump()
    assert outer_b.recv(10) == b""  # the departure is passed on as end-of-stream
    outer_b.sendall(b"too late")  # writing towards the vanished side fails: the pair goes
    pump()
    assert not selector.get_map()
    assert outer_b.recv(10) == b""
    outer_b.close()


def test_the_seccomp_filter_checks_the_abi_and_denies_ptrace() -> None:
    program = _seccomp_program()
    if program is None:
        pytest.fail("no seccomp table for this machine: add its syscall numbers to isolation._SYSCALL_TABLES")
    instructions = [struct.unpack("=HBBI", program[i : i + 8]) for i in range(0, len(program), 8)]
    assert instructions[0] == (0x20, 0, 0, 4)  # load the architecture
    assert instructions[-3][3] == 0x7FFF0000  # allow
    assert instructions[-2][3] == 0x00050001  # EPERM
    denied = {k for code, _, _, k in instructions[5:-3] if code == 0x15}
    ptrace = {"x86_64": 101, "aarch64": 117}[os.uname().machine]
    assert ptrace in denied
    for index, (code, jt, _, _) in enumerate(instructions[5:-3], start=5):
        assert code == 0x15 and index + 1 + jt == len(instructions) - 2  # every match jumps to EPERM


def test_traversable_spots_a_private_ancestor(tmp_path: Path) -> None:
    private = tmp_path / "private"
    (private / "code").mkdir(parents=True)
    private.chmod(0o700)
    tmp_path.chmod(0o755)
    assert not _traversable(private / "code")
    private.chmod(0o711)
    assert _traversable(private / "code") == _traversable(tmp_path)


def test_uid_leases_are_exclusive_across_hosts(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.fail("these tests run as root, where each sandbox gets its own uid")
    config = IsolationConfig(state_dir=tmp_path / "state", uid_count=3)
    first, second = SandboxHost(config), SandboxHost(config)  # like two worker processes
    slots = [first.allocate(), second.allocate(), first.allocate()]
    assert len({slot.uid for slot in slots}) == 3
    for slot in slots:
        assert slot.directory.stat().st_uid == slot.uid
        assert slot.directory.stat().st_mode & 0o777 == 0o700
    with pytest.raises(RuntimeError, match="no free sandbox uid"):
        second.allocate()
    slots[0].release()
    assert second.allocate().uid == slots[0].uid
    first.close()
    second.close()


def test_a_symlinked_state_dir_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "state").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(RuntimeError, match="not a directory owned"):
        SandboxHost(IsolationConfig(state_dir=tmp_path / "state"))


def test_a_missing_bwrap_fails_loudly() -> None:
    with pytest.raises(RuntimeError, match="install bubblewrap"):
        SandboxHost(IsolationConfig(bwrap="bwrap-that-does-not-exist"))


def test_cgroup_detection_returns_a_delegated_writable_v2_group_or_nothing() -> None:
    parent = detect_cgroup_parent()
    if parent is not None:
        controllers = (parent / "cgroup.subtree_control").read_text().split()
        assert {"memory", "pids"} <= set(controllers)
        assert os.access(parent, os.W_OK)
