"""Isolation of execution environments with bubblewrap (Linux namespaces), rlimits and cgroups.

One :class:`SandboxHost` per process sets up what every sandbox shares; :meth:`SandboxHost.launch`
starts one bubblewrap sandbox and returns a :class:`Sandbox` to watch, freeze and kill it.

How the wall is built (see docs/runtime.md for the measurements behind it):

* **Identity.** When the host runs as root, each sandbox gets its own unprivileged host uid from a
  range that belongs to no user (leased across processes with ``flock``), and bubblewrap runs as
  that uid with ``--unshare-user``: inside, the function is uid 993 (``sbx_user1051``, as on AWS)
  with no capabilities.  A private uid makes ``RLIMIT_NPROC`` a per-sandbox limit and lets nothing
  of one sandbox signal or read another's processes.  As a non-root host, sandboxes run as the
  host's own uid (bubblewrap still maps it to 993).
* **Namespaces.** ``--unshare-all``: no network but loopback, own PIDs (host processes invisible,
  a fresh ``/proc``), IPC, UTS, cgroup; ``--disable-userns``; ``--die-with-parent``,
  ``--new-session``, ``--cap-drop ALL``, ``--clearenv`` and a seccomp filter (ptrace, mount,
  keyctl, bpf, io_uring, ... answer EPERM; foreign syscall ABIs are refused).
* **Filesystem.** A read-only root holding only ``/usr`` (and the ``/lib*``/``/bin`` links), a few
  generated ``/etc`` files (no ``/etc/shadow``), the binds the caller asks for (all read-only), a
  private size-capped ``/tmp``, a read-only ``/dev`` and the sandbox's own directory with the two
  Unix sockets at ``/run/sandbox``.
* **Paths the sandbox uid cannot reach** (pyenv under ``/root``, 0700, or a code directory under
  a private temp dir): bubblewrap resolves bind sources as the unprivileged uid, so such a path is
  first bind-mounted, by root, onto an empty directory in a private mount namespace held open by
  a small helper (:class:`_Stage`); bubblewrap is started inside that namespace through ``nsenter``.
  Nothing changes in the host's own mount table.
* **Limits.** The launcher inside sets the rlimits (AS, NPROC, NOFILE, FSIZE, CORE) before any
  function code runs.  Where a delegated cgroup v2 with the memory and pids controllers is
  available, each sandbox also gets ``memory.max``/``pids.max``; otherwise that is skipped silently
  and the environment's memory watchdog (sum of the sandbox's RSS) enforces the memory size.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import platform
import random
import select
import shutil
import signal
import stat
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

SANDBOX_UID = 993  # sbx_user1051 on AWS Lambda
SANDBOX_GID = 990
SOCKET_DIR = "/run/sandbox"
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
HOSTNAME = "169.254.100.1"
_ETC_FILES = {
    "passwd": "root:x:0:0:root:/root:/sbin/nologin\n"
    f"sbx_user1051:x:{SANDBOX_UID}:{SANDBOX_GID}::/home/sbx_user1051:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/:/sbin/nologin\n",
    "group": f"root:x:0:\nsbx_user1051:x:{SANDBOX_GID}:\nnobody:x:65534:\n",
    "hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost\n",
    "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files dns\n",
}
# Host /etc entries a runtime may need; everything else under /etc stays out.
_HOST_ETC = ("ssl", "ca-certificates", "ld.so.cache", "alternatives", "mime.types")


class IsolationError(RuntimeError):
    """The sandbox could not be set up (bubblewrap missing, a bind source unusable, ...)."""


@dataclass(frozen=True)
class IsolationConfig:
    """Host-wide knobs of the sandboxes; the per-function ones (memory, timeout) come with the spec."""

    state_dir: Path | None = None  # default: <tempdir>/serverless-lab-<euid>
    uid_base: int = 900_000_000
    uid_count: int = 65_536
    tmp_size_mb: int = 512  # /tmp, like Lambda's default ephemeral storage
    tmp_max_files: int = 100_000  # inodes of /tmp (tmpfs inodes cost host memory)
    max_processes: int = 256  # RLIMIT_NPROC: processes and threads of the sandbox's uid
    max_open_files: int = 1024  # Lambda's quota
    address_space_overhead_mb: int = 2048  # RLIMIT_AS = memory size + this (virtual, not resident)
    memory_poll_s: float = 0.02
    seccomp: bool = True
    cgroup_parent: Path | None = None  # a delegated cgroup v2 directory; None = detect
    bwrap: str = "bwrap"


@dataclass(frozen=True)
class LaunchRequest:
    """What to run: ``argv`` inside the sandbox plus the descriptor number of ``config`` (a memfd)."""

    argv: list[str]
    binds: list[tuple[Path, str]]  # host path -> sandbox path, always read-only
    config: bytes
    env: dict[str, str]  # environment of the first process only (the launcher)
    memory_mb: int
    chdir: str = "/"


class Slot:
    """A sandbox's host identity: its uid lease and private directory (bound at /run/sandbox)."""

    def __init__(self, uid: int | None, directory: Path, lock_fd: int | None) -> None:
        self.uid = uid
        self.directory = directory
        self._lock_fd = lock_fd

    def release(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


class Sandbox:
    """One running bubblewrap sandbox.  Host-side handles only; nothing here trusts the sandbox."""

    def __init__(
        self,
        host: SandboxHost,
        slot: Slot,
        process: subprocess.Popen[bytes],
        info_fd: int,
        log_fd: int,
        staged: list[Path],
        cgroup: Path | None,
    ) -> None:
        self.slot = slot
        self.process = process
        self.log_fd = log_fd  # read end of the sandbox's stdout+stderr
        self.pidfd = os.pidfd_open(process.pid)
        self._host = host
        self._info_fd = info_fd
        self._init_pid: int | None = None
        self._init_fd = -1
        self._staged = staged
        self._cgroup = cgroup
        self._mounts: dict[str, int] = {}  # "proc"/"tmp" -> fd of the sandbox's own mount
        self._pids: dict[int, int] = {}  # PID inside -> fd of its /proc/<pid> directory
        self._private: dict[int, tuple[float, int]] = {}  # PID -> (when, private KiB), see memory_kb
        self._closed = False

    @property
    def init_pid(self) -> int | None:
        """Host PID of the sandbox's PID 1 (bubblewrap's init), read from ``--info-fd`` once.

        A pidfd is opened on it at once (and the parent checked again after), so every later
        signal reaches that very process even if the PID were reused.
        """
        if self._init_pid is None and self._info_fd >= 0:
            # bwrap writes this JSON in several pieces; closing our end before its last write
            # would kill it with SIGPIPE, so read to the end (it closes the pipe once done).
            data = b""
            deadline = time.monotonic() + 2.0
            while (remaining := deadline - time.monotonic()) > 0 and select.select([self._info_fd], [], [], remaining)[
                0
            ]:
                chunk = os.read(self._info_fd, 4096)
                if not chunk:
                    break
                data += chunk
            os.close(self._info_fd)
            self._info_fd = -1
            try:
                pid = int(json.loads(data)["child-pid"])
                fd = os.pidfd_open(pid)
            except (ValueError, KeyError, TypeError, OSError):
                return None
            if _parent_pid(pid) != self.process.pid:
                os.close(fd)
                return None
            self._init_pid, self._init_fd = pid, fd
        return self._init_pid

    def exited(self) -> bool:
        return self.process.poll() is not None

    def exit_status(self) -> int | None:
        """bwrap's status: the runtime's exit code, or 128+signal when a signal ended it."""
        return self.process.poll()

    def refresh(self) -> list[int]:
        """List the sandbox's processes (PIDs as seen inside, init excluded) and pin each one.

        Each process is held by an fd on its ``/proc/<pid>`` directory in the sandbox's own procfs:
        such an fd reads that very process's files and is a pidfd for signals, immune to PID reuse.
        """
        if self._sandbox_mount("proc") < 0:
            return []
        try:
            listed = {int(name) for name in os.listdir(self._mounts["proc"]) if name.isdigit() and name != "1"}
        except OSError:
            listed = set()
        for pid in list(self._pids):
            if pid not in listed or not _signal_fd(self._pids[pid], 0):
                os.close(self._pids.pop(pid))
                self._private.pop(pid, None)
        for pid in listed - self._pids.keys():
            try:
                self._pids[pid] = os.open(
                    str(pid), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=self._mounts["proc"]
                )
            except OSError:
                pass
        return sorted(self._pids)

    def memory_kb(self, precise_above_kb: int) -> tuple[int, int]:
        """``(current, peak)`` memory of the sandbox in KiB, over the processes last refreshed.

        The runtime (PID 2: the launcher becomes it) counts with its RSS, and its high-water mark
        for the peak.  Every other process counts with its RSS, unless that total passes
        ``precise_above_kb``: then with its private memory only, because a forked child shares its
        copy-on-write pages with the runtime and RSS would count them again for each child.
        (``smaps_rollup`` is exact but costs ~0.2 ms a process, so it is read only then, and at most
        every 250 ms per process.)  A delegated cgroup's ``memory.peak`` counts too.
        """
        runtime_rss = runtime_hwm = 0
        others: dict[int, int] = {}
        for pid, fd in self._pids.items():
            if pid == 2:
                fields = _status_fields(_read_at(fd, "status"), ("VmRSS:", "VmHWM:"))
                runtime_rss, runtime_hwm = fields.get("VmRSS:", 0), fields.get("VmHWM:", 0)
            else:
                statm = _read_at(fd, "statm").split()
                others[pid] = int(statm[1]) * _PAGE_KB if len(statm) > 1 else 0
        if runtime_rss + sum(others.values()) > precise_above_kb:
            now = time.monotonic()
            for pid in others:
                cached = self._private.get(pid)
                if cached is None or now - cached[0] > 0.25:
                    cached = (now, _private_kb(_read_at(self._pids[pid], "smaps_rollup")))
                    self._private[pid] = cached
                others[pid] = cached[1]
        rest = sum(others.values())
        total = runtime_rss + rest
        peak = max(total, runtime_hwm + rest)
        if self._cgroup is not None:
            peak = max(peak, _read_int(self._cgroup / "memory.peak") // 1024)
        return total, peak

    def reset_peak(self) -> None:
        """Restart the runtime process's high-water mark (``VmHWM``) at its current RSS."""
        fd = self._pids.get(2)
        if fd is not None:
            try:
                clear = os.open("clear_refs", os.O_WRONLY | os.O_CLOEXEC, dir_fd=fd)
                try:
                    os.write(clear, b"5")
                finally:
                    os.close(clear)
            except OSError:
                pass

    def tmp_files(self) -> int:
        """Inodes in use on the sandbox's /tmp."""
        fd = self._sandbox_mount("tmp")
        if fd < 0:
            return 0
        stats = os.fstatvfs(fd)
        return stats.f_files - stats.f_ffree

    def _sandbox_mount(self, name: str) -> int:
        """fd of the sandbox's own ``/proc`` or ``/tmp``, or -1 while bubblewrap is still building it.

        ``/proc/<init>/root`` is the host's root until bubblewrap has pivoted into the new one, so
        a directory is only trusted once it is on another device than the host's: never act on
        the host's /proc by mistake.
        """
        fd = self._mounts.get(name, -1)
        if fd >= 0:
            return fd
        init = self.init_pid
        if init is None:
            return -1
        try:
            fd = os.open(f"/proc/{init}/root/{name}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            return -1
        if os.fstat(fd).st_dev in _host_devices(name):
            os.close(fd)
            return -1
        self._mounts[name] = fd
        return fd

    def freeze(self) -> None:
        """Stop every process but init between invocations, as Lambda freezes an idle environment."""
        if self._freeze_cgroup(True):
            return
        stopped: set[int] = set()
        for _ in range(5):  # until no process forked between listing and stopping its parent
            fresh = [pid for pid in self._pids if pid not in stopped]
            for pid in fresh:
                _signal_fd(self._pids[pid], signal.SIGSTOP)
            stopped.update(fresh)
            if not fresh or set(self.refresh()) <= stopped:
                return

    def thaw(self) -> None:
        """Continue the processes stopped by :meth:`freeze` (a frozen sandbox cannot fork)."""
        if self._freeze_cgroup(False):
            return
        for fd in self._pids.values():
            _signal_fd(fd, signal.SIGCONT)

    def _freeze_cgroup(self, frozen: bool) -> bool:
        if self._cgroup is None:
            return False
        try:
            (self._cgroup / "cgroup.freeze").write_text("1" if frozen else "0")
        except OSError:
            return False
        return True

    def kill_now(self) -> None:
        """SIGKILL the sandbox without waiting (from any thread); :meth:`terminate` still follows."""
        if self._init_fd >= 0:
            _signal_fd(self._init_fd, signal.SIGKILL)
        else:
            self.process.kill()

    def terminate(self) -> None:
        """Kill every process of the sandbox and wait until all are gone.

        Killing a PID namespace's init kills the whole namespace, and the init itself exits only
        once every other process of it has: waiting for the init is waiting for them all.
        """
        self.init_pid  # noqa: B018 - make sure the init is pinned before anything dies
        if self._init_fd >= 0:
            _signal_fd(self._init_fd, signal.SIGKILL)
            try:  # the outer bwrap reaps its init, then exits by itself
                self.process.wait(timeout=5)
                return
            except subprocess.TimeoutExpired:
                pass
        self.process.kill()  # before the init is known: --die-with-parent takes the rest
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def release(self) -> None:
        """After :meth:`terminate`: close the host handles, remove the cgroup, free the slot."""
        if self._closed:
            return
        self._closed = True
        fds = (self.pidfd, self.log_fd, self._info_fd, self._init_fd, *self._mounts.values(), *self._pids.values())
        for fd in fds:
            if fd >= 0:
                os.close(fd)
        self._info_fd = self._init_fd = -1
        self._mounts.clear()
        self._pids.clear()
        if self._cgroup is not None:
            _remove_cgroup(self._cgroup)
        self._host.unstage(self._staged)
        self.slot.release()


class SandboxHost:
    """Per-process owner of what all sandboxes share: state directory, uid leases, staging, spawner."""

    def __init__(self, config: IsolationConfig | None = None) -> None:
        self.config = config or IsolationConfig()
        bwrap = shutil.which(self.config.bwrap)
        if bwrap is None:
            raise IsolationError(
                f"{self.config.bwrap!r} not found: install bubblewrap (apt-get install -y bubblewrap); "
                "Lambda functions never run without isolation"
            )
        self.bwrap = bwrap
        self.switch_uid = os.geteuid() == 0
        self.state_dir = self.config.state_dir or Path(tempfile.gettempdir()) / f"serverless-lab-{os.geteuid()}"
        for sub, mode in (("", 0o711), ("envs", 0o711), ("uids", 0o700), ("etc", 0o755), ("stage", 0o711)):
            _private_dir(self.state_dir / sub, mode)
        _sweep_dead(self.state_dir / "envs")
        _sweep_dead(self.state_dir / "stage")
        for name, text in _ETC_FILES.items():
            path = self.state_dir / "etc" / name
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
                path.chmod(0o644)
        self._seccomp = _seccomp_program() if self.config.seccomp else None
        self._cgroup_parent = self.config.cgroup_parent or detect_cgroup_parent()
        self._stage = (
            _Stage(Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=self.state_dir / "stage")))
            if self.switch_uid
            else None
        )
        # bwrap's --die-with-parent follows the *thread* that forked it, so every sandbox is
        # spawned from this one long-lived thread rather than from whichever thread asked.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-spawner")

    def allocate(self) -> Slot:
        """Lease a uid (when switching) and create the sandbox's private directory."""
        uid, lock_fd = self._lease_uid() if self.switch_uid else (None, None)
        directory = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=self.state_dir / "envs"))
        if uid is not None:
            os.chown(directory, uid, uid)
        directory.chmod(0o700)
        return Slot(uid, directory, lock_fd)

    def _lease_uid(self) -> tuple[int, int]:
        count = self.config.uid_count
        start = random.randrange(count)
        for offset in range(count):
            uid = self.config.uid_base + (start + offset) % count
            fd = os.open(self.state_dir / "uids" / str(uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return uid, fd
        raise IsolationError("no free sandbox uid left")

    def launch(self, slot: Slot, request: LaunchRequest) -> Sandbox:
        binds, staged = self._reachable_binds(request.binds)
        config_fd = os.memfd_create("sandbox-config", 0)
        os.write(config_fd, request.config)
        os.lseek(config_fd, 0, os.SEEK_SET)
        fds = [config_fd]
        seccomp_fd = -1
        if self._seccomp is not None:
            seccomp_fd = os.memfd_create("sandbox-seccomp", 0)
            os.write(seccomp_fd, self._seccomp)
            os.lseek(seccomp_fd, 0, os.SEEK_SET)
            fds.append(seccomp_fd)
        info_read, info_write = os.pipe2(os.O_CLOEXEC)
        log_read, log_write = os.pipe2(os.O_CLOEXEC)
        fds.append(info_write)
        cgroup = self._make_cgroup(slot, request.memory_mb)

        argv: list[str] = []
        if cgroup is not None:
            argv += ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(cgroup)]
        if self._stage is not None and staged:
            argv += ["nsenter", f"--mount=/proc/{self._stage.pid}/ns/mnt", "--"]
        # The parent-death signal is set last (a uid change clears it), so the outer bwrap dies with
        # the spawner thread; bwrap's --die-with-parent then takes the sandbox's processes with it.
        argv += ["setpriv", "--pdeathsig", "SIGKILL"]
        if slot.uid is not None:
            argv += [f"--reuid={slot.uid}", f"--regid={slot.uid}", "--clear-groups"]
        argv.append("--")
        argv += self._bwrap_argv(slot, binds, request, seccomp_fd, info_write)
        argv += [*request.argv, str(config_fd)]

        def spawn() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log_write,
                stderr=log_write,
                pass_fds=fds,
                cwd="/",
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            )

        try:
            process = self._spawner.submit(spawn).result()
        except BaseException:
            for fd in (info_read, log_read):
                os.close(fd)
            if cgroup is not None:
                _remove_cgroup(cgroup)
            self.unstage(staged)
            raise
        finally:
            for fd in (*fds, log_write):
                os.close(fd)
        os.set_blocking(log_read, False)
        return Sandbox(self, slot, process, info_read, log_read, staged, cgroup)

    def unstage(self, staged: Iterable[Path]) -> None:
        if self._stage is not None:
            for path in staged:
                self._stage.release(path)

    def close(self) -> None:
        self._spawner.shutdown(wait=True)
        if self._stage is not None:
            self._stage.close()

    def _reachable_binds(self, binds: list[tuple[Path, str]]) -> tuple[list[tuple[Path, str]], list[Path]]:
        """Swap every bind source the sandbox uid cannot traverse for its staged copy."""
        result: list[tuple[Path, str]] = []
        staged: list[Path] = []
        for source, target in binds:
            if self._stage is not None and not _traversable(source):
                try:
                    staged_path = self._stage.expose(source)
                except BaseException:
                    self.unstage(staged)
                    raise
                staged.append(source)
                source = staged_path
            result.append((source, target))
        return result, staged

    def _bwrap_argv(
        self, slot: Slot, binds: list[tuple[Path, str]], request: LaunchRequest, seccomp_fd: int, info_fd: int
    ) -> list[str]:
        args = [
            self.bwrap,
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--uid",
            str(SANDBOX_UID),
            "--gid",
            str(SANDBOX_GID),
            "--hostname",
            HOSTNAME,
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--clearenv",
            "--ro-bind",
            "/usr",
            "/usr",
        ]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = Path("/") / name
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), f"/{name}"]
            elif path.is_dir():
                args += ["--ro-bind", str(path), f"/{name}"]
        for name in _ETC_FILES:
            args += ["--ro-bind", str(self.state_dir / "etc" / name), f"/etc/{name}"]
        for name in _HOST_ETC:
            if os.path.exists(f"/etc/{name}"):
                args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        args += [
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--remount-ro",
            "/dev",
            "--size",
            str(self.config.tmp_size_mb << 20),
            "--perms",
            "1777",
            "--tmpfs",
            "/tmp",
            "--dir",
            "/opt",
        ]
        for source, target in binds:
            args += ["--ro-bind", str(source), target]
        args += ["--ro-bind", str(slot.directory), SOCKET_DIR, "--remount-ro", "/", "--chdir", request.chdir]
        for name, value in request.env.items():
            args += ["--setenv", name, value]
        if seccomp_fd >= 0:
            args += ["--seccomp", str(seccomp_fd)]
        return [*args, "--info-fd", str(info_fd), "--"]

    def _make_cgroup(self, slot: Slot, memory_mb: int) -> Path | None:
        if self._cgroup_parent is None:
            return None
        path = self._cgroup_parent / slot.directory.name
        try:
            path.mkdir()
            (path / "memory.max").write_text(str(memory_mb << 20))
            (path / "memory.swap.max").write_text("0")
            (path / "pids.max").write_text(str(self.config.max_processes))
        except OSError:
            _remove_cgroup(path)
            return None
        return path


class _Stage:
    """Root's private mount namespace where unreachable paths are bound onto reachable empty dirs.

    Held open by ``unshare --mount /bin/sh`` reading bind/unbind commands on its stdin; it exits
    when this process closes the pipe (or dies).  Each source is bound once and reference-counted;
    up to ``KEEP_UNUSED`` unreferenced binds stay for the next cold start (a bind costs ~2 ms).
    """

    KEEP_UNUSED = 64

    _SCRIPT = (
        "echo ready; while IFS= read -r line; do op=${line%% *}; rest=${line#* }; case $op in "
        'bind) dst=${rest%% *}; src=${rest#* }; mount --bind -- "$src" "$dst" >/dev/null 2>&1 && echo ok || echo err;; '
        'unbind) umount -l -- "$rest" >/dev/null 2>&1 && echo ok || echo err;; '
        "esac; done"
    )

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._mounts: dict[Path, tuple[Path, int]] = {}  # source -> (mount point, references)
        self._unused: dict[Path, None] = {}  # unreferenced sources, oldest first
        self._counter = 0

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def expose(self, source: Path) -> Path:
        if "\n" in str(source):
            raise IsolationError(f"unusable path {source!r}")
        with self._lock:
            if source in self._mounts:
                point, refs = self._mounts[source]
                self._mounts[source] = (point, refs + 1)
                self._unused.pop(source, None)
                return point
            self._ensure_running()
            self._counter += 1
            point = self.root / str(self._counter)
            point.mkdir(mode=0o755)
            if self._command(f"bind {point} {source}") != "ok":
                point.rmdir()
                raise IsolationError(f"cannot stage {source} for the sandbox")
            self._mounts[source] = (point, 1)
            return point

    def release(self, source: Path) -> None:
        with self._lock:
            point, refs = self._mounts[source]
            self._mounts[source] = (point, refs - 1)
            if refs > 1:
                return
            self._unused[source] = None
            while len(self._unused) > self.KEEP_UNUSED:
                oldest = next(iter(self._unused))
                del self._unused[oldest]
                oldest_point, _ = self._mounts.pop(oldest)
                self._command(f"unbind {oldest_point}")
                oldest_point.rmdir()

    def close(self) -> None:
        with self._lock:
            if self._process is not None:
                assert self._process.stdin is not None
                self._process.stdin.close()
                self._process.wait()
                self._process = None
            shutil.rmtree(self.root, ignore_errors=True)

    def _ensure_running(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        _private_dir(self.root, 0o711)
        self._process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", self._SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd="/",
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )
        assert self._process.stdout is not None
        if self._process.stdout.readline().strip() != "ready":
            raise IsolationError("cannot create the staging mount namespace (needs root and util-linux)")
        # A new helper has none of the old binds: replay them.
        for source, (point, _) in self._mounts.items():
            self._command(f"bind {point} {source}")

    def _command(self, line: str) -> str:
        assert self._process is not None and self._process.stdin and self._process.stdout
        try:
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()
            return self._process.stdout.readline().strip()
        except (BrokenPipeError, ValueError):
            return "err"


def detect_cgroup_parent() -> Path | None:
    """A cgroup v2 directory where this process may create children with memory and pids limits.

    That is this process's own cgroup when its ``cgroup.subtree_control`` already delegates both
    controllers and it is writable (systemd ``Delegate=yes`` style); otherwise ``None``.
    """
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    relative = next((line[3:] for line in lines if line.startswith("0::")), None)
    mountpoint = next((line.split(" - ")[0].split()[4] for line in mounts if " - cgroup2 " in line), None)
    if relative is None or mountpoint is None:
        return None
    path = Path(mountpoint) / relative.lstrip("/")
    try:
        controllers = (path / "cgroup.subtree_control").read_text().split()
    except OSError:
        return None
    if {"memory", "pids"} <= set(controllers) and os.access(path, os.W_OK):
        return path
    return None


# --- seccomp ----------------------------------------------------------------------------------

_DENIED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "kexec_load", "kexec_file_load", "keyctl", "add_key",
    "request_key", "bpf", "userfaultfd", "perf_event_open", "mount", "umount2", "pivot_root", "chroot", "swapon",
    "swapoff", "reboot", "init_module", "finit_module", "delete_module", "setns", "unshare", "open_by_handle_at",
    "name_to_handle_at", "iopl", "ioperm", "acct", "quotactl", "syslog", "settimeofday", "clock_settime", "adjtimex",
    "clock_adjtime", "io_uring_setup", "io_uring_enter", "io_uring_register", "fsopen", "fsconfig", "fsmount",
    "fspick", "move_mount", "open_tree", "mount_setattr", "lookup_dcookie", "vhangup",
)  # fmt: skip
# (AUDIT_ARCH, syscall numbers) from the kernel's uapi headers; aarch64 uses asm-generic numbering.
_SYSCALL_TABLES = {
    "x86_64": (0xC000003E, {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kexec_load": 246,
        "kexec_file_load": 320, "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321, "userfaultfd": 323,
        "perf_event_open": 298, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "swapon": 167,
        "swapoff": 168, "reboot": 169, "init_module": 175, "finit_module": 313, "delete_module": 176, "setns": 308,
        "unshare": 272, "open_by_handle_at": 304, "name_to_handle_at": 303, "iopl": 172, "ioperm": 173, "acct": 163,
        "quotactl": 179, "syslog": 103, "settimeofday": 164, "clock_settime": 227, "adjtimex": 159,
        "clock_adjtime": 305, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "fsopen": 430,
        "fsconfig": 431, "fsmount": 432, "fspick": 433, "move_mount": 429, "open_tree": 428, "mount_setattr": 442,
        "lookup_dcookie": 212, "vhangup": 153,
    }),
    "aarch64": (0xC00000B7, {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "kexec_load": 104,
        "kexec_file_load": 294, "keyctl": 219, "add_key": 217, "request_key": 218, "bpf": 280, "userfaultfd": 282,
        "perf_event_open": 241, "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51, "swapon": 224,
        "swapoff": 225, "reboot": 142, "init_module": 105, "finit_module": 273, "delete_module": 106, "setns": 268,
        "unshare": 97, "open_by_handle_at": 265, "name_to_handle_at": 264, "acct": 89, "quotactl": 60,
        "syslog": 116, "settimeofday": 170, "clock_settime": 112, "adjtimex": 171, "clock_adjtime": 266,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "fsopen": 430, "fsconfig": 431,
        "fsmount": 432, "fspick": 433, "move_mount": 429, "open_tree": 428, "mount_setattr": 442,
        "lookup_dcookie": 18, "vhangup": 58,
    }),
}  # fmt: skip


def _seccomp_program() -> bytes | None:
    """A classic-BPF seccomp filter for bwrap ``--seccomp``: deny the listed syscalls with EPERM.

    Syscalls of another ABI (i386 via ``int 0x80``, x32) get ENOSYS so their numbering cannot
    dodge the list.  Unknown machine: no filter (the namespaces and dropped capabilities remain).
    """
    table = _SYSCALL_TABLES.get(platform.machine())
    if table is None:
        return None
    arch, numbers = table
    denied = sorted({numbers[name] for name in _DENIED_SYSCALLS if name in numbers})
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, eperm, enosys = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38
    # Layout: [0] ld arch, [1] jeq arch, [2] ret ENOSYS, [3] ld nr, [4] jge x32 bit,
    # [5..5+n) jeq each denied nr, [5+n] ret ALLOW, [6+n] ret EPERM, [7+n] ret ENOSYS.
    n = len(denied)
    program = [
        (ld, 0, 0, 4),
        (jeq, 1, 0, arch),
        (ret, 0, 0, enosys),
        (ld, 0, 0, 0),
        (jge, n + 2, 0, 0x40000000),
    ]
    for index, number in enumerate(denied):
        program.append((jeq, n - index, 0, number))
    program += [(ret, 0, 0, allow), (ret, 0, 0, eperm), (ret, 0, 0, enosys)]
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in program)


# --- small helpers ----------------------------------------------------------------------------


def _private_dir(path: Path, mode: int) -> None:
    """Create ``path`` owned by us with ``mode``, refusing a symlink or someone else's directory."""
    try:
        path.mkdir(mode=mode)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise IsolationError(f"{path} is not a directory owned by uid {os.geteuid()}")
    os.chmod(path, mode)


def _sweep_dead(directory: Path) -> None:
    """Remove entries named ``<pid>-...`` whose process is gone (it died without cleaning up)."""
    for entry in directory.iterdir():
        pid = entry.name.split("-", 1)[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            shutil.rmtree(entry, ignore_errors=True)


def _traversable(path: Path) -> bool:
    """Can a uid that is neither owner nor group member reach ``path`` (search on every ancestor)?"""
    for ancestor in path.resolve().parents:
        try:
            if not os.stat(ancestor).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def _parent_pid(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return _status_fields(text, ("PPid:",)).get("PPid:")


def _status_fields(text: str, names: tuple[str, ...]) -> dict[str, int]:
    found = {}
    for line in text.splitlines():
        name, _, value = line.partition("\t")
        if name in names:
            found[name] = int(value.split()[0])
    return found


def _private_kb(smaps_rollup: str) -> int:
    """Private_Clean + Private_Dirty of a ``smaps_rollup``, in KiB."""
    total = 0
    for line in smaps_rollup.splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            total += int(line.split()[1])
    return total


def _read_at(dir_fd: int, name: str) -> str:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return ""
    try:
        return os.read(fd, 8192).decode("ascii", "replace")
    except OSError:
        return ""
    finally:
        os.close(fd)


@functools.cache
def _host_devices(name: str) -> frozenset[int]:
    """Devices a sandbox's ``/proc`` (or ``/tmp``) must not be on: the host's own."""
    return frozenset(os.stat(path).st_dev for path in (f"/{name}", "/"))


def _signal_fd(fd: int, sig: int) -> bool:
    """Signal through a pidfd (or /proc/<pid> dir fd); False when the process is gone."""
    try:
        signal.pidfd_send_signal(fd, sig)
    except ProcessLookupError:
        return False
    except OSError:
        pass
    return True


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _remove_cgroup(path: Path) -> None:
    try:
        (path / "cgroup.kill").write_text("1")
    except OSError:
        pass
    for _ in range(100):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)
