"""Lambda execution: isolated execution environments, the Runtime API, the bootstraps.

Plain Python, no Django: the Lambda control plane and the Celery task build a
:class:`FunctionSpec` and use an :class:`EnvironmentPool` (one per worker process).
"""

from serverless_lab.runtime.environment import (
    RESERVED_ENV_KEYS,
    Credentials,
    EnvironmentPool,
    ExecutionEnvironment,
    FunctionSpec,
    InvokeResult,
    RuntimeUnavailable,
)
from serverless_lab.runtime.isolation import IsolationConfig, IsolationError

__all__ = [
    "RESERVED_ENV_KEYS",
    "Credentials",
    "EnvironmentPool",
    "ExecutionEnvironment",
    "FunctionSpec",
    "InvokeResult",
    "IsolationConfig",
    "IsolationError",
    "RuntimeUnavailable",
]
