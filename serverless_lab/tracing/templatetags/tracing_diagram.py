"""``{% lesson_diagram_choice newest as choice %}``: which sandbox a lesson's diagram shows."""

from __future__ import annotations

from typing import Any

from django import template

from serverless_lab.sandboxes.models import Sandbox
from serverless_lab.tracing import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def lesson_diagram_choice(context: template.Context, newest: Sandbox | None) -> selectors.DiagramChoice:
    """The student's pick (``?diagram_sandbox=<id>``, one of their own) or ``newest``, and the
    sandboxes they may pick from."""
    request: Any = context.get("request")
    chosen = request.GET.get("diagram_sandbox", "") if request is not None else ""
    return selectors.lesson_diagram_choice(user=context.get("user"), newest=newest, chosen=chosen)
