"""Lambda's error codes, each with the HTTP status Lambda answers it with.

https://docs.aws.amazon.com/lambda/latest/api/CommonErrors.html and the per-operation error lists.
"""

from __future__ import annotations

from serverless_lab.cloud.core.errors import AwsError


class LambdaError(AwsError):
    code = "ServiceException"
    status = 500
    sender_fault = False


class InvalidParameterValue(LambdaError):
    code = "InvalidParameterValueException"
    status = 400
    sender_fault = True


class ValidationFailed(LambdaError):
    """Lambda's model-level validation (name patterns, ranges), answered before the operation runs."""

    code = "ValidationException"
    status = 400
    sender_fault = True


class InvalidRequestContent(LambdaError):
    code = "InvalidRequestContentException"
    status = 400
    sender_fault = True


class ResourceNotFound(LambdaError):
    code = "ResourceNotFoundException"
    status = 404
    sender_fault = True


class FunctionNotFound(ResourceNotFound):
    def __init__(self, arn: str) -> None:
        super().__init__(f"Function not found: {arn}")


class ResourceConflict(LambdaError):
    code = "ResourceConflictException"
    status = 409
    sender_fault = True


class PreconditionFailed(LambdaError):
    code = "PreconditionFailedException"
    status = 412
    sender_fault = True


class QuotaExceeded(LambdaError):
    """The sandbox's function quota (Lambda's real code for a per-account limit)."""

    code = "CodeStorageExceededException"
    status = 400
    sender_fault = True


class RequestTooLarge(LambdaError):
    code = "RequestTooLargeException"
    status = 413
    sender_fault = True

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request must be smaller than {limit} bytes for the InvokeFunction operation")


class TooManyRequests(LambdaError):
    code = "TooManyRequestsException"
    status = 429
    sender_fault = True

    def __init__(self, reason: str) -> None:
        super().__init__("Rate Exceeded.", Reason=reason, retryAfterSeconds="1")
