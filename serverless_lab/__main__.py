"""``python3 -m serverless_lab [run|test] [args…]``: set up and run Serverless Lab from a fresh clone.

Only the standard library is used here, because nothing else is installed yet: it creates
``.venv`` when missing, (re)installs the requirements when their files changed, then hands over to
``manage.py runlab`` (``run``, the default) or to the test runner (``test``).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("LAB_VENV") or ROOT / ".venv")
REQUIREMENTS = {"run": ROOT / "requirements.txt", "test": ROOT / "requirements-dev.txt"}


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def requirements_digest(path: Path) -> str:
    digest = hashlib.sha256()
    for file in (path, ROOT / "requirements.txt"):
        digest.update(file.read_bytes())
    return digest.hexdigest()


def ensure_environment(kind: str) -> Path:
    if sys.version_info < (3, 11):
        sys.exit(f"Serverless Lab needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    python = venv_python()
    if not python.exists():
        print(f"creating a virtual environment in {VENV} …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    requirements = REQUIREMENTS[kind]
    stamp = VENV / f".lab-{kind}-requirements.sha256"
    digest = requirements_digest(requirements)
    if not stamp.exists() or stamp.read_text() != digest:
        print(f"installing {requirements.name} …", flush=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", str(requirements)],
            check=True,
        )
        stamp.write_text(digest)
    return python


def main(argv: list[str]) -> None:
    command, args = (argv[0], argv[1:]) if argv and argv[0] in REQUIREMENTS else ("run", argv)
    python = ensure_environment(command)
    os.chdir(ROOT)
    if command == "run":
        target = [str(python), str(ROOT / "manage.py"), "runlab", *args]
    else:
        target = [str(python), "-m", "serverless_lab.ops.testrun", *args]
    os.execv(str(python), target)


if __name__ == "__main__":
    main(sys.argv[1:])
