"""SNS's error codes (query protocol)."""

from __future__ import annotations

from serverless_lab.cloud.core.errors import AwsError


class SnsError(AwsError):
    code = "InvalidParameter"


class InvalidParameter(SnsError):
    code = "InvalidParameter"

    def __init__(self, detail: str) -> None:
        super().__init__(f"Invalid parameter: {detail}")


class InvalidParameterValue(SnsError):
    code = "ParameterValueInvalid"


class NotFound(SnsError):
    code = "NotFound"
    status = 404


class ResourceNotFound(SnsError):
    code = "ResourceNotFound"
    status = 404
