"""Lambda's REST-JSON API: parameters in, botocore-shaped dicts out; the work is in ``backend``."""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

from serverless_lab.cloud.core import offloop
from serverless_lab.cloud.core.registry import RequestContext
from serverless_lab.runtime import services

from . import backend, cache, exceptions, logic
from .models import Alias, Function, FunctionConfig, Version


def _timestamp(config: FunctionConfig) -> str:
    """Lambda's LastModified: ISO 8601 with milliseconds and a ``+0000`` offset."""
    return config.last_modified.strftime("%Y-%m-%dT%H:%M:%S.") + f"{config.last_modified.microsecond // 1000:03d}+0000"


def configuration(config: FunctionConfig) -> dict[str, Any]:
    """FunctionConfiguration of $LATEST (a Function) or of a published Version."""
    function = config.function if isinstance(config, Version) else config
    assert isinstance(function, Function)
    version = str(config.number) if isinstance(config, Version) else logic.LATEST
    result: dict[str, Any] = {
        "FunctionName": function.name,
        "FunctionArn": backend.function_arn(function, version if isinstance(config, Version) else None),
        "Runtime": config.runtime,
        "Role": config.role,
        "Handler": config.handler,
        "CodeSize": config.code_size,
        "Description": config.description,
        "Timeout": config.timeout_s,
        "MemorySize": config.memory_mb,
        "LastModified": _timestamp(config),
        "CodeSha256": config.code_sha256,
        "Version": version,
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": config.revision_id,
        "State": function.state,
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function.name}"},
    }
    if config.environment:
        result["Environment"] = {"Variables": dict(config.environment)}
    return result


def _alias(alias: Alias) -> dict[str, Any]:
    return {
        "AliasArn": backend.function_arn(alias.function, alias.name),
        "Name": alias.name,
        "FunctionVersion": alias.function_version,
        "Description": alias.description,
        "RevisionId": alias.revision_id,
    }


def _config_changes(params: dict[str, Any]) -> dict[str, Any]:
    fields = {
        "Runtime": "runtime",
        "Handler": "handler",
        "Role": "role",
        "Description": "description",
        "MemorySize": "memory_mb",
        "Timeout": "timeout_s",
    }
    changes = {field: params[name] for name, field in fields.items() if name in params}
    if "Environment" in params:
        changes["environment"] = dict((params["Environment"] or {}).get("Variables") or {})
    return changes


def _client_context(value: str | None) -> str | None:
    """X-Amz-Client-Context is base64 JSON; the runtime hands the function the JSON text."""
    if not value:
        return None
    try:
        text = base64.b64decode(value, validate=True).decode()
        if not isinstance(json.loads(text), dict):
            raise ValueError
    except ValueError:
        raise exceptions.InvalidRequestContent("Client context must be a valid Base64-encoded JSON object.") from None
    return text


def _check_json(payload: bytes) -> None:
    try:
        json.loads(payload)
    except ValueError as exc:
        raise exceptions.InvalidRequestContent(f"Could not parse request body into json: {exc}") from None


class LambdaHandler:
    """Lambda: functions, versions, aliases, concurrency, resource policy and Invoke (see ``invoke``)."""

    # --- functions ------------------------------------------------------------------------------

    def create_function(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        code_params = params.get("Code") or {}
        if params.get("PackageType", "Zip") != "Zip" or "ImageUri" in code_params:
            raise exceptions.InvalidParameterValue("Serverless Lab runs zip packages only (PackageType Zip).")
        zip_bytes = backend.code_bytes(
            sandbox=ctx.sandbox,
            zip_file=code_params.get("ZipFile"),
            s3_bucket=code_params.get("S3Bucket"),
            s3_key=code_params.get("S3Key"),
            s3_version=code_params.get("S3ObjectVersion"),
        )
        changes = _config_changes(params)
        function = backend.create_function(
            sandbox=ctx.sandbox,
            name=params["FunctionName"],
            zip_bytes=zip_bytes,
            publish=bool(params.get("Publish")),
            runtime=params.get("Runtime", ""),
            role=params["Role"],
            handler=params.get("Handler", ""),
            **{key: value for key, value in changes.items() if key not in ("runtime", "role", "handler")},
        )
        published = function.versions.order_by("-number").first() if params.get("Publish") else None
        return configuration(published or function)

    def delete_function(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        backend.delete_function(
            sandbox=ctx.sandbox, function_name=params["FunctionName"], qualifier=params.get("Qualifier")
        )
        return {"StatusCode": 204}

    def get_function(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        target = backend.resolve(
            sandbox=ctx.sandbox, function_name=params["FunctionName"], qualifier=params.get("Qualifier")
        )
        result: dict[str, Any] = {
            "Configuration": configuration(target.config),
            "Code": {"RepositoryType": "S3"},
        }
        if target.function.reserved_concurrency is not None:
            result["Concurrency"] = {"ReservedConcurrentExecutions": target.function.reserved_concurrency}
        return result

    def get_function_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        target = backend.resolve(
            sandbox=ctx.sandbox, function_name=params["FunctionName"], qualifier=params.get("Qualifier")
        )
        return configuration(target.config)

    def list_functions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        configs, next_marker = backend.list_functions(
            sandbox=ctx.sandbox,
            all_versions=params.get("FunctionVersion") == "ALL",
            marker=params.get("Marker"),
            max_items=params.get("MaxItems"),
        )
        result: dict[str, Any] = {"Functions": [configuration(config) for config in configs]}
        if next_marker:
            result["NextMarker"] = next_marker
        return result

    def update_function_code(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        zip_bytes = backend.code_bytes(
            sandbox=ctx.sandbox,
            zip_file=params.get("ZipFile"),
            s3_bucket=params.get("S3Bucket"),
            s3_key=params.get("S3Key"),
            s3_version=params.get("S3ObjectVersion"),
        )
        config = backend.update_function_code(
            sandbox=ctx.sandbox,
            function_name=params["FunctionName"],
            zip_bytes=zip_bytes,
            publish=bool(params.get("Publish")),
        )
        return configuration(config)

    def update_function_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        function = backend.update_function_configuration(
            sandbox=ctx.sandbox,
            function_name=params["FunctionName"],
            changes=_config_changes(params),
            revision_id=params.get("RevisionId"),
        )
        return configuration(function)

    async def invoke(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """RequestResponse waits for the function (on the event loop, no thread held); Event queues it
        and answers 202; DryRun only checks that the function exists and may be invoked (204).
        Resolving the function and queueing the invocation share one trip to the thread pool."""
        payload = params.get("Payload") or b""
        kind = params.get("InvocationType") or "RequestResponse"
        limit = logic.MAX_ASYNC_PAYLOAD_BYTES if kind == "Event" else logic.MAX_SYNC_PAYLOAD_BYTES
        if len(payload) > limit:
            raise exceptions.RequestTooLarge(limit)
        if payload:
            _check_json(payload)

        function_name, qualifier = params["FunctionName"], params.get("Qualifier")

        def resolve_and_queue() -> backend.Target:
            if kind == "RequestResponse":
                return start_request_response()
            target = backend.resolve(sandbox=ctx.sandbox, function_name=function_name, qualifier=qualifier)
            client_context = _client_context(params.get("ClientContext"))
            if kind == "Event":
                services.invoke_event(
                    target=target,
                    request_id=ctx.request_id,
                    payload=payload,
                    trace_header=ctx.trace_header,
                    client_context=client_context,
                )
            return target

        def start_request_response() -> backend.Target:
            # The function as this process cached it, if the sandbox's token (checked with the lease)
            # still vouches for it; else read again; with changes racing, once more, unchecked.
            start = functools.partial(
                services.invoke_request_response_start,
                request_id=ctx.request_id,
                payload=payload,
                trace_header=ctx.trace_header,
            )
            for reload in (False, True):
                target, token = cache.resolve(
                    sandbox=ctx.sandbox, function_name=function_name, qualifier=qualifier, reload=reload
                )
                client_context = _client_context(params.get("ClientContext"))  # checked once the function is found
                if start(target=target, client_context=client_context, config_token=token):
                    return target
            target = backend.resolve(sandbox=ctx.sandbox, function_name=function_name, qualifier=qualifier)
            start(target=target, client_context=client_context)
            return target

        target = await offloop.run_sync(resolve_and_queue)
        if kind == "DryRun":
            return {"StatusCode": 204}
        if kind == "Event":
            return {"StatusCode": 202}
        outcome = await services.invoke_request_response_wait(target=target, request_id=ctx.request_id)
        result: dict[str, Any] = {
            "StatusCode": 200,
            "Payload": outcome.payload,
            "ExecutedVersion": outcome.executed_version,
        }
        if outcome.function_error:
            result["FunctionError"] = outcome.function_error
        if params.get("LogType") == "Tail":
            result["LogResult"] = base64.b64encode(outcome.log_tail.encode()).decode()
        return result

    # --- concurrency ----------------------------------------------------------------------------

    def delete_function_concurrency(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        backend.delete_function_concurrency(sandbox=ctx.sandbox, function_name=params["FunctionName"])
        return {}

    def get_function_concurrency(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        function = backend.get_function(sandbox=ctx.sandbox, function_name=params["FunctionName"])
        if function.reserved_concurrency is None:
            return {}
        return {"ReservedConcurrentExecutions": function.reserved_concurrency}

    def put_function_concurrency(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        function = backend.put_function_concurrency(
            sandbox=ctx.sandbox, function_name=params["FunctionName"], reserved=params["ReservedConcurrentExecutions"]
        )
        return {"ReservedConcurrentExecutions": function.reserved_concurrency}

    # --- versions -------------------------------------------------------------------------------

    def list_versions_by_function(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        configs, next_marker = backend.list_versions(
            sandbox=ctx.sandbox,
            function_name=params["FunctionName"],
            marker=params.get("Marker"),
            max_items=params.get("MaxItems"),
        )
        result: dict[str, Any] = {"Versions": [configuration(config) for config in configs]}
        if next_marker:
            result["NextMarker"] = next_marker
        return result

    def publish_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        version = backend.publish_version(
            sandbox=ctx.sandbox,
            function_name=params["FunctionName"],
            code_sha256=params.get("CodeSha256"),
            description=params.get("Description", ""),
            revision_id=params.get("RevisionId"),
        )
        return configuration(version)

    # --- aliases --------------------------------------------------------------------------------

    def create_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("RoutingConfig"):
            raise exceptions.InvalidParameterValue(
                "Serverless Lab does not support weighted aliases (RoutingConfig) yet."
            )
        alias = backend.create_alias(
            sandbox=ctx.sandbox,
            function_name=params["FunctionName"],
            name=params["Name"],
            function_version=params["FunctionVersion"],
            description=params.get("Description", ""),
        )
        return _alias(alias)

    def delete_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        backend.delete_alias(sandbox=ctx.sandbox, function_name=params["FunctionName"], name=params["Name"])
        return {}

    def get_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return _alias(backend.get_alias(sandbox=ctx.sandbox, function_name=params["FunctionName"], name=params["Name"]))

    def list_aliases(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        aliases, next_marker = backend.list_aliases(
            sandbox=ctx.sandbox,
            function_name=params["FunctionName"],
            function_version=params.get("FunctionVersion"),
            marker=params.get("Marker"),
            max_items=params.get("MaxItems"),
        )
        result: dict[str, Any] = {"Aliases": [_alias(alias) for alias in aliases]}
        if next_marker:
            result["NextMarker"] = next_marker
        return result

    def update_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("RoutingConfig"):
            raise exceptions.InvalidParameterValue(
                "Serverless Lab does not support weighted aliases (RoutingConfig) yet."
            )
        alias = backend.update_alias(
            sandbox=ctx.sandbox,
            function_name=params["FunctionName"],
            name=params["Name"],
            function_version=params.get("FunctionVersion"),
            description=params.get("Description"),
            revision_id=params.get("RevisionId"),
        )
        return _alias(alias)

    # --- resource policy ------------------------------------------------------------------------

    def add_permission(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        statement = backend.add_permission(
            sandbox=ctx.sandbox,
            function_name=params["FunctionName"],
            statement_id=params["StatementId"],
            action=params["Action"],
            principal=params["Principal"],
            qualifier=params.get("Qualifier"),
            source_arn=params.get("SourceArn"),
            source_account=params.get("SourceAccount"),
            revision_id=params.get("RevisionId"),
        )
        return {"Statement": json.dumps(statement, separators=(",", ":"))}

    def get_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        policy, revision_id = backend.get_policy(sandbox=ctx.sandbox, function_name=params["FunctionName"])
        return {"Policy": policy, "RevisionId": revision_id}

    def remove_permission(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        backend.remove_permission(
            sandbox=ctx.sandbox,
            function_name=params["FunctionName"],
            statement_id=params["StatementId"],
            revision_id=params.get("RevisionId"),
        )
        return {}
