"""Hostile Lambda functions: each attack is contained, and the pool serves the function again afterwards.

Every test runs a function whose handler attacks the host from inside its execution environment,
asserts the concrete containment outcome (the errno the attack met, the status the invocation got,
what the host saw), then invokes the same function again through the same pool.  bubblewrap is
required: without it the pool cannot be created and every test fails.

The pool here uses a smaller /tmp (64 MB, 3000 files) and process limit than the defaults only to
keep the suite fast; the mechanisms are the production ones.
"""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from serverless_lab.runtime import (
    Credentials,
    EnvironmentPool,
    ExecutionEnvironment,
    FunctionSpec,
    InvokeResult,
    IsolationConfig,
)

PROJECT_DIR = Path(__file__).resolve().parents[2]
CONFIG = IsolationConfig(tmp_size_mb=64, tmp_max_files=3000, max_processes=128)
PRELUDE = "import ctypes, errno, json, os, resource, signal, socket, subprocess, sys, time\n"
EPILOGUE = """
def handler(event, context):
    if event.get("probe"):
        return "alive"
    return attack(event, context)
"""


def _host_uids_in_use(uid: int) -> list[int]:
    """Host PIDs of processes running as ``uid``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^Uid:\t(\d+)", status, re.M)
        if match and int(match.group(1)) == uid:
            pids.append(int(entry))
    return pids


@dataclass
class Attack:
    """The outcome of one attack plus the environment it ran in (for host-side checks)."""

    result: InvokeResult
    spec: FunctionSpec
    uid: int | None

    @property
    def seen(self) -> Any:
        assert self.result.status == "ok", self.result.log[-3000:]
        return json.loads(self.result.payload)


@dataclass
class Lab:
    pool: EnvironmentPool
    root: Path
    specs: list[FunctionSpec] = field(default_factory=list)

    def function(self, body: str, *, runtime: str = "python3.11", files: dict[str, str] | None = None,
                 **overrides: Any) -> FunctionSpec:  # fmt: skip
        code = self.root / f"fn-{uuid.uuid4().hex[:8]}"
        code.mkdir(mode=0o755)
        if runtime.startswith("python"):
            (code / "lambda_function.py").write_text(PRELUDE + textwrap.dedent(body) + EPILOGUE)
            handler = "lambda_function.handler"
        else:
            (code / "index.js").write_text(textwrap.dedent(body))
            handler = "index.handler"
        for name, text in (files or {}).items():
            (code / name).write_text(text)
        for path in code.iterdir():
            path.chmod(0o644)
        fields: dict[str, Any] = {
            "function_name": code.name,
            "function_arn": f"arn:aws:lambda:us-east-1:123456789012:function:{code.name}",
            "runtime": runtime,
            "handler": handler,
            "code_dir": code,
            "timeout_s": 5,
            "credentials": Credentials("AKIAATTACKER0000001", "attacker-secret"),
        }
        fields.update(overrides)
        return FunctionSpec(**fields)

    def attack(self, spec: FunctionSpec, event: dict[str, Any] | None = None) -> Attack:
        env = self.pool.acquire(spec)
        uid = env.host_uid
        try:
            result = env.invoke(json.dumps(event or {}).encode(), request_id=f"attack-{uuid.uuid4()}")
        finally:
            self.pool.release(env)
        return Attack(result, spec, uid)

    def run(self, body: str, event: dict[str, Any] | None = None, **options: Any) -> Attack:
        spec = self.function(body, **options)
        outcome = self.attack(spec, event)
        self.assert_serving(spec)
        return outcome

    def assert_serving(self, spec: FunctionSpec) -> None:
        env = self.pool.acquire(spec)
        try:
            probe = {"probe": True} if spec.runtime.startswith("python") else {}
            result = env.invoke(json.dumps(probe).encode(), request_id="after-the-attack")
        finally:
            self.pool.release(env)
        assert result.status == "ok", result.log
        if spec.runtime.startswith("python"):
            assert result.payload == b'"alive"'


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    pool = EnvironmentPool(CONFIG)
    yield Lab(pool, tmp_path_factory.mktemp("attacks"))
    pool.close_all()


def _refused(outcome: list[Any]) -> bool:
    return outcome[0] in ("ConnectionRefusedError", "OSError") and outcome[1] in (errno.ECONNREFUSED, errno.ENETUNREACH)


TRY = """
def trial(fn):
    try:
        return ["ok", repr(fn())[:300]]
    except Exception as exc:
        return [type(exc).__name__, getattr(exc, "errno", None), str(exc)[:300]]
"""

# --- network -------------------------------------------------------------------------------------


def test_local_database_and_redis_ports_are_unreachable(lab: Lab) -> None:
    seen = lab.run(TRY + """
def attack(event, context):
    return {port: trial(lambda: socket.create_connection(("127.0.0.1", port), timeout=2)) for port in (5432, 6379)}
""").seen  # fmt: skip
    assert seen["5432"][:2] == ["ConnectionRefusedError", errno.ECONNREFUSED]
    assert seen["6379"][:2] == ["ConnectionRefusedError", errno.ECONNREFUSED]


def test_a_host_listener_is_unreachable_on_loopback_and_on_the_host_address(lab: Lab) -> None:
    listener = socket.socket()
    listener.bind(("0.0.0.0", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.connect(("192.0.2.1", 9))  # a UDP connect only picks the route; nothing is sent
    host_ip = probe.getsockname()[0]
    probe.close()
    seen = lab.run(TRY + """
def attack(event, context):
    return [trial(lambda: socket.create_connection((host, event["port"]), timeout=2)) for host in event["hosts"]]
""", {"port": port, "hosts": ["127.0.0.1", host_ip, "0.0.0.0"]}).seen  # fmt: skip
    assert all(_refused(outcome) for outcome in seen), seen
    with pytest.raises(BlockingIOError):
        listener.accept()  # nothing ever connected
    listener.close()


def test_dns_and_the_internet_fail_at_once_without_sending_anything(lab: Lab) -> None:
    seen = lab.run(TRY + """
def attack(event, context):
    started = time.monotonic()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    outcome = {
        "dns": trial(lambda: socket.getaddrinfo("example.com", 443)),
        "udp_1111": trial(lambda: udp.sendto(b"query", ("1.1.1.1", 53))),
        "tcp_8888": trial(lambda: socket.create_connection(("8.8.8.8", 443), timeout=5)),
        "imds": trial(lambda: socket.create_connection(("169.254.169.254", 80), timeout=5)),
        "ipv6": trial(lambda: socket.create_connection(("2606:4700:4700::1111", 53), timeout=5)),
        "interfaces": sorted(line.split(":")[0].strip() for line in open("/proc/net/dev").readlines()[2:]),
    }
    outcome["seconds"] = time.monotonic() - started
    return outcome
""").seen  # fmt: skip
    assert seen["dns"][0] == "gaierror"
    for name in ("udp_1111", "tcp_8888", "imds", "ipv6"):
        assert seen[name][1] == errno.ENETUNREACH, (name, seen[name])
    assert seen["interfaces"] == ["lo"]
    assert seen["seconds"] < 1.0


def test_raw_and_packet_sockets_are_refused(lab: Lab) -> None:
    seen = lab.run(TRY + """
def attack(event, context):
    return {
        "raw": trial(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)),
        "packet": trial(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW)),
    }
""").seen  # fmt: skip
    assert seen["raw"][:2] == ["PermissionError", errno.EPERM]
    assert seen["packet"][:2] == ["PermissionError", errno.EPERM]


def test_the_endpoint_relay_only_ever_reaches_the_configured_address(lab: Lab) -> None:
    received: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve() -> None:
        conn, _ = server.accept()
        received.append(conn.recv(65536))
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = server.getsockname()[1]
    seen = lab.run(TRY + """
def attack(event, context):
    endpoint = os.environ["AWS_ENDPOINT_URL"].rsplit(":", 1)[1]
    conn = socket.create_connection(("127.0.0.1", int(endpoint)), timeout=3)
    conn.sendall(b"GET /latest/meta-data/ HTTP/1.1\\r\\nHost: 169.254.169.254\\r\\n\\r\\n")
    return {"answer": conn.recv(1024).decode(), "other_port": trial(lambda: socket.create_connection(
        ("127.0.0.1", int(endpoint) + 1), timeout=2))}
""", endpoint=("127.0.0.1", port)).seen  # fmt: skip
    thread.join(5)
    server.close()
    assert seen["answer"].endswith("ok")
    assert received and received[0].startswith(b"GET /latest/meta-data/")  # it landed on our endpoint, only
    assert _refused(seen["other_port"])


# --- files -------------------------------------------------------------------------------------


def test_host_secrets_and_the_project_are_not_there(lab: Lab) -> None:
    seen = lab.run(TRY + """
def attack(event, context):
    project = event["project"]
    paths = ["/etc/shadow", "/etc/gshadow", "/root", "/root/.npmrc", "/home", project,
             project + "/serverless_lab/settings.py", project + "/.venv/pyvenv.cfg", "/var/lib/postgresql"]
    found = []
    for top in ("/", "/var", "/tmp", "/opt", "/run", "/etc"):
        for dirpath, dirnames, filenames in os.walk(top):
            if dirpath.startswith(("/proc", "/sys", "/usr", "/var/lang")):
                dirnames[:] = []
                continue
            found += [os.path.join(dirpath, n) for n in filenames if n.endswith((".sqlite3", ".env", "settings.py"))]
    return {"paths": {path: trial(lambda: os.listdir(path) if os.path.isdir(path) else open(path).read())
                      for path in paths}, "found": found}
""", {"project": str(PROJECT_DIR)}).seen  # fmt: skip
    for path, outcome in seen["paths"].items():
        assert outcome[:2] == ["FileNotFoundError", errno.ENOENT], (path, outcome)
    assert seen["found"] == []


def test_another_functions_code_is_out_of_reach(lab: Lab) -> None:
    marker = f"SECRET-{uuid.uuid4()}"
    victim = lab.function("def attack(event, context):\n    return 1\n", files={"secret.py": f"KEY = '{marker}'\n"})
    assert lab.attack(victim).result.status == "ok"  # the victim has a live environment too
    seen = lab.run(TRY + """
def attack(event, context):
    hits = []
    for top in ("/var", "/tmp", "/opt", "/run", "/etc"):
        for dirpath, dirnames, filenames in os.walk(top):
            if dirpath == "/var/lang":  # the host's interpreter: big, and no function code in it
                dirnames[:] = []
                continue
            for name in filenames:
                try:
                    if event["marker"].encode() in open(os.path.join(dirpath, name), "rb").read(1 << 20):
                        hits.append(os.path.join(dirpath, name))
                except OSError:
                    pass
    return {"direct": trial(lambda: open(event["path"] + "/secret.py").read()), "hits": hits,
            "task": sorted(os.listdir("/var/task"))}
""", {"path": str(victim.code_dir), "marker": marker}).seen  # fmt: skip
    assert seen["direct"][:2] == ["FileNotFoundError", errno.ENOENT]
    assert seen["hits"] == []
    assert seen["task"] == ["lambda_function.py"]


def test_nothing_outside_tmp_is_writable(lab: Lab) -> None:
    seen = lab.run(TRY + """
def attack(event, context):
    targets = ["/var/task/evil.py", "/evil", "/usr/evil", "/usr/bin/python3", "/etc/passwd", "/var/runtime/launcher.py",
               "/var/lang/evil", "/run/sandbox/evil", "/opt/evil", "/dev/evil", "/proc/evil"]
    outcome = {t: trial(lambda: open(t, "a").write("x")) for t in targets}
    outcome["tmp"] = trial(lambda: open("/tmp/ok", "w").write("x"))
    return outcome
""").seen  # fmt: skip
    tmp = seen.pop("tmp")
    assert tmp == ["ok", "1"]
    for target, outcome in seen.items():
        assert outcome[1] in (errno.EROFS, errno.EACCES, errno.ENOENT), (target, outcome)
        assert outcome[0] != "ok"


def test_tmp_fills_up_at_its_cap(lab: Lab) -> None:
    seen = lab.run("""
def attack(event, context):
    written = 0
    chunk = b"x" * (1 << 20)
    try:
        with open("/tmp/fill", "wb") as stream:
            while written < (1 << 30):
                stream.write(chunk)
                stream.flush()
                written += len(chunk)
    except OSError as exc:
        return {"errno": exc.errno, "written_mb": written >> 20}
    return {"errno": None, "written_mb": written >> 20}
""").seen  # fmt: skip
    assert seen["errno"] in (errno.ENOSPC, errno.EFBIG)
    assert seen["written_mb"] <= CONFIG.tmp_size_mb


def test_a_file_count_bomb_in_tmp_is_stopped(lab: Lab) -> None:
    outcome = lab.run("""
def attack(event, context):
    n = 0
    while True:
        open(f"/tmp/f{n}", "w").close()
        n += 1
""", timeout_s=20)  # fmt: skip
    assert (outcome.result.status, outcome.result.error_type) == ("crash", "Runtime.ExitError")
    assert f"Sandbox: /tmp holds more than {CONFIG.tmp_max_files} files" in outcome.result.log


def test_symlinks_from_tmp_lead_nowhere(lab: Lab) -> None:
    seen = lab.run(TRY + """
def attack(event, context):
    out = {}
    targets = ["/etc/shadow", "/root/.npmrc", event["project"] + "/manage.py", "/proc/1/root/etc/shadow",
               "/proc/self/root/../../etc/shadow", "../../../../etc/shadow"]
    for i, target in enumerate(targets):
        os.symlink(target, f"/tmp/link{i}")
        out[target] = trial(lambda: open(f"/tmp/link{i}").read())
    out["root_is_own"] = os.stat("/proc/1/root/").st_ino == os.stat("/").st_ino
    out["hardlink"] = trial(lambda: os.link("/var/task/lambda_function.py", "/tmp/hard"))
    return out
""", {"project": str(PROJECT_DIR)}).seen  # fmt: skip
    assert seen.pop("root_is_own") is True
    assert seen.pop("hardlink")[1] in (errno.EXDEV, errno.EPERM, errno.EROFS)
    for target, outcome in seen.items():
        assert outcome[:2] == ["FileNotFoundError", errno.ENOENT], (target, outcome)


def test_devices_cannot_be_created_or_written(lab: Lab) -> None:
    seen = lab.run(TRY + """
def attack(event, context):
    return {
        "mknod": trial(lambda: os.mknod("/tmp/disk", 0o600 | 0o060000, os.makedev(8, 0))),
        "create": trial(lambda: open("/dev/evil", "w")),
        "disks": sorted(name for name in os.listdir("/dev") if name.startswith(("sd", "vd", "nvme", "mem", "kmsg"))),
        "null": trial(lambda: open("/dev/null", "w").write("fine")),
    }
""").seen  # fmt: skip
    assert seen["mknod"][:2] == ["PermissionError", errno.EPERM]
    assert seen["create"][1] == errno.EROFS
    assert seen["disks"] == []
    assert seen["null"] == ["ok", "4"]


# --- processes, memory, CPU, output ------------------------------------------------------------


def test_a_fork_bomb_hits_the_process_limit_and_leaves_nothing_behind(lab: Lab) -> None:
    outcome = lab.run("""
def attack(event, context):
    while True:
        try:
            os.fork()
        except OSError:
            pass
""", timeout_s=2)  # fmt: skip
    assert outcome.result.status == "timeout"
    assert outcome.uid is not None and _host_uids_in_use(outcome.uid) == []


def test_forks_are_capped_by_rlimit_nproc(lab: Lab) -> None:
    seen = lab.run("""
def attack(event, context):
    children = 0
    try:
        while True:
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
            children += 1
    except OSError as exc:
        return {"children": children, "errno": exc.errno, "limit": resource.getrlimit(resource.RLIMIT_NPROC)}
""").seen  # fmt: skip
    assert seen["errno"] == errno.EAGAIN
    assert seen["children"] < CONFIG.max_processes
    assert seen["limit"] == [CONFIG.max_processes, CONFIG.max_processes]


def test_a_memory_bomb_is_out_of_memory(lab: Lab) -> None:
    outcome = lab.run("""
def attack(event, context):
    hoard = []
    while True:
        hoard.append(bytearray(8 << 20))
""", timeout_s=20)  # fmt: skip
    assert (outcome.result.status, outcome.result.error_type) == ("oom", "Runtime.OutOfMemory")


def test_memory_spread_over_child_processes_still_counts(lab: Lab) -> None:
    outcome = lab.run("""
def attack(event, context):
    for _ in range(4):
        if os.fork() == 0:
            block = bytearray(60 << 20)
            time.sleep(30)
            os._exit(0)
    time.sleep(30)
""", timeout_s=20)  # fmt: skip
    assert (outcome.result.status, outcome.result.error_type) == ("oom", "Runtime.OutOfMemory")
    assert outcome.result.max_memory_used_mb > 128


def test_a_cpu_spin_is_stopped_at_the_timeout(lab: Lab) -> None:
    started = time.monotonic()
    outcome = lab.run("""
def attack(event, context):
    while True:
        pass
""", timeout_s=1)  # fmt: skip
    assert outcome.result.status == "timeout" and outcome.result.error_type == "Sandbox.Timedout"
    assert time.monotonic() - started < 10


def _host_rss_kb() -> int:
    return int(re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))  # type: ignore[union-attr]


def test_a_stdout_flood_is_capped_without_growing_the_host(lab: Lab) -> None:
    before = _host_rss_kb()
    outcome = lab.run("""
def attack(event, context):
    line = "x" * 65535 + "\\n"
    for _ in range(3000):  # about 200 MB
        sys.stdout.write(line)
    return "done"
""", timeout_s=30)  # fmt: skip
    assert outcome.seen == "done"
    assert "... output truncated (" in outcome.result.log
    assert len(outcome.result.log) < (1 << 20) + 4096
    assert _host_rss_kb() - before < 64 * 1024


def test_killing_the_parent_changes_nothing(lab: Lab) -> None:
    seen = lab.run(TRY + """
def attack(event, context):
    parent = os.getppid()
    return {"parent": parent, "kill_parent": trial(lambda: os.kill(parent, signal.SIGKILL)),
            "kill_init": trial(lambda: os.kill(1, signal.SIGKILL)), "still_here": os.getpid()}
""").seen  # fmt: skip
    assert seen["parent"] == 1  # bubblewrap's init: signals from inside its namespace are ignored
    assert seen["still_here"] == 2


def test_kill_minus_one_only_kills_the_sandbox(lab: Lab) -> None:
    outcome = lab.run("""
def attack(event, context):
    os.kill(-1, signal.SIGKILL)  # every process it may signal but itself and init: the relay goes
    return "unreachable"
""")  # fmt: skip
    # The runtime cannot answer without its relay and exits: the environment is replaced.
    assert (outcome.result.status, outcome.result.error_type) == ("crash", "Runtime.ExitError")
    assert "Runtime exited with error: exit status 1" in json.loads(outcome.result.payload)["errorMessage"]
    assert os.getppid() > 1  # this test process and its parent are untouched


def test_an_orphan_is_frozen_between_invocations_and_dies_with_the_environment(lab: Lab) -> None:
    spec = lab.function("""
def attack(event, context):
    subprocess.Popen(["/bin/sleep", "300"], start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return "left a sleeper behind"
""")  # fmt: skip
    env = ExecutionEnvironment(spec, host=lab.pool._host)
    env.start()
    assert env.invoke(b"{}", request_id="orphan").status == "ok"
    uid = env.host_uid
    assert uid is not None
    stats = [Path(f"/proc/{pid}/stat").read_text() for pid in _host_uids_in_use(uid)]
    states = {stat.rsplit(")", 1)[1].split()[0] for stat in stats if "(bwrap)" not in stat}
    assert states == {"T"}  # runtime, relay and the sleeper are all frozen while idle, as on AWS
    assert env.invoke(b'{"probe": true}', request_id="probe").payload == b'"alive"'
    env.close()
    assert _host_uids_in_use(uid) == []


# --- identity and introspection -----------------------------------------------------------------


def test_host_processes_are_invisible_in_proc(lab: Lab) -> None:
    seen = lab.run(TRY + """
def attack(event, context):
    pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    cmdlines = [open(f"/proc/{p}/cmdline", "rb").read().replace(b"\\0", b" ").decode() for p in pids]
    return {"pids": pids, "cmdlines": cmdlines, "host_pid": trial(lambda: os.listdir(f"/proc/{event['host_pid']}")),
            "init_env": open("/proc/1/environ", "rb").read().decode()}
""", {"host_pid": os.getpid()}).seen  # fmt: skip
    assert seen["pids"] == [1, 2, 3]  # bwrap's init, the runtime, the relay
    assert not any("pytest" in cmdline or "postgres" in cmdline for cmdline in seen["cmdlines"])
    assert seen["host_pid"][0] == "FileNotFoundError"
    assert seen["init_env"] == "PATH=/usr/sbin:/usr/bin:/sbin:/bin\0"


def test_the_environment_holds_no_host_secret(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "django-host-secret-do-not-leak")
    monkeypatch.setenv("DATABASE_URL", "postgres://lab:db-password-do-not-leak@127.0.0.1/lab")
    seen = lab.run("""
def attack(event, context):
    blobs = [repr(dict(os.environ))]
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            blobs.append(open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace"))
        except OSError:
            pass
    return "\\n".join(blobs)
""").seen  # fmt: skip
    assert "do-not-leak" not in seen
    for name in ("SECRET_KEY", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "HOME=", "PYENV_ROOT", "VIRTUAL_ENV"):
        assert name not in seen


def test_only_its_own_sandbox_credentials_are_visible(lab: Lab) -> None:
    other = lab.function("def attack(event, context):\n    return 1\n",
                         credentials=Credentials("AKIABOBSANDBOX00001", "bob-secret-key-do-not-leak"))  # fmt: skip
    assert lab.attack(other).result.status == "ok"
    seen = lab.run("""
def attack(event, context):
    blobs = [repr(dict(os.environ))]
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            blobs.append(open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace"))
        except OSError:
            pass
    return {"mine": os.environ["AWS_ACCESS_KEY_ID"], "all": "\\n".join(blobs)}
""").seen  # fmt: skip
    assert seen["mine"] == "AKIAATTACKER0000001"
    assert "AKIABOBSANDBOX00001" not in seen["all"] and "bob-secret-key" not in seen["all"]


def test_privilege_syscalls_are_refused(lab: Lab) -> None:
    seen = lab.run(TRY + """
libc = ctypes.CDLL(None, use_errno=True)

def errno_of(call):
    return [call(), ctypes.get_errno()]

def attack(event, context):
    return {
        "ptrace_init": errno_of(lambda: libc.ptrace(16, 1, 0, 0)),
        "ptrace_traceme": errno_of(lambda: libc.ptrace(0, 0, 0, 0)),
        "mount": errno_of(lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
        "unshare_user": errno_of(lambda: libc.unshare(0x10000000)),
        "unshare_net": errno_of(lambda: libc.unshare(0x40000000)),
        "keyctl": errno_of(lambda: libc.syscall(250 if os.uname().machine == "x86_64" else 219, 0, 0, 0, 0)),
        "setuid": trial(lambda: os.setuid(0)),
        "setgid": trial(lambda: os.setgid(0)),
        "chroot": trial(lambda: os.chroot("/tmp")),
        "hostname": trial(lambda: socket.sethostname("owned")),
        "caps": [line for line in open("/proc/self/status") if line.startswith(("CapEff", "CapBnd", "NoNewPrivs"))],
        "uid": [os.getuid(), os.geteuid(), os.getgid()],
    }
""").seen  # fmt: skip
    for name in ("ptrace_init", "ptrace_traceme", "mount", "unshare_user", "unshare_net", "keyctl"):
        assert seen[name] == [-1, errno.EPERM], (name, seen[name])
    assert seen["setuid"][1] in (errno.EPERM, errno.EINVAL) and seen["setgid"][1] in (errno.EPERM, errno.EINVAL)
    assert seen["chroot"][:2] == ["PermissionError", errno.EPERM]
    assert seen["hostname"][:2] == ["PermissionError", errno.EPERM]
    assert seen["caps"] == ["CapEff:\t0000000000000000\n", "CapBnd:\t0000000000000000\n", "NoNewPrivs:\t1\n"]
    assert seen["uid"] == [993, 993, 990]


def test_resource_limits_cannot_be_raised(lab: Lab) -> None:
    seen = lab.run(TRY + """
def attack(event, context):
    out = {}
    for name in ("RLIMIT_NPROC", "RLIMIT_AS", "RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_CORE"):
        limit = getattr(resource, name)
        out[name] = trial(lambda: resource.setrlimit(limit, (resource.RLIM_INFINITY, resource.RLIM_INFINITY)))
    files = []
    try:
        while True:
            files.append(open("/dev/null"))
    except OSError as exc:
        out["open_files"] = [len(files), exc.errno]
    return out
""").seen  # fmt: skip
    open_files = seen.pop("open_files")
    assert open_files[1] == errno.EMFILE and open_files[0] < CONFIG.max_open_files
    for name, outcome in seen.items():
        assert outcome[0] == "ValueError" and "not allowed to raise" in outcome[2], (name, outcome)


def test_the_runtime_api_refuses_forged_calls(lab: Lab) -> None:
    seen = lab.run("""
def post(path, body=b"{}"):
    conn = socket.create_connection(("127.0.0.1", 9001))
    head = f"POST {path} HTTP/1.1\\r\\nContent-Length: {len(body)}\\r\\nConnection: close\\r\\n\\r\\n"
    conn.sendall(head.encode() + body)
    return conn.recv(4096).split(b"\\r\\n")[0].decode()

def attack(event, context):
    return {"forged": post("/2018-06-01/runtime/invocation/someone-else/response", b'"hijacked"'),
            "init": post("/2018-06-01/runtime/init/error"), "answer": "mine"}
""").seen  # fmt: skip
    assert seen == {"forged": "HTTP/1.1 400 Bad Request", "init": "HTTP/1.1 403 Forbidden", "answer": "mine"}


def test_node_functions_are_contained_too(lab: Lab) -> None:
    outcome = lab.run("""
const net = require('net');
const fs = require('fs');
const { execSync } = require('child_process');
const attempt = (fn) => {
  try { return ['ok', String(fn()).slice(0, 200)]; } catch (e) { return [e.code || e.name, e.message.slice(0, 200)]; }
};
const connect = (port) => new Promise((resolve) => {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('connect', () => { socket.destroy(); resolve('connected'); });
  socket.on('error', (e) => resolve(e.code));
});
exports.handler = async () => ({
  postgres: await connect(5432),
  shadow: attempt(() => fs.readFileSync('/etc/shadow')),
  npmrc: attempt(() => execSync('cat /root/.npmrc', { stdio: 'pipe' })),
  write: attempt(() => fs.writeFileSync('/var/task/evil.js', 'x')),
  uid: process.getuid(),
});
""", runtime="nodejs20.x")  # fmt: skip
    seen = outcome.seen
    assert seen["postgres"] == "ECONNREFUSED"
    assert seen["shadow"][0] == "ENOENT"
    assert seen["npmrc"][0] != "ok" and "No such file" in seen["npmrc"][1]
    assert seen["write"][0] == "EROFS"
    assert seen["uid"] == 993
