from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from . import services
from .forms import RenameForm, SandboxForm
from .models import Sandbox
from .selectors import sandboxes_of
from .tasks import send_test_event


def _own_sandbox(request: HttpRequest, pk: int) -> Sandbox:
    # Somebody else's sandbox is a 404, never a 403: its existence is not ours to reveal.
    return get_object_or_404(Sandbox, pk=pk, owner=request.user)


def _form_errors_into(form: SandboxForm | RenameForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            for item in errors:
                form.add_error(field, item)
    else:
        form.add_error(None, error)


@login_required
def sandbox_list(request: HttpRequest) -> HttpResponse:
    form = SandboxForm(request.POST or None, initial={"name": "my-sandbox"})
    if request.method == "POST" and form.is_valid():
        try:
            sandbox = services.sandbox_create(owner=request.user, **form.cleaned_data)
        except ValidationError as error:
            _form_errors_into(form, error)
        else:
            messages.success(request, f"Sandbox {sandbox.name} is ready.")
            return redirect("sandboxes:detail", pk=sandbox.pk)
    status = 400 if form.errors else 200
    return render(
        request, "sandboxes/list.html", {"sandboxes": sandboxes_of(user=request.user), "form": form}, status=status
    )


@login_required
def sandbox_detail(request: HttpRequest, pk: int) -> HttpResponse:
    sandbox = _own_sandbox(request, pk)
    context = {
        "sandbox": sandbox,
        "rename_form": RenameForm(initial={"name": sandbox.name}),
        "usage": _usage(sandbox),
    }
    return render(request, "sandboxes/detail.html", context)


def _usage(sandbox: Sandbox) -> dict[str, int]:
    """How much of its quotas the sandbox uses, for the Quotas card's bars."""
    from serverless_lab.cloud.s3.backend import storage_used

    return {"functions": sandbox.lambda_functions.count(), "storage_bytes": storage_used(sandbox)}


@login_required
@require_POST
def sandbox_rename(request: HttpRequest, pk: int) -> HttpResponse:
    sandbox = _own_sandbox(request, pk)
    form = RenameForm(request.POST)
    if form.is_valid():
        try:
            services.sandbox_rename(sandbox=sandbox, name=form.cleaned_data["name"])
        except ValidationError as error:
            _form_errors_into(form, error)
    if request.htmx:
        sandbox.refresh_from_db()
        return render(
            request,
            "sandboxes/detail.html#sandbox-title",
            {"sandbox": sandbox, "rename_form": form, "renamed": not form.errors},
            status=200,
        )
    if not form.errors:
        messages.success(request, "Sandbox renamed.")
    else:
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
    return redirect("sandboxes:detail", pk=pk)


@login_required
@require_POST
def sandbox_reset(request: HttpRequest, pk: int) -> HttpResponse:
    sandbox = _own_sandbox(request, pk)
    deleted = services.sandbox_reset(sandbox=sandbox)
    messages.success(request, f"Sandbox {sandbox.name} was reset ({deleted} resources removed).")
    return redirect("sandboxes:detail", pk=pk)


@login_required
def sandbox_delete(request: HttpRequest, pk: int) -> HttpResponse:
    sandbox = _own_sandbox(request, pk)
    if request.method == "POST":
        if request.POST.get("confirm_name") != sandbox.name:
            messages.error(request, "Type the sandbox's name exactly to confirm the deletion.")
            return render(request, "sandboxes/delete.html", {"sandbox": sandbox}, status=400)
        name = sandbox.name
        services.sandbox_delete(sandbox=sandbox)
        messages.success(request, f"Sandbox {name} was deleted.")
        return redirect("sandboxes:list")
    return render(request, "sandboxes/delete.html", {"sandbox": sandbox})


@login_required
@require_POST
def sandbox_send_test_event(request: HttpRequest, pk: int) -> HttpResponse:
    sandbox = _own_sandbox(request, pk)
    text = (request.POST.get("text") or "Hello from a Celery worker").strip()[:200]
    send_test_event.delay(sandbox.pk, text)
    if request.htmx:
        return HttpResponse(status=204)
    return redirect("sandboxes:detail", pk=pk)
