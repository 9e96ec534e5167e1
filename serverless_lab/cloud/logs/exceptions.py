"""CloudWatch Logs' error codes."""

from __future__ import annotations

from serverless_lab.cloud.core.errors import AwsError


class ResourceNotFound(AwsError):
    code = "ResourceNotFoundException"
    status = 400


class InvalidParameter(AwsError):
    code = "InvalidParameterException"
    status = 400
