"""The one error the DynamoDB logic raises.

Everything that AWS answers with ``ValidationException`` is raised as
:class:`DynamoValidationError`; a failed condition is *not* an error here (the
evaluators return ``False`` and the backend raises ConditionalCheckFailedException).
"""

from __future__ import annotations

from serverless_lab.cloud.core.errors import AwsError


class DynamoValidationError(AwsError):
    """DynamoDB's ``ValidationException`` with AWS's own message text."""

    code = "ValidationException"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
