"""The SNS console views."""

from __future__ import annotations
