"""Pure Lambda rules: names, ARNs, qualifiers, configuration limits, zip handling. No Django here."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

LATEST = "$LATEST"
MIN_MEMORY_MB, MAX_MEMORY_MB = 128, 10240
MIN_TIMEOUT_S, MAX_TIMEOUT_S = 1, 900
MAX_ENVIRONMENT_BYTES = 4 * 1024
MAX_ZIP_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD_BYTES = 256 * 1024
# Variables Lambda sets itself; a function may not override them.
RESERVED_VARIABLES = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ALIAS = re.compile(r"^(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}$")
_VERSION = re.compile(r"^[0-9]+$")
# name | account:function:name | arn:aws:lambda:region:account:function:name, each with an optional :qualifier
_FUNCTION_REF = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:"
    r"|(?P<partial_account>\d{12}):function:)?"
    r"(?P<name>[a-zA-Z0-9_-]{1,64})(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]{1,128}))?$"
)
_VARIABLE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]+$")
_ROLE = re.compile(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


class RuleViolation(ValueError):
    """A request breaks a Lambda rule; ``kind`` picks the error code the caller answers with."""

    def __init__(self, message: str, kind: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind  # "invalid" (InvalidParameterValue) or "validation" (ValidationException)


@dataclass(frozen=True)
class FunctionRef:
    name: str
    qualifier: str | None
    account: str | None


def parse_function_ref(value: str) -> FunctionRef:
    """A FunctionName parameter: a name, a partial ARN or a full ARN, each optionally qualified."""
    match = _FUNCTION_REF.match(value or "")
    if match is None:
        raise RuleViolation(
            f"1 validation error detected: Value '{value}' at 'functionName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: "
            r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?"
            r"([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?",
            "validation",
        )
    return FunctionRef(match["name"], match["qualifier"], match["account"] or match["partial_account"])


def check_function_name(name: str) -> None:
    if not _NAME.match(name or ""):
        raise RuleViolation(
            f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ and have length at most 64",
            "validation",
        )


def check_alias_name(name: str) -> None:
    if not _ALIAS.match(name or ""):
        raise RuleViolation(
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)",
            "validation",
        )


def is_version_number(qualifier: str) -> bool:
    return bool(_VERSION.match(qualifier))


def function_arn(region: str, account: str, name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def check_memory(memory_mb: int) -> None:
    if not MIN_MEMORY_MB <= memory_mb <= MAX_MEMORY_MB:
        raise RuleViolation(
            f"1 validation error detected: Value '{memory_mb}' at 'memorySize' failed to satisfy constraint: "
            f"Member must have value between {MIN_MEMORY_MB} and {MAX_MEMORY_MB}",
            "validation",
        )


def check_timeout(timeout_s: int) -> None:
    if not MIN_TIMEOUT_S <= timeout_s <= MAX_TIMEOUT_S:
        raise RuleViolation(
            f"1 validation error detected: Value '{timeout_s}' at 'timeout' failed to satisfy constraint: "
            f"Member must have value between {MIN_TIMEOUT_S} and {MAX_TIMEOUT_S}",
            "validation",
        )


def check_role(role: str) -> None:
    if not _ROLE.match(role or ""):
        raise RuleViolation(
            f"1 validation error detected: Value '{role}' at 'role' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: "
            r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+",
            "validation",
        )


def check_environment(variables: dict[str, str]) -> None:
    """Lambda's own messages for key names, reserved keys and the 4 KB limit on all variables together."""
    if any(not _VARIABLE.match(key) for key in variables) or any("\0" in str(value) for value in variables.values()):
        raise RuleViolation(
            "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: "
            "Map keys must satisfy constraint: "
            "[Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]",
            "validation",
        )
    reserved = sorted(key for key in variables if key in RESERVED_VARIABLES)
    if reserved:
        raise RuleViolation(
            "Lambda was unable to configure your environment variables because the environment variables you "
            "have provided contains reserved keys that are currently not supported for modification. "
            f"Reserved keys used in this request: {','.join(reserved)}"
        )
    size = sum(len(key.encode()) + len(str(value).encode()) for key, value in variables.items())
    if size > MAX_ENVIRONMENT_BYTES:
        raise RuleViolation(
            "Lambda was unable to configure your environment variables because the environment variables you "
            "have provided exceeded the 4KB limit. String measured: "
            f"{size} bytes"
        )


def code_sha256(data: bytes) -> str:
    """CodeSha256 as Lambda reports it: the base64 of the zip's SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def check_zip(data: bytes) -> None:
    """A readable zip within Lambda's size limits, with no member escaping its root."""
    if len(data) > MAX_ZIP_BYTES:
        raise RuleViolation(f"Zipped size must be smaller than {MAX_ZIP_BYTES} bytes", "too_large")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise RuleViolation(
            "Could not unzip uploaded file. Please check your file, then try to upload again."
        ) from None
    if sum(member.file_size for member in members) > MAX_UNZIPPED_BYTES:
        raise RuleViolation(f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")
    for member in members:
        if _unsafe_member(member.filename):
            raise RuleViolation("Could not unzip uploaded file. Please check your file, then try to upload again.")


def _unsafe_member(name: str) -> bool:
    path = Path(name)
    return path.is_absolute() or ".." in path.parts or name.startswith("\\")


def extract_zip(data: bytes, target: Path) -> None:
    """Unpack into ``target``: world-readable, executable bits kept (a ``provided`` bootstrap needs them),
    nothing writable, symlinks written as plain files."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.infolist():
            if _unsafe_member(member.filename):
                continue
            destination = target / member.filename
            if member.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, open(destination, "wb") as sink:
                while chunk := source.read(1024 * 1024):
                    sink.write(chunk)
            mode = (member.external_attr >> 16) & 0o777
            os.chmod(destination, 0o555 if mode & stat.S_IXUSR else 0o444)
    for directory in [target, *(p for p in target.rglob("*") if p.is_dir())]:
        os.chmod(directory, 0o555)


def paginate(items: list, marker: str | None, max_items: int | None, default: int = 50) -> tuple[list, str | None]:
    """One page of ``items`` from the opaque ``marker`` (an offset), and the next marker or None."""
    try:
        start = int(marker) if marker else 0
    except ValueError:
        raise RuleViolation(f"Invalid marker: {marker}") from None
    size = max(1, min(max_items or default, 10000))
    page = items[start : start + size]
    return page, (str(start + size) if start + size < len(items) else None)
