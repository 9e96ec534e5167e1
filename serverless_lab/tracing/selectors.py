"""Reads for the diagram, the hop log and the trace view.

The graph asks each installed service app for its resources. Apps arrive one issue at a time, so
each source looks its models up by label (never imports them) and a source whose app or model is
missing, or not yet shaped as expected, contributes nothing instead of breaking the page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any, TypedDict

from django.apps import apps
from django.db.models import Count, Q

from serverless_lab.sandboxes.models import Sandbox

from . import nodes
from .models import Hop, Trace
from .schema import HopMessage, hop_message

logger = logging.getLogger(__name__)

GRAPH_VERSION = 1


class GraphNode(TypedDict):
    id: str
    label: str
    service: str


class GraphEdge(TypedDict):
    from_node: str
    to_node: str
    label: str


class Graph(TypedDict):
    v: int
    nodes: list[GraphNode]
    edges: list[GraphEdge]


def _model(label: str, name: str) -> Any | None:
    try:
        return apps.get_model(label, name)
    except LookupError:
        return None


def _node(node_id: str, label: str, service: str) -> GraphNode:
    return {"id": node_id, "label": label, "service": service}


def _edge(source: str, target: str, label: str) -> GraphEdge:
    return {"from_node": source, "to_node": target, "label": label}


Source = Callable[[Sandbox], tuple[list[GraphNode], list[GraphEdge]]]


def _s3(sandbox: Sandbox) -> tuple[list[GraphNode], list[GraphEdge]]:
    bucket_model = _model("s3", "Bucket")
    if bucket_model is None:
        return [], []
    found, edges = [], []
    for name, notification in bucket_model.objects.filter(sandbox=sandbox).values_list("name", "notification"):
        arn = nodes.s3_bucket(name)
        found.append(_node(arn, name, "s3"))
        config = notification if isinstance(notification, dict) else {}
        for key, target_key in (
            ("LambdaFunctionConfigurations", "LambdaFunctionArn"),
            ("QueueConfigurations", "QueueArn"),
            ("TopicConfigurations", "TopicArn"),
        ):
            for item in config.get(key) or []:
                target = item.get(target_key) if isinstance(item, dict) else None
                if isinstance(target, str) and target:
                    events = item.get("Events") or []
                    edges.append(_edge(arn, _strip_qualifier(target), ", ".join(events)[:60] or "notification"))
    return found, edges


def _dynamodb(sandbox: Sandbox) -> tuple[list[GraphNode], list[GraphEdge]]:
    table_model = _model("dynamodb", "Table")
    if table_model is None:
        return [], []
    return [
        _node(nodes.dynamodb_table(sandbox.region, sandbox.account_id, name), name, "dynamodb")
        for name in table_model.objects.filter(sandbox=sandbox).values_list("name", flat=True)
    ], []


def _lambda(sandbox: Sandbox) -> tuple[list[GraphNode], list[GraphEdge]]:
    function_model = _model("lambda_", "Function")
    if function_model is None:
        return [], []
    return [
        _node(nodes.lambda_function(sandbox.region, sandbox.account_id, name), name, "lambda")
        for name in function_model.objects.filter(sandbox=sandbox).values_list("name", flat=True)
    ], []


def _event_source_mappings(sandbox: Sandbox) -> tuple[list[GraphNode], list[GraphEdge]]:
    """Queue/stream → function, from the esm app (``EventSourceMapping``: ``event_source_arn`` and a
    ``function``); a DynamoDB stream's edge leaves its table's node."""
    mapping_model = _model("esm", "EventSourceMapping") if apps.is_installed("serverless_lab.cloud.esm") else None
    if mapping_model is None:
        return [], []
    edges = []
    for source, function, enabled, batch_size in mapping_model.objects.filter(sandbox=sandbox).values_list(
        "event_source_arn", "function__name", "enabled", "batch_size"
    ):
        if source and function:
            label = f"event source mapping, batch {batch_size}" + ("" if enabled else " (disabled)")
            target = nodes.lambda_function(sandbox.region, sandbox.account_id, function)
            edges.append(_edge(source.split("/stream/")[0], target, label))
    return [], edges


def _sqs(sandbox: Sandbox) -> tuple[list[GraphNode], list[GraphEdge]]:
    queue_model = _model("sqs", "Queue")
    if queue_model is None:
        return [], []
    found, edges = [], []
    for name, attributes in queue_model.objects.filter(sandbox=sandbox).values_list("name", "attributes"):
        arn = nodes.sqs_queue(sandbox.region, sandbox.account_id, name)
        found.append(_node(arn, name, "sqs"))
        redrive = (attributes or {}).get("RedrivePolicy") if isinstance(attributes, dict) else None
        try:
            target = json.loads(redrive).get("deadLetterTargetArn") if redrive else None
        except (ValueError, AttributeError):
            target = None
        if isinstance(target, str) and target:
            edges.append(_edge(arn, target, "dead-letter queue"))
    return found, edges


def _sns(sandbox: Sandbox) -> tuple[list[GraphNode], list[GraphEdge]]:
    topic_model = _model("sns", "Topic")
    if topic_model is None:
        return [], []
    found, edges = [], []
    for name in topic_model.objects.filter(sandbox=sandbox).values_list("name", flat=True):
        found.append(_node(nodes.sns_topic(sandbox.region, sandbox.account_id, name), name, "sns"))
    subscription_model = _model("sns", "Subscription")
    if subscription_model is not None:
        for subscription in subscription_model.objects.filter(sandbox=sandbox).select_related("topic"):
            topic, endpoint = getattr(subscription, "topic", None), getattr(subscription, "endpoint", "")
            if topic is not None and isinstance(endpoint, str) and endpoint.startswith("arn:"):
                source = nodes.sns_topic(sandbox.region, sandbox.account_id, topic.name)
                edges.append(
                    _edge(source, _strip_qualifier(endpoint), getattr(subscription, "protocol", "") or "subscription")
                )
    return found, edges


def _strip_qualifier(arn: str) -> str:
    parts = arn.split(":")
    return ":".join(parts[:7]) if len(parts) > 7 and parts[2] == "lambda" else arn


SOURCES: tuple[Source, ...] = (_s3, _dynamodb, _lambda, _event_source_mappings, _sqs, _sns)


def sandbox_graph(*, sandbox: Sandbox, focus: frozenset[str] = frozenset()) -> Graph:
    """The sandbox's resources as nodes and their integrations as edges, plus the ``client`` node.

    ``focus`` (service names, e.g. ``{"s3"}``) keeps only those services' nodes, what their edges
    connect them to, and the client: a lesson's diagram of just its own service.
    """
    found: dict[str, GraphNode] = {nodes.CLIENT: _node(nodes.CLIENT, "Your code", "client")}
    edges: list[GraphEdge] = []
    for source in SOURCES:
        try:
            more_nodes, more_edges = source(sandbox)
        except Exception:  # a service app mid-change must not take the sandbox page down
            logger.exception("the diagram source %s failed", source.__name__)
            continue
        found.update((node["id"], node) for node in more_nodes)
        edges.extend(more_edges)
    for edge in edges:  # an integration may point at something outside the sandbox's lists
        for end in (edge["from_node"], edge["to_node"]):
            found.setdefault(
                end, _node(end, end.rsplit(":", 1)[-1], end.split(":")[2] if end.count(":") >= 2 else "service")
            )
    if focus:
        core = {node_id for node_id, node in found.items() if node["service"] in focus}
        edges = [edge for edge in edges if edge["from_node"] in core or edge["to_node"] in core]
        kept = core | {nodes.CLIENT} | {end for edge in edges for end in (edge["from_node"], edge["to_node"])}
        found = {node_id: node for node_id, node in found.items() if node_id in kept}
    return {"v": GRAPH_VERSION, "nodes": list(found.values()), "edges": _unique(edges)}


FOCUSABLE = ("s3", "dynamodb", "lambda", "sqs", "sns", "events", "apigateway", "logs")


def focus_of(value: str) -> frozenset[str]:
    """``"s3,lambda"`` → the services a focused diagram shows (unknown names are ignored)."""
    return frozenset(name for name in value.replace(" ", "").lower().split(",") if name in FOCUSABLE)


def _unique(edges: Iterable[GraphEdge]) -> list[GraphEdge]:
    seen: dict[tuple[str, str], GraphEdge] = {}
    for edge in edges:
        seen.setdefault((edge["from_node"], edge["to_node"]), edge)
    return list(seen.values())


class DiagramChoice(TypedDict):
    sandbox: Sandbox | None
    choices: list[Sandbox]


def lesson_diagram_choice(*, user: Any, newest: Sandbox | None, chosen: str = "") -> DiagramChoice:
    """The sandbox a lesson's diagram shows: ``chosen`` (a pk) when the user owns it, else
    ``newest`` (the one lessons grade); and the user's sandboxes to pick from."""
    if newest is None or user is None or not user.is_authenticated:
        return {"sandbox": newest, "choices": []}
    choices = list(Sandbox.objects.filter(owner=user).order_by("-created_at"))
    picked = next((sandbox for sandbox in choices if chosen.isdigit() and sandbox.pk == int(chosen)), newest)
    return {"sandbox": picked, "choices": choices}


def hops_after(*, sandbox: Sandbox, after: int, limit: int = 200) -> list[HopMessage]:
    """Hops after ``after`` (a Hop pk, 0 = the newest ``limit``), oldest first: the catch-up feed."""
    rows = Hop.objects.filter(sandbox=sandbox).select_related("trace")
    if after > 0:
        chosen = list(rows.filter(pk__gt=after).order_by("pk")[:limit])
    else:
        chosen = list(rows.order_by("-pk")[:limit])[::-1]
    return [hop_message(hop, hop.trace.trace_id) for hop in chosen]


class TraceRow(TypedDict):
    trace_id: str
    started_at: Any
    first_action: str
    hop_count: int
    problem_count: int


def traces_of(*, sandbox: Sandbox, limit: int = 100) -> list[TraceRow]:
    """The newest traces with their hop count and how many hops were not ok, for the trace list."""
    rows = (
        Trace.objects.filter(sandbox=sandbox)
        .annotate(hop_count=Count("hops"), problem_count=Count("hops", filter=~Q(hops__status=Hop.Status.OK)))
        .order_by("-started_at")
        .values("trace_id", "started_at", "first_action", "hop_count", "problem_count")[:limit]
    )
    return [TraceRow(**row) for row in rows]


def trace_by_id(*, sandbox: Sandbox, trace_id: str) -> Trace | None:
    return Trace.objects.filter(sandbox=sandbox, trace_id=trace_id).first()


def trace_hops(*, trace: Trace) -> list[HopMessage]:
    return [hop_message(hop, trace.trace_id) for hop in trace.hops.order_by("started_at", "pk")]
