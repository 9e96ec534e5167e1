"""JSON feeds for the live diagram and the trace pages. Visible to whoever may watch the sandbox."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from serverless_lab.sandboxes.models import Sandbox
from serverless_lab.sandboxes.selectors import sandbox_can_watch

from . import selectors
from .ids import is_trace_id


def _watched_sandbox(request: HttpRequest, sandbox_id: int) -> Sandbox:
    if not sandbox_can_watch(user=request.user, sandbox_id=sandbox_id):
        raise Http404("No such sandbox.")
    return Sandbox.objects.get(pk=sandbox_id)


@login_required
@require_GET
def graph_json(request: HttpRequest, sandbox_id: int) -> JsonResponse:
    """``?focus=s3,lambda``: only those services' part of the graph (a lesson's diagram)."""
    focus = selectors.focus_of(request.GET.get("focus", ""))
    return JsonResponse(selectors.sandbox_graph(sandbox=_watched_sandbox(request, sandbox_id), focus=focus))


@login_required
@require_GET
def hops_json(request: HttpRequest, sandbox_id: int) -> JsonResponse:
    """``?after=<seq>``: the hops a reconnecting page missed (0: the newest ones)."""
    sandbox = _watched_sandbox(request, sandbox_id)
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        after = 0
    return JsonResponse({"v": 1, "hops": selectors.hops_after(sandbox=sandbox, after=after)})


@login_required
@require_GET
def trace_list(request: HttpRequest, sandbox_id: int) -> HttpResponse:
    sandbox = _watched_sandbox(request, sandbox_id)
    return render(
        request, "tracing/trace_list.html", {"sandbox": sandbox, "traces": selectors.traces_of(sandbox=sandbox)}
    )


@login_required
@require_GET
def trace_detail(request: HttpRequest, sandbox_id: int, trace_id: str) -> HttpResponse:
    sandbox = _watched_sandbox(request, sandbox_id)
    trace = selectors.trace_by_id(sandbox=sandbox, trace_id=trace_id) if is_trace_id(trace_id) else None
    if trace is None:
        raise Http404("No such trace.")
    return render(
        request,
        "tracing/trace_detail.html",
        {
            "sandbox": sandbox,
            "trace": trace,
            "hops": selectors.trace_hops(trace=trace),
            "graph": selectors.sandbox_graph(sandbox=sandbox),
        },
    )
