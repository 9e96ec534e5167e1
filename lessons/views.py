from __future__ import annotations

from celery.result import AsyncResult
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from lessons import selectors, services
from lessons.coverage import Concept
from lessons.models import Exercise, Lesson
from serverless_lab.accounts.selectors import user_is_instructor


def index(request: HttpRequest) -> HttpResponse:
    entries = selectors.course_map(user=request.user)
    total_minutes = sum(entry.lesson.estimated_minutes for entry in entries)
    return render(request, "lessons/index.html", {"entries": entries, "total_minutes": total_minutes})


def detail(request: HttpRequest, slug: str) -> HttpResponse:
    lesson = Lesson.objects.filter(slug=slug).only("slug").first()
    if lesson is None:
        raise Http404("No lesson with that name.")
    if request.user.is_authenticated:
        services.lesson_read(user=request.user, lesson=lesson)
    page = selectors.lesson_page(slug=slug, user=request.user)
    if page is None:
        raise Http404("No lesson with that name.")
    return render(request, "lessons/detail.html", {"page": page, "lesson": page.lesson})


@login_required
def coverage(request: HttpRequest) -> HttpResponse:
    if not user_is_instructor(request.user):
        raise PermissionDenied("The coverage map is for instructors.")
    content = services.content_read()
    topics: dict[str, list[Concept]] = {}
    for concept in content.concepts:
        topics.setdefault(concept.topic, []).append(concept)
    context = {
        "topics": list(topics.items()),
        "covered": sum(c.covered for c in content.concepts),
        "total": len(content.concepts),
        "errors": content.errors,
    }
    return render(request, "lessons/coverage.html", context)


@login_required
@require_POST
def quiz_answer(request: HttpRequest, slug: str, quiz_id: str) -> HttpResponse:
    lesson = get_object_or_404(Lesson, slug=slug)
    choices = [int(c) for c in request.POST.getlist("choice") if c.isdigit()]
    error = ""
    try:
        services.quiz_answer(user=request.user, lesson=lesson, quiz_id=quiz_id, choices=choices)
    except services.LessonsError as exc:
        error = str(exc)
    try:
        quiz = services.quiz_find(lesson=lesson, quiz_id=quiz_id)
    except services.LessonsError:
        raise Http404("No such quiz.") from None
    if not request.htmx:  # type: ignore[attr-defined]
        if error:
            messages.error(request, error)
        return redirect(f"{lesson.get_absolute_url()}#quiz-{quiz_id}")
    view = selectors.quiz_view(lesson=lesson, quiz=quiz, user=request.user)
    return render(request, "lessons/_quiz.html", {"quiz": view, "error": error})


@login_required
@require_POST
def lesson_complete(request: HttpRequest, slug: str) -> HttpResponse:
    lesson = get_object_or_404(Lesson, slug=slug)
    services.lesson_complete(user=request.user, lesson=lesson)
    messages.success(request, f"“{lesson.title}” is marked complete.")
    return redirect(lesson.get_absolute_url())


@login_required
@require_POST
def sandbox_reset(request: HttpRequest, slug: str) -> HttpResponse:
    lesson = get_object_or_404(Lesson, slug=slug)
    try:
        deleted = services.lesson_sandbox_reset(user=request.user)
    except services.LessonsError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Your sandbox is empty again ({deleted} resources removed). Start afresh.")
    return redirect(lesson.get_absolute_url())


@login_required
def exercise_hints(request: HttpRequest, slug: str) -> HttpResponse:
    exercise = get_object_or_404(Exercise, slug=slug)
    shown = request.GET.get("shown", "1")
    count = min(int(shown), len(exercise.hints)) if shown.isdigit() else 1
    return render(request, "lessons/_hints.html", {"exercise": exercise, "hints": exercise.hints[:count]})


@login_required
@require_POST
def exercise_submit(request: HttpRequest, slug: str) -> HttpResponse:
    exercise = get_object_or_404(Exercise, slug=slug)
    try:
        attempt = services.exercise_submit(user=request.user, exercise=exercise)
    except services.LessonsError as exc:
        if request.htmx:  # type: ignore[attr-defined]
            return render(request, "lessons/_attempt.html", {"attempt": None, "error": str(exc)})
        messages.error(request, str(exc))
        return redirect(f"/lessons/{exercise.lesson_slug}/#exercise-{exercise.slug}")
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect(f"/lessons/{exercise.lesson_slug}/#exercise-{exercise.slug}")
    return render(request, "lessons/_attempt.html", {"attempt": attempt})


@login_required
@require_POST
def exercise_reference(request: HttpRequest, slug: str) -> HttpResponse:
    if not user_is_instructor(request.user):
        raise PermissionDenied("Only instructors run reference solutions.")
    exercise = get_object_or_404(Exercise, slug=slug)
    attempt = services.exercise_reference_run(user=request.user, exercise=exercise)
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect(f"/lessons/{exercise.lesson_slug}/#exercise-{exercise.slug}")
    return render(request, "lessons/_attempt.html", {"attempt": attempt})


@login_required
def attempt_detail(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = selectors.attempt_for_viewer(attempt_id=attempt_id, user=request.user)
    if attempt is None:
        raise Http404("No such attempt.")
    return render(request, "lessons/_attempt.html", {"attempt": attempt})


@login_required
def class_join(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        try:
            classroom = services.classroom_join(student=request.user, join_code=request.POST.get("join_code", ""))
        except services.LessonsError as exc:
            error = str(exc)
        else:
            messages.success(request, f"You joined “{classroom.name}”. Your instructor can now follow your progress.")
            return redirect("lessons:index")
    classes = list(request.user.classrooms.select_related("instructor").order_by("name"))  # type: ignore[union-attr]
    return render(request, "lessons/class_join.html", {"error": error, "classes": classes})


@login_required
@require_POST
def class_create(request: HttpRequest) -> HttpResponse:
    if not user_is_instructor(request.user):
        raise PermissionDenied("Only instructors create classes.")
    try:
        classroom = services.classroom_create(instructor=request.user, name=request.POST.get("name", ""))
    except services.LessonsError as exc:
        messages.error(request, str(exc))
        return redirect("web:instructor")
    messages.success(request, f"Class “{classroom.name}” created. Students join with the code {classroom.join_code}.")
    return redirect("lessons:class_dashboard", class_id=classroom.pk)


@login_required
def class_dashboard(request: HttpRequest, class_id: int) -> HttpResponse:
    classroom = selectors.class_for_instructor(class_id=class_id, user=request.user)
    if classroom is None:
        raise Http404("No such class.")
    dashboard = selectors.class_dashboard(classroom=classroom)
    return render(request, "lessons/class_dashboard.html", {"dashboard": dashboard})


@login_required
def class_student(request: HttpRequest, class_id: int, student_id: int) -> HttpResponse:
    classroom = selectors.class_for_instructor(class_id=class_id, user=request.user)
    found = selectors.student_attempts(classroom=classroom, student_id=student_id) if classroom else None
    if found is None:
        raise Http404("No such student in this class.")
    student, attempts = found
    titles = dict(Exercise.objects.values_list("slug", "title"))
    pairs = [(attempt, titles.get(attempt.exercise_slug, attempt.exercise_slug)) for attempt in attempts]
    context = {"classroom": classroom, "student": student, "attempts": pairs}
    return render(request, "lessons/class_student.html", context)


_TRY_SESSION_KEY = "lessons_try_runs"


@login_required
@require_POST
def try_start(request: HttpRequest, action: str) -> HttpResponse:
    try:
        task_id = services.try_action_start(user=request.user, action=action)
    except services.LessonsError as exc:
        return render(request, "lessons/_try_result.html", {"error": str(exc)})
    _remember_run(request, task_id)
    return render(request, "lessons/_try_result.html", {"task_id": task_id, "pending": True})


def _remember_run(request: HttpRequest, task_id: str) -> None:
    """Only the browser that started a run may read its result back."""
    request.session[_TRY_SESSION_KEY] = [task_id, *request.session.get(_TRY_SESSION_KEY, [])][:20]


def _own_run(request: HttpRequest, task_id: str) -> AsyncResult:
    if task_id not in request.session.get(_TRY_SESSION_KEY, []):
        raise Http404("No such run.")
    return AsyncResult(task_id)


@login_required
def try_result(request: HttpRequest, task_id: str) -> HttpResponse:
    result = _own_run(request, task_id)
    if not result.ready():
        return render(request, "lessons/_try_result.html", {"task_id": task_id, "pending": True})
    if result.failed():
        return render(request, "lessons/_try_result.html", {"error": "The button failed in the worker; try again."})
    return render(request, "lessons/_try_result.html", {"steps": result.get()})


@login_required
@require_POST
def editor_run(request: HttpRequest, slug: str, function: str) -> HttpResponse:
    lesson = get_object_or_404(Lesson, slug=slug)
    try:
        task_id = services.editor_run_start(
            user=request.user, lesson=lesson, function=function, code=request.POST.get("code", "")
        )
    except services.LessonsError as exc:
        return render(request, "lessons/_editor_result.html", {"error": str(exc)})
    _remember_run(request, task_id)
    return render(request, "lessons/_editor_result.html", {"task_id": task_id, "pending": True})


@login_required
def editor_result(request: HttpRequest, task_id: str) -> HttpResponse:
    result = _own_run(request, task_id)
    if not result.ready():
        return render(request, "lessons/_editor_result.html", {"task_id": task_id, "pending": True})
    if result.failed():
        return render(request, "lessons/_editor_result.html", {"error": "Run failed in the worker; try again."})
    run = result.get()
    return render(request, "lessons/_editor_result.html", {"run": run, "error": run.get("error", "")})


@login_required
@require_POST
def scaling_burst(request: HttpRequest) -> HttpResponse:
    size = request.POST.get("size", "")
    try:
        task_id = services.scaling_burst_start(user=request.user, size=int(size) if size.isdigit() else 0)
    except services.LessonsError as exc:
        return render(request, "lessons/_scaling_result.html", {"error": str(exc)})
    _remember_run(request, task_id)
    return render(request, "lessons/_scaling_result.html", {"task_id": task_id, "pending": True})


@login_required
def scaling_result(request: HttpRequest, task_id: str) -> HttpResponse:
    result = _own_run(request, task_id)
    if not result.ready():
        return render(request, "lessons/_scaling_result.html", {"task_id": task_id, "pending": True})
    if result.failed():
        return render(request, "lessons/_scaling_result.html", {"error": "The burst failed in the worker; try again."})
    burst = result.get()
    return render(request, "lessons/_scaling_result.html", {"burst": burst, "error": burst.get("error", "")})
