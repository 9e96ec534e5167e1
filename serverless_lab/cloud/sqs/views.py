"""The SQS console views."""

from __future__ import annotations
