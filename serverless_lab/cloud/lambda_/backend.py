"""Lambda operations on a sandbox: one function per operation, keyword-only, ``sandbox`` first.

Functions are addressed the way Lambda addresses them: a name, a partial or full ARN, each with an
optional qualifier (``$LATEST``, a version number or an alias name), see :func:`resolve`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from serverless_lab.cloud.core.errors import AwsError
from serverless_lab.runtime.environment import RuntimeUnavailable, resolve_runtime
from serverless_lab.sandboxes.models import Sandbox

from . import code, exceptions, logic
from .models import Alias, Function, FunctionConfig, Version

# Runtimes the execution environments can run (issue 3: Python, Node.js and custom runtimes).
SUPPORTED_RUNTIMES = (
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "nodejs18.x",
    "nodejs20.x",
    "nodejs22.x",
    "provided",
    "provided.al2",
    "provided.al2023",
)


def sandbox_concurrency_limit(sandbox: Sandbox) -> int:
    """Concurrent executions one sandbox may run at once (AWS: 1000 per account and region)."""
    return int(getattr(settings, "LAB_LAMBDA_CONCURRENCY_PER_SANDBOX", 10))


@contextmanager
def _rules() -> Iterator[None]:
    """Turn a pure-logic rule violation into Lambda's error."""
    try:
        yield
    except logic.RuleViolation as violation:
        if violation.kind == "validation":
            raise exceptions.ValidationFailed(violation.message) from None
        if violation.kind == "too_large":
            raise AwsError(violation.message, code="RequestEntityTooLargeException", status=413) from None
        raise exceptions.InvalidParameterValue(violation.message) from None


def function_arn(function: Function, qualifier: str | None = None) -> str:
    return logic.function_arn(function.sandbox.region, function.sandbox.account_id, function.name, qualifier)


# --- resolving a FunctionName + Qualifier -------------------------------------------------------


@dataclass
class Target:
    """What an operation addresses: the function and, for a qualifier, the version or alias."""

    function: Function
    qualifier: str | None
    config: FunctionConfig  # the function ($LATEST) or the published version
    version: str  # "$LATEST" or the version number it runs
    alias: Alias | None = None


def _find_function(sandbox: Sandbox, function_name: str) -> tuple[Function, str | None]:
    with _rules():
        ref = logic.parse_function_ref(function_name)
    if ref.account is not None and ref.account != sandbox.account_id:
        raise exceptions.FunctionNotFound(logic.function_arn(sandbox.region, ref.account, ref.name))
    function = Function.objects.select_related("sandbox").filter(sandbox=sandbox, name=ref.name).first()
    if function is None:
        raise exceptions.FunctionNotFound(logic.function_arn(sandbox.region, sandbox.account_id, ref.name))
    return function, ref.qualifier


def get_function(*, sandbox: Sandbox, function_name: str) -> Function:
    """The function itself ($LATEST), ignoring any qualifier in the name."""
    return _find_function(sandbox, function_name)[0]


def resolve(*, sandbox: Sandbox, function_name: str, qualifier: str | None = None) -> Target:
    function, in_name = _find_function(sandbox, function_name)
    if qualifier and in_name and qualifier != in_name:
        raise exceptions.InvalidParameterValue(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    qualifier = qualifier or in_name
    if not qualifier or qualifier == logic.LATEST:
        return Target(function, qualifier, function, logic.LATEST)
    if logic.is_version_number(qualifier):
        version = function.versions.filter(number=int(qualifier)).first()
        if version is None:
            raise exceptions.FunctionNotFound(function_arn(function, qualifier))
        return Target(function, qualifier, version, qualifier)
    alias = function.aliases.filter(name=qualifier).first()
    if alias is None:
        raise exceptions.FunctionNotFound(function_arn(function, qualifier))
    if alias.function_version == logic.LATEST:
        return Target(function, qualifier, function, logic.LATEST, alias)
    return Target(
        function, qualifier, function.versions.get(number=int(alias.function_version)), alias.function_version, alias
    )


# --- functions ----------------------------------------------------------------------------------


def _check_config(
    *,
    runtime: str | None = None,
    role: str | None = None,
    memory_mb: int | None = None,
    timeout_s: int | None = None,
    environment: dict[str, str] | None = None,
) -> None:
    with _rules():
        if runtime is not None and runtime not in SUPPORTED_RUNTIMES:
            raise logic.RuleViolation(
                f"Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: "
                f"[{', '.join(SUPPORTED_RUNTIMES)}] or be a valid ARN",
            )
        if runtime is not None:
            try:
                resolve_runtime(runtime)
            except RuntimeUnavailable as exc:
                raise logic.RuleViolation(f"The runtime {runtime} is not available on this lab's host: {exc}") from None
        if role is not None:
            logic.check_role(role)
        if memory_mb is not None:
            logic.check_memory(memory_mb)
        if timeout_s is not None:
            logic.check_timeout(timeout_s)
        if environment is not None:
            logic.check_environment(environment)


def _zip_from_s3(sandbox: Sandbox, bucket: str, key: str, version_id: str | None) -> bytes:
    from serverless_lab.cloud.s3 import backend as s3

    try:
        obj = s3.get_object(sandbox=sandbox, bucket_name=bucket, key=key, version_id=version_id)
        return s3.read_object(obj)
    except AwsError as error:
        raise exceptions.InvalidParameterValue(
            f"Error occurred while GetObject. S3 Error Code: {error.code}. S3 Error Message: {error.message}"
        ) from None


def code_bytes(
    *,
    sandbox: Sandbox,
    zip_file: bytes | None,
    s3_bucket: str | None = None,
    s3_key: str | None = None,
    s3_version: str | None = None,
) -> bytes:
    """The deployment package from the request: inline ``ZipFile`` or an S3 object of this sandbox."""
    if zip_file is not None and (s3_bucket or s3_key):
        raise exceptions.InvalidParameterValue(
            "Please provide a source for function code: ZipFile or S3Bucket/S3Key, not both."
        )
    if zip_file is None:
        if not (s3_bucket and s3_key):
            raise exceptions.InvalidParameterValue("Please provide a source for function code.")
        zip_file = _zip_from_s3(sandbox, s3_bucket, s3_key, s3_version)
    with _rules():
        logic.check_zip(zip_file)
    return zip_file


def _store_code(target: FunctionConfig, sandbox: Sandbox, data: bytes) -> None:
    target.code_name, target.code_sha256 = code.save_zip(sandbox.pk, data)
    target.code_size = len(data)


def _touch(target: FunctionConfig) -> None:
    target.revision_id = str(uuid.uuid4())
    target.last_modified = timezone.now()


def create_function(
    *,
    sandbox: Sandbox,
    name: str,
    runtime: str,
    role: str,
    handler: str,
    zip_bytes: bytes,
    description: str = "",
    memory_mb: int = 128,
    timeout_s: int = 3,
    environment: dict[str, str] | None = None,
    publish: bool = False,
) -> Function:
    with _rules():
        logic.check_function_name(name)
    environment = environment or {}
    _check_config(runtime=runtime, role=role, memory_mb=memory_mb, timeout_s=timeout_s, environment=environment)
    if not handler and not runtime.startswith("provided"):
        raise exceptions.InvalidParameterValue("Handler is required for a function with a zip package.")
    if Function.objects.filter(sandbox=sandbox).count() >= sandbox.max_functions:
        raise exceptions.QuotaExceeded(
            f"This sandbox may hold at most {sandbox.max_functions} functions; delete one first."
        )
    function = Function(
        sandbox=sandbox,
        name=name,
        runtime=runtime,
        role=role,
        handler=handler,
        description=description,
        memory_mb=memory_mb,
        timeout_s=timeout_s,
        environment=environment,
    )
    _store_code(function, sandbox, zip_bytes)
    _touch(function)
    try:
        with transaction.atomic():
            function.save()
            if publish:
                _publish(function, description="")
    except IntegrityError:
        raise exceptions.ResourceConflict(f"Function already exist: {name}") from None
    return function


def list_functions(
    *, sandbox: Sandbox, all_versions: bool, marker: str | None, max_items: int | None
) -> tuple[list[FunctionConfig], str | None]:
    """$LATEST of each function, or (``FunctionVersion=ALL``) each followed by its published versions."""
    functions = list(Function.objects.filter(sandbox=sandbox).select_related("sandbox").order_by("name"))
    configs: list[FunctionConfig] = list(functions)
    if all_versions:
        versions: dict[int, list[Version]] = {}
        for version in Version.objects.filter(sandbox=sandbox).select_related("function__sandbox").order_by("number"):
            versions.setdefault(version.function_id, []).append(version)
        configs = [config for function in functions for config in (function, *versions.get(function.pk, []))]
    with _rules():
        return logic.paginate(configs, marker, max_items)


def update_function_code(
    *, sandbox: Sandbox, function_name: str, zip_bytes: bytes, publish: bool = False
) -> FunctionConfig:
    with transaction.atomic():
        function = _locked(sandbox, function_name)
        _store_code(function, sandbox, zip_bytes)
        _touch(function)
        function.save()
        return _publish(function, description="") if publish else function


def update_function_configuration(
    *, sandbox: Sandbox, function_name: str, changes: dict[str, Any], revision_id: str | None = None
) -> Function:
    """``changes`` holds model field names (runtime, handler, role, description, memory_mb, timeout_s, environment)."""
    _check_config(
        **{key: changes[key] for key in ("runtime", "role", "memory_mb", "timeout_s", "environment") if key in changes}
    )
    with transaction.atomic():
        function = _locked(sandbox, function_name)
        _check_revision(function.revision_id, revision_id)
        for key, value in changes.items():
            setattr(function, key, value)
        _touch(function)
        function.save()
        return function


def _locked(sandbox: Sandbox, function_name: str) -> Function:
    function = get_function(sandbox=sandbox, function_name=function_name)
    return Function.objects.select_for_update().select_related("sandbox").get(pk=function.pk)


def _check_revision(current: str, expected: str | None) -> None:
    if expected and expected != current:
        raise exceptions.PreconditionFailed(
            "The Revision Id provided does not match the latest Revision Id. "
            "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
        )


def delete_function(*, sandbox: Sandbox, function_name: str, qualifier: str | None = None) -> None:
    function, in_name = _find_function(sandbox, function_name)
    qualifier = qualifier or in_name
    if qualifier and qualifier != logic.LATEST:
        if not logic.is_version_number(qualifier):
            raise exceptions.InvalidParameterValue(
                "Deletion of aliases is not supported by DeleteFunction; use DeleteAlias."
            )
        if function.aliases.filter(function_version=qualifier).exists():
            raise exceptions.ResourceConflict(
                f"Unable to delete version because the following aliases reference it: "
                f"{list(function.aliases.filter(function_version=qualifier).values_list('name', flat=True))}"
            )
        deleted, _ = function.versions.filter(number=int(qualifier)).delete()
        if not deleted:
            raise exceptions.FunctionNotFound(function_arn(function, qualifier))
        return
    if qualifier == logic.LATEST:
        raise exceptions.InvalidParameterValue("$LATEST version cannot be deleted without deleting the function.")
    function.delete()


# --- concurrency --------------------------------------------------------------------------------


def put_function_concurrency(*, sandbox: Sandbox, function_name: str, reserved: int) -> Function:
    limit = sandbox_concurrency_limit(sandbox)
    if reserved < 0 or reserved > limit:
        raise exceptions.InvalidParameterValue(
            "Specified ReservedConcurrentExecutions for function is outside this sandbox's "
            f"concurrency limit of {limit}."
        )
    with transaction.atomic():
        function = _locked(sandbox, function_name)
        function.reserved_concurrency = reserved
        function.save(update_fields=["reserved_concurrency"])
    return function


def delete_function_concurrency(*, sandbox: Sandbox, function_name: str) -> None:
    function = get_function(sandbox=sandbox, function_name=function_name)
    function.reserved_concurrency = None
    function.save(update_fields=["reserved_concurrency"])  # save(), not update(): cached copies are dropped


# --- versions -----------------------------------------------------------------------------------


def _publish(function: Function, description: str) -> Version:
    """A new immutable version of $LATEST, or the newest one when nothing changed since."""
    newest = function.versions.order_by("-number").first()
    if newest is not None and all(getattr(newest, f) == getattr(function, f) for f in FunctionConfig.CONFIG_FIELDS):
        return newest
    number = (function.versions.aggregate(top=Max("number"))["top"] or 0) + 1
    fields = {f.name: getattr(function, f.name) for f in FunctionConfig._meta.get_fields()}
    fields.update(
        description=description or function.description, revision_id=str(uuid.uuid4()), last_modified=timezone.now()
    )
    return Version.objects.create(sandbox=function.sandbox, function=function, number=number, **fields)


def publish_version(
    *,
    sandbox: Sandbox,
    function_name: str,
    code_sha256: str | None = None,
    description: str = "",
    revision_id: str | None = None,
) -> Version:
    with transaction.atomic():
        function = _locked(sandbox, function_name)
        if code_sha256 and code_sha256 != function.code_sha256:
            raise exceptions.InvalidParameterValue(
                f"CodeSHA256 ({code_sha256}) is different from current CodeSHA256 in $LATEST "
                f"({function.code_sha256}). Please try again with the CodeSHA256 in $LATEST."
            )
        _check_revision(function.revision_id, revision_id)
        return _publish(function, description)


def list_versions(
    *, sandbox: Sandbox, function_name: str, marker: str | None, max_items: int | None
) -> tuple[list[FunctionConfig], str | None]:
    function = get_function(sandbox=sandbox, function_name=function_name)
    configs: list[FunctionConfig] = [function, *function.versions.order_by("number")]
    with _rules():
        return logic.paginate(configs, marker, max_items)


# --- aliases ------------------------------------------------------------------------------------


def _check_alias_version(function: Function, version: str) -> None:
    if version != logic.LATEST and not (
        logic.is_version_number(version) and function.versions.filter(number=int(version)).exists()
    ):
        raise exceptions.ResourceNotFound(f"Function not found: {function_arn(function, version)}")


def create_alias(
    *, sandbox: Sandbox, function_name: str, name: str, function_version: str, description: str = ""
) -> Alias:
    with _rules():
        logic.check_alias_name(name)
    function = get_function(sandbox=sandbox, function_name=function_name)
    _check_alias_version(function, function_version)
    try:
        with transaction.atomic():
            return Alias.objects.create(
                sandbox=sandbox,
                function=function,
                name=name,
                function_version=function_version,
                description=description,
                revision_id=str(uuid.uuid4()),
            )
    except IntegrityError:
        raise exceptions.ResourceConflict(f"Alias already exists: {function_arn(function, name)}") from None


def get_alias(*, sandbox: Sandbox, function_name: str, name: str) -> Alias:
    function = get_function(sandbox=sandbox, function_name=function_name)
    alias = function.aliases.filter(name=name).first()
    if alias is None:
        raise exceptions.ResourceNotFound(f"Cannot find alias arn: {function_arn(function, name)}")
    return alias


def update_alias(
    *,
    sandbox: Sandbox,
    function_name: str,
    name: str,
    function_version: str | None = None,
    description: str | None = None,
    revision_id: str | None = None,
) -> Alias:
    alias = get_alias(sandbox=sandbox, function_name=function_name, name=name)
    _check_revision(alias.revision_id, revision_id)
    if function_version is not None:
        _check_alias_version(alias.function, function_version)
        alias.function_version = function_version
    if description is not None:
        alias.description = description
    alias.revision_id = str(uuid.uuid4())
    alias.save()
    return alias


def list_aliases(
    *, sandbox: Sandbox, function_name: str, function_version: str | None, marker: str | None, max_items: int | None
) -> tuple[list[Alias], str | None]:
    function = get_function(sandbox=sandbox, function_name=function_name)
    aliases = function.aliases.select_related("function__sandbox").order_by("name")
    if function_version:
        aliases = aliases.filter(function_version=function_version)
    with _rules():
        return logic.paginate(list(aliases), marker, max_items)


def delete_alias(*, sandbox: Sandbox, function_name: str, name: str) -> None:
    function = get_function(sandbox=sandbox, function_name=function_name)
    function.aliases.filter(name=name).delete()


# --- resource policy ----------------------------------------------------------------------------


def add_permission(
    *,
    sandbox: Sandbox,
    function_name: str,
    statement_id: str,
    action: str,
    principal: str,
    qualifier: str | None = None,
    source_arn: str | None = None,
    source_account: str | None = None,
    revision_id: str | None = None,
) -> dict[str, Any]:
    """Store one Allow statement the way Lambda writes it into the function's resource policy."""
    target = resolve(sandbox=sandbox, function_name=function_name, qualifier=qualifier)
    if principal.isdigit() and len(principal) == 12:
        principal_block: dict[str, str] = {"AWS": f"arn:aws:iam::{principal}:root"}
    elif principal.startswith("arn:") or principal == "*":
        principal_block = {"AWS": principal}
    else:
        principal_block = {"Service": principal}
    statement: dict[str, Any] = {
        "Sid": statement_id,
        "Effect": "Allow",
        "Principal": principal_block,
        "Action": action,
        "Resource": function_arn(target.function, target.qualifier if target.qualifier != logic.LATEST else None),
    }
    condition: dict[str, dict[str, str]] = {}
    if source_account:
        condition["StringEquals"] = {"AWS:SourceAccount": source_account}
    if source_arn:
        condition["ArnLike"] = {"AWS:SourceArn": source_arn}
    if condition:
        statement["Condition"] = condition
    with transaction.atomic():
        function = Function.objects.select_for_update().get(pk=target.function.pk)
        _check_revision(function.revision_id, revision_id)
        if any(existing["Sid"] == statement_id for existing in function.policy):
            raise exceptions.ResourceConflict(
                f"The statement id ({statement_id}) provided already exists. "
                "Please provide a new statement id, or remove the existing statement."
            )
        function.policy = [*function.policy, statement]
        function.revision_id = str(uuid.uuid4())
        function.save(update_fields=["policy", "revision_id"])
    return statement


def remove_permission(
    *, sandbox: Sandbox, function_name: str, statement_id: str, revision_id: str | None = None
) -> None:
    with transaction.atomic():
        function = _locked(sandbox, function_name)
        _check_revision(function.revision_id, revision_id)
        remaining = [statement for statement in function.policy if statement["Sid"] != statement_id]
        if len(remaining) == len(function.policy):
            raise exceptions.ResourceNotFound(f"Statement {statement_id} is not found in resource policy.")
        function.policy = remaining
        function.revision_id = str(uuid.uuid4())
        function.save(update_fields=["policy", "revision_id"])


def get_policy(*, sandbox: Sandbox, function_name: str) -> tuple[str, str]:
    """The resource policy document as JSON text, and the function's revision id."""
    function = get_function(sandbox=sandbox, function_name=function_name)
    if not function.policy:
        raise exceptions.ResourceNotFound("The resource you requested does not exist.")
    document = {"Version": "2012-10-17", "Id": "default", "Statement": function.policy}
    return json.dumps(document, separators=(",", ":")), function.revision_id
