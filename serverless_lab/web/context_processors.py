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
    # The coverage map, exercise authoring and class pages live under /lessons/ but belong to the instructor's
    # area: there "Instructor" is the current item, not "Lessons".
    instructor_area = is_instructor and _in_instructor_area(request.path)
    items = []
    for label, url_name, instructor_only in _NAV:
        if instructor_only and not is_instructor:
            continue
        url = reverse(url_name)
        if url_name == "web:instructor":
            active = request.path.startswith(url) or instructor_area
        else:
            active = request.path.startswith(url) and not instructor_area
        items.append(NavItem(label=label, url=url, active=active))
    return {"nav_items": items, "is_instructor": is_instructor}


def _in_instructor_area(path: str) -> bool:
    if path.startswith(reverse("lessons:class_join")):
        return False  # students join a class from here
    prefixes = (reverse("lessons:coverage"), reverse("lessons:authoring"), reverse("lessons:class_create").removesuffix("new/"))
    return path.startswith(prefixes)
