from __future__ import annotations

import hashlib
from typing import Any

from serverless_lab.cloud.core.registry import RequestContext


class StsHandler:
    """STS: who am I. Enough for ``aws sts get-caller-identity`` to name the sandbox's account."""

    def get_caller_identity(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        sandbox = ctx.sandbox
        # IAM user ids are "AIDA" + 17 characters; derive a stable one from the access key.
        user_id = "AIDA" + hashlib.sha256(sandbox.access_key_id.encode()).hexdigest()[:17].upper()
        return {"UserId": user_id, "Account": sandbox.account_id, "Arn": sandbox.caller_arn}
