"""Which operation a request calls: X-Amz-Target, the Action parameter, or the REST route."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from urllib.parse import unquote

from botocore.model import OperationModel, ServiceModel

from serverless_lab.cloud.core.errors import AwsError, InvalidAction, UnknownOperation

from .query_compat import answer_as, implied_params, protocol_model
from .request import AwsRequest
from .shapes import service_protocol


class _TargetRouter:
    """json protocols: ``X-Amz-Target: <targetPrefix>.<Operation>``."""

    def __init__(self, service_model: ServiceModel) -> None:
        prefix = service_model.metadata.get("targetPrefix", "")
        self.service = service_model.service_name
        self.targets = {
            f"{prefix}.{name}": service_model.operation_model(name) for name in service_model.operation_names
        }

    def find(self, request: AwsRequest) -> tuple[OperationModel, dict[str, str]]:
        target = request.header("x-amz-target")
        if not target:
            raise UnknownOperation(f"The request to {self.service} has no X-Amz-Target header naming the operation.")
        operation = self.targets.get(target.strip())
        if operation is None:
            raise UnknownOperation(f"Unknown operation {target!r} for service {self.service}.")
        return operation, {}


class _ActionRouter:
    """query/ec2 protocols: the ``Action`` parameter in the form body or query string."""

    def __init__(self, service_model: ServiceModel) -> None:
        self.actions = {name: service_model.operation_model(name) for name in service_model.operation_names}

    def find(self, request: AwsRequest) -> tuple[OperationModel, dict[str, str]]:
        action = request.form.get("Action")
        if not action:
            raise AwsError("The request must contain the parameter Action.", code="MissingAction")
        operation = self.actions.get(action)
        if operation is None:
            raise InvalidAction(f"The action {action} is not valid for this web service.")
        return operation, {}


@dataclass
class _Route:
    operation: OperationModel
    labels: tuple[str, ...]
    query_literals: tuple[tuple[str, str | None], ...]
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    specificity: tuple[int, ...]
    priority: int = 0

    def accepts(self, request: AwsRequest) -> bool:
        query = request.query_dict
        for name, value in self.query_literals:
            if name not in query or (value is not None and query[name] != value):
                return False
        if any(name not in query for name in self.required_query):
            return False
        headers = request.lower_headers
        return all(name in headers for name in self.required_headers)


@dataclass
class _Trie:
    literals: dict[str, _Trie] = field(default_factory=dict)
    label: _Trie | None = None
    greedy: _Trie | None = None
    routes: list[_Route] = field(default_factory=list)


def _template_segments(path_template: str) -> list[str]:
    segments = path_template.lstrip("/").split("/")
    while segments and segments[-1] == "":
        segments.pop()
    return segments


def _make_route(operation: OperationModel) -> tuple[list[str], _Route]:
    path_template, _, query_template = operation.http["requestUri"].partition("?")
    segments = _template_segments(path_template)
    labels = tuple(seg[1:-1].rstrip("+") for seg in segments if seg.startswith("{"))
    literals = tuple(
        (name, value if "=" in pair else None)
        for pair in query_template.split("&")
        if pair
        for name, _, value in [pair.partition("=")]
    )
    required_query: list[str] = []
    required_headers: list[str] = []
    shape = operation.input_shape
    if shape is not None:
        for member_name in shape.required_members:
            member = shape.members[member_name]
            location = member.serialization.get("location")
            wire = member.serialization.get("name", member_name)
            if location == "querystring" and member.type_name != "map":
                required_query.append(wire)
            elif location == "header":
                required_headers.append(wire.lower())
    literal_count = sum(1 for seg in segments if not seg.startswith("{"))
    greedy_count = sum(1 for seg in segments if seg.endswith("+}"))
    specificity = (
        literal_count,
        len(labels) - greedy_count,
        len(literals) + len(required_query),
        len(required_headers),
        0 if operation.deprecated else 1,
    )
    route = _Route(operation, labels, literals, tuple(required_query), tuple(required_headers), specificity)
    return segments, route


class _RestRouter:
    """rest-json/rest-xml: method + ``requestUri`` templates; the most specific route wins."""

    def __init__(self, service_model: ServiceModel) -> None:
        self.service = service_model.service_name
        self.tries: dict[str, _Trie] = {}
        routes: list[tuple[list[str], _Route]] = []
        for name in service_model.operation_names:
            operation = service_model.operation_model(name)
            routes.append(_make_route(operation))
        ordered = sorted(routes, key=lambda item: (tuple(-n for n in item[1].specificity), item[1].operation.name))
        for priority, (segments, route) in enumerate(ordered):
            route.priority = priority
            node = self.tries.setdefault(route.operation.http.get("method", "POST").upper(), _Trie())
            for segment in segments:
                if segment.endswith("+}"):
                    node.greedy = node.greedy or _Trie()
                    node = node.greedy
                elif segment.startswith("{"):
                    node.label = node.label or _Trie()
                    node = node.label
                else:
                    node = node.literals.setdefault(segment, _Trie())
            node.routes.append(route)

    def find(self, request: AwsRequest) -> tuple[OperationModel, dict[str, str]]:
        method = request.method.upper()
        trie = self.tries.get(method)
        best: tuple[_Route, list[str]] | None = None
        if trie is not None:
            segments = request.path.split("?", 1)[0].split("/")[1:]
            for route, values in _walk(trie, segments, 0, []):
                if (best is None or route.priority < best[0].priority) and route.accepts(request):
                    best = (route, values)
        if best is None:
            raise UnknownOperation(
                f"No {self.service} operation matches {method} {request.path}"
                + (f"?{request.query}" if request.query else ""),
                status=404,
            )
        route, values = best
        return route.operation, {name: unquote(value) for name, value in zip(route.labels, values, strict=True)}


def _walk(node: _Trie, segments: list[str], index: int, values: list[str]) -> list[tuple[_Route, list[str]]]:
    """Every route whose template matches ``segments[index:]``, with its label values."""
    found: list[tuple[_Route, list[str]]] = []
    remaining = len(segments) - index
    if remaining == 0 or (remaining == 1 and segments[index] == ""):
        found.extend((route, list(values)) for route in node.routes)
        if remaining == 0:
            return found
    segment = segments[index]
    child = node.literals.get(segment)
    if child is not None:
        found.extend(_walk(child, segments, index + 1, values))
    if node.label is not None and segment:
        values.append(segment)
        found.extend(_walk(node.label, segments, index + 1, values))
        values.pop()
    if node.greedy is not None:
        for end in range(len(segments), index, -1):
            value = "/".join(segments[index:end])
            if value:
                values.append(value)
                found.extend(_walk(node.greedy, segments, end, values))
                values.pop()
    return found


@cache
def _router(service_model: ServiceModel) -> _TargetRouter | _ActionRouter | _RestRouter:
    protocol = service_protocol(service_model)
    if protocol in ("json", "json-1.0", "json-1.1"):
        return _TargetRouter(service_model)
    if protocol in ("query", "ec2"):
        return _ActionRouter(service_model)
    if protocol in ("rest-json", "rest-xml"):
        return _RestRouter(service_model)
    raise ValueError(f"Unsupported protocol {protocol!r} for service {service_model.service_name}")


def find_operation(service_model: ServiceModel, request: AwsRequest) -> tuple[OperationModel, dict[str, str]]:
    """The operation ``request`` calls, and its percent-decoded URI label values.

    A query-era call (``Action=…`` form) to a JSON service that still serves those (SQS) gets the
    operation of the service's query view, so it is parsed and answered in the query protocol;
    its label values are the members implied by where it posted (the queue URL).
    Raises UnknownOperation / InvalidAction / MissingAction (as AwsError) naming what
    was asked for when nothing matches.
    """
    model = protocol_model(service_model, request)
    if model is not service_model:
        try:
            operation, _ = _router(model).find(request)
        except AwsError as error:
            raise answer_as(error, model) from None
        return operation, implied_params(service_model, request)
    return _router(service_model).find(request)
