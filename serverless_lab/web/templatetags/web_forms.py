"""`{% form_field field %}`: one accessible form row (label, input, help text, errors)."""

from __future__ import annotations

from typing import Any

from django import template
from django.forms import BoundField

register = template.Library()

# Browsers and password managers fill fields by their autocomplete token; forms we don't own (like
# a plain EmailField) don't set it, so fill it in by field name.
_AUTOCOMPLETE_BY_NAME = {
    "username": "username",
    "email": "email",
    "password": "current-password",
    "password1": "new-password",
    "password2": "new-password",
}


@register.inclusion_tag("web/_form_field.html")
def form_field(field: BoundField, autocomplete: str = "") -> dict[str, Any]:
    """Render ``field`` with its label, help text and errors.

    Django (5.0+) already links the input to ``<id>_helptext`` and ``<id>_error`` through
    aria-describedby and sets aria-invalid; the template gives those elements the matching ids.
    """
    attrs: dict[str, str] = {}
    token = autocomplete or _AUTOCOMPLETE_BY_NAME.get(field.name, "")
    if token and "autocomplete" not in field.field.widget.attrs:
        attrs["autocomplete"] = token
    return {"field": field, "widget": field.as_widget(attrs=attrs)}
