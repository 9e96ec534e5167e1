from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

from lessons.selectors import classes_taught, course_map
from serverless_lab.accounts.selectors import user_is_instructor
from serverless_lab.sandboxes.selectors import sandboxes_of

# The three steps of the "how it works" strip on the home page.
HOW_IT_WORKS = (
    ("Read", "Short concept lessons explain one AWS service at a time, with its real limits and pitfalls."),
    ("Run in your sandbox", "Point boto3 or the AWS CLI at your own emulated AWS account and build it for real."),
    ("Watch events flow", "Every call and delivery shows up live on a diagram, so you see what talks to what."),
)


def home(request: HttpRequest) -> HttpResponse:
    context = {
        "entries": course_map(user=request.user),
        "steps": HOW_IT_WORKS,
        "endpoint_example": f"{settings.LAB_PUBLIC_URL}/{settings.AWS_ENDPOINT_PREFIX}",
    }
    return render(request, "web/home.html", context)


def playground(request: HttpRequest) -> HttpResponse:
    return render(request, "web/playground.html")


@login_required
def instructor(request: HttpRequest) -> HttpResponse:
    if not user_is_instructor(request.user):
        raise PermissionDenied("The instructor dashboard is only for instructors.")
    return render(request, "web/instructor.html", {"classes": classes_taught(user=request.user)})


_IN_A_SANDBOX = re.compile(r"^/sandboxes/(\d+)/")


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The friendly 404; inside one of the user's sandboxes (a stale console link to a deleted queue,
    say) it also leads back to that sandbox."""
    sandbox = None
    match = _IN_A_SANDBOX.match(request.path)
    if match and request.user.is_authenticated:
        sandbox = sandboxes_of(user=request.user).filter(pk=int(match.group(1))).first()
    return render(request, "404.html", {"request_path": request.path, "sandbox": sandbox}, status=404)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without a RequestContext: the context processors (and the database they may use)
    # could be what failed.
    return HttpResponseServerError(loader.get_template("500.html").render())
