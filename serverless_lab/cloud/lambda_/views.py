"""The Lambda console views."""

from __future__ import annotations
