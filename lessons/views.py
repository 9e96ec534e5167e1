from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from lessons import selectors


def index(request: HttpRequest) -> HttpResponse:
    entries = selectors.course_map(user=request.user)
    total_minutes = sum(entry.lesson.estimated_minutes for entry in entries)
    return render(request, "lessons/index.html", {"entries": entries, "total_minutes": total_minutes})


def detail(request: HttpRequest, slug: str) -> HttpResponse:
    page = selectors.lesson_page(slug=slug, user=request.user)
    if page is None:
        raise Http404("No lesson with that name.")
    return render(request, "lessons/detail.html", {"page": page, "lesson": page.lesson})
