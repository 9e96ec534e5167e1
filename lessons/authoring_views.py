"""Instructors' pages for authoring exercises: list, create, edit with preview, delete, import and
export. Every view answers 403 to students, so check code and reference solutions never reach them."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from lessons import authoring
from lessons.content import render_markdown
from lessons.exercises import checks_from_source
from lessons.forms import ExerciseForm, ImportForm
from lessons.models import AuthoredExercise, Exercise, Lesson
from serverless_lab.accounts.selectors import user_is_instructor

View = Callable[..., HttpResponse]


def instructor_only(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_is_instructor(request.user):
            raise PermissionDenied("Authoring exercises is for instructors.")
        return view(request, *args, **kwargs)

    return wrapped


def _lesson_choices() -> list[tuple[str, str]]:
    return [(slug, f"{order}. {title}") for slug, order, title in Lesson.objects.values_list("slug", "order", "title")]


def _preview(form: ExerciseForm) -> dict[str, Any]:
    """What the exercise card will show, from whatever fields are readable so far."""
    data = form.data
    html, _toc = render_markdown(str(data.get("instructions", "")).replace("\r\n", "\n"))
    checks, _errors = checks_from_source(str(data.get("module_source", "")), shown="checks")
    return {
        "title": data.get("title", ""),
        "summary": data.get("summary", ""),
        "instructions_html": html,
        "hints": [line.strip() for line in str(data.get("hints", "")).splitlines() if line.strip()],
        "starter": str(data.get("starter", "")).replace("\r\n", "\n"),
        "checks": checks,
    }


def _initial(authored: AuthoredExercise) -> dict[str, Any]:
    return {
        "slug": authored.slug,
        "title": authored.title,
        "lesson": authored.lesson_slug,
        "order": authored.order,
        "summary": authored.summary,
        "instructions": authored.instructions,
        "hints": "\n".join(authored.hints),
        "starter": authored.starter,
        "module_source": authored.module_source,
    }


@instructor_only
def authoring_index(request: HttpRequest, import_form: ImportForm | None = None) -> HttpResponse:
    titles = dict(Lesson.objects.values_list("slug", "title"))
    order = {slug: index for index, slug in enumerate(Lesson.objects.order_by("order").values_list("slug", flat=True))}
    rows = AuthoredExercise.objects.select_related("exercise", "author")
    authored = [(item, titles.get(item.lesson_slug, item.lesson_slug)) for item in rows]
    authored.sort(key=lambda pair: (order.get(pair[0].lesson_slug, len(order)), pair[0].order, pair[0].slug))
    shipped = list(Exercise.objects.filter(authored__isnull=True))
    shipped.sort(key=lambda exercise: (order.get(exercise.lesson_slug, len(order)), exercise.order))
    context = {
        "authored": authored,
        "shipped": [(exercise, titles.get(exercise.lesson_slug, exercise.lesson_slug)) for exercise in shipped],
        "import_form": import_form or ImportForm(),
    }
    return render(request, "lessons/authoring_index.html", context, status=400 if import_form else 200)


def _form_page(request: HttpRequest, authored: AuthoredExercise | None) -> HttpResponse:
    editing = authored is not None
    if request.method != "POST":
        initial = _initial(authored) if authored else {}
        form = ExerciseForm(initial=initial, lessons=_lesson_choices(), editing=editing)
        return render(request, "lessons/authoring_form.html", {"form": form, "authored": authored})
    data = request.POST.copy()
    if authored is not None:
        data["slug"] = authored.slug
    initial = _initial(authored) if authored else None
    form = ExerciseForm(data, initial=initial, lessons=_lesson_choices(), editing=editing)
    preview = _preview(form) if request.POST.get("action") == "preview" else None
    if preview is None and form.is_valid():
        try:
            saved = authoring.authored_save(author=request.user, draft=form.draft(), existing=authored)
        except authoring.AuthoringInvalid as exc:
            for error in exc.errors:
                form.add_error(None, str(error))
        else:
            messages.success(request, f"“{saved.title}” is saved and live at the end of its lesson.")
            return redirect(saved.get_absolute_url())
    elif preview is not None:
        form.is_valid()  # show field errors next to the preview
    context = {"form": form, "authored": authored, "preview": preview}
    return render(request, "lessons/authoring_form.html", context, status=200 if preview or form.is_valid() else 400)


@instructor_only
def authoring_new(request: HttpRequest) -> HttpResponse:
    return _form_page(request, None)


@instructor_only
def authoring_edit(request: HttpRequest, slug: str) -> HttpResponse:
    return _form_page(request, get_object_or_404(AuthoredExercise, slug=slug))


@instructor_only
@require_POST
def authoring_delete(request: HttpRequest, slug: str) -> HttpResponse:
    authored = get_object_or_404(AuthoredExercise, slug=slug)
    authoring.authored_delete(authored=authored)
    messages.success(request, f"“{authored.title}” is deleted.")
    return redirect("lessons:authoring")


@instructor_only
@require_POST
def authoring_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            authored, created = authoring.authored_import(author=request.user, files=form.cleaned_data["files"])
        except authoring.AuthoringInvalid as exc:
            for error in exc.errors:
                form.add_error("files", str(error))
        else:
            verb = "imported" if created else "replaced by the upload"
            messages.success(request, f"“{authored.title}” is {verb}.")
            return redirect(authored.get_absolute_url())
    return authoring_index(request, import_form=form)


@instructor_only
def exercise_export(request: HttpRequest, slug: str) -> HttpResponse:
    exercise = get_object_or_404(Exercise, slug=slug)
    response = HttpResponse(authoring.exercise_zip(exercise), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{exercise.slug}.zip"'
    return response
