"""The DynamoDB console views."""

from __future__ import annotations
