"""DynamoDB's error codes. Validation errors are ``logic.DynamoValidationError``."""

from __future__ import annotations

from typing import Any

from serverless_lab.cloud.core.errors import AwsError

from .logic import DynamoValidationError

__all__ = [
    "ConditionalCheckFailedException",
    "DynamoValidationError",
    "IdempotentParameterMismatchException",
    "ResourceInUseException",
    "ResourceNotFoundException",
    "TransactionCanceledException",
]


class ResourceNotFoundException(AwsError):
    code = "ResourceNotFoundException"

    def __init__(self, message: str = "Requested resource not found") -> None:
        super().__init__(message)


class ResourceInUseException(AwsError):
    code = "ResourceInUseException"


class ConditionalCheckFailedException(AwsError):
    """``item`` is the current item, returned when ReturnValuesOnConditionCheckFailure=ALL_OLD."""

    code = "ConditionalCheckFailedException"

    def __init__(self, item: dict[str, Any] | None = None) -> None:
        super().__init__("The conditional request failed", Item=item or None)
        self.item = item


class TransactionCanceledException(AwsError):
    code = "TransactionCanceledException"

    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        codes = ", ".join(reason["Code"] for reason in reasons)
        super().__init__(
            f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
            CancellationReasons=reasons,
        )


class IdempotentParameterMismatchException(AwsError):
    code = "IdempotentParameterMismatchException"
