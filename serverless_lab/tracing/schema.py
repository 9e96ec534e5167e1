"""The wire messages the browser reads (the diagram's model.js knows only these)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypedDict

if TYPE_CHECKING:
    from .models import Hop
    from .services import HopDraft

SCHEMA_VERSION = 1


class HopMessage(TypedDict):
    type: Literal["trace.hop"]
    v: int
    seq: int  # Hop.pk: ask for hops after it to catch up
    trace_id: str
    hop_id: str
    parent_hop_id: str
    from_node: str
    to_node: str
    action: str
    status: str
    error_code: str
    started_at: str  # ISO 8601, UTC
    duration_ms: float
    preview: str


class HopBatch(TypedDict):
    """What the tracing writer sends a group per batch; the relay hands each hop on by itself."""

    type: Literal["trace.hops"]
    hops: list[HopMessage]


def hop_message(hop: Hop | HopDraft, trace_id: str, seq: int | None = None) -> HopMessage:
    """The message of a saved hop, or of a draft saved as row ``seq``."""
    return {
        "type": "trace.hop",
        "v": SCHEMA_VERSION,
        "seq": hop.pk if seq is None else seq,  # type: ignore[union-attr]
        "trace_id": trace_id,
        "hop_id": hop.hop_id,
        "parent_hop_id": hop.parent_hop_id,
        "from_node": hop.from_node,
        "to_node": hop.to_node,
        "action": hop.action,
        "status": hop.status,
        "error_code": hop.error_code,
        "started_at": hop.started_at.isoformat().replace("+00:00", "Z"),
        "duration_ms": round(hop.duration_ms, 3),
        "preview": hop.payload_preview,
    }
