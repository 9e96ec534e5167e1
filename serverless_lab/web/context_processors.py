from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse

from serverless_lab.accounts.selectors import user_is_instructor


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool


# (label, url name, needs instructor)
_NAV = (
    ("Lessons", "lessons:index", False),
    ("Playground", "web:playground", False),
    ("Sandboxes", "sandboxes:list", False),
    ("Instructor", "web:instructor", True),
)


def navigation(request: HttpRequest) -> dict[str, object]:
    """Main navigation for base.html; an item is active when the current path is under its URL."""
    is_instructor = user_is_instructor(request.user)
    items = []
    for label, url_name, instructor_only in _NAV:
        if instructor_only and not is_instructor:
            continue
        url = reverse(url_name)
        items.append(NavItem(label=label, url=url, active=request.path.startswith(url)))
    return {"nav_items": items, "is_instructor": is_instructor}
