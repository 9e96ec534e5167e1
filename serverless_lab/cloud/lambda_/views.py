"""The Lambda console: server-rendered pages over the backend and runtime services the Lambda API uses.

Invoking views are ``async``: a test event or a burst waits for the function on the event loop (as
the API's Invoke does) instead of holding the one thread Django runs sync views on under ASGI.
Their ORM and template work runs through ``sync_to_async``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from serverless_lab.cloud.core.errors import AwsError
from serverless_lab.cloud.esm import backend as esm_backend
from serverless_lab.cloud.esm.models import EventSourceMapping
from serverless_lab.sandboxes.models import Sandbox
from serverless_lab.sandboxes.selectors import own_sandbox_or_404
from serverless_lab.web.http import HtmxHttpRequest

from . import backend, console, selectors
from .blueprints import BLUEPRINTS
from .forms import (
    BurstForm,
    CodeForm,
    ConfigurationForm,
    FunctionCreateForm,
    TemplatePickForm,
    TestEventForm,
    TriggerCreateForm,
    TriggerToggleForm,
)
from .models import Function
from .test_events import TEMPLATES


# htmx does not swap 4xx answers, so a partial that shows form errors answers 200; whole pages
# with form errors answer 400.


def _own_function(request: HttpRequest, sandbox_id: int, name: str) -> tuple[Sandbox, Function]:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    return sandbox, selectors.function_get(sandbox=sandbox, name=name)


# --- the function list ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def function_list(request: HttpRequest, sandbox_id: int) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    form = FunctionCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"]
        try:
            console.function_create_from_blueprint(
                sandbox=sandbox, name=name, blueprint_key=form.cleaned_data["blueprint"]
            )
        except AwsError as error:  # ResourceConflictException, CodeStorageExceededException, ...
            form.add_error("name" if error.code == "ResourceConflictException" else None, error.message)
        else:
            messages.success(request, f"Function {name} created. Edit the code, then run a test event.")
            return redirect("lambda:function", sandbox.pk, name)
    context = {
        "sandbox": sandbox,
        "functions": selectors.function_rows(sandbox=sandbox),
        "form": form,
        "blueprints": list(BLUEPRINTS.values()),
    }
    return render(request, "lambda/function_list.html", context, status=400 if form.errors else 200)


# --- the Code tab: editor, test events, results --------------------------------------------------


def _event_form(function: Function, pick: TemplatePickForm) -> TestEventForm:
    """The event editor, filled with a saved event, a template, or the first saved event."""
    events = {event.name: event for event in selectors.test_events(function=function)}
    choice = pick.cleaned_data if pick.is_valid() else {}
    if choice.get("template") in TEMPLATES:
        return TestEventForm(initial={"payload": TEMPLATES[choice["template"]].text(), "name": ""})
    event = events.get(choice.get("event") or "") or next(iter(events.values()), None)
    if event is not None:
        return TestEventForm(initial={"payload": event.payload, "name": event.name})
    return TestEventForm(initial={"payload": TEMPLATES["hello-world"].text(), "name": ""})


def _code_context(sandbox: Sandbox, function: Function, **extra: Any) -> dict[str, Any]:
    editable, _ = selectors.function_code(function=function)
    context: dict[str, Any] = {
        "sandbox": sandbox,
        "function": function,
        "tab": "code",
        "code": editable,
        "code_form": CodeForm(initial={"source": editable.source}),
        "test_events": selectors.test_events(function=function),
        "templates": list(TEMPLATES.values()),
        "invocations": selectors.recent_invocations(function=function),
    }
    context.update(extra)
    return context


@login_required
@require_GET
def function_detail(request: HtmxHttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    sandbox, function = _own_function(request, sandbox_id, name)
    pick = TemplatePickForm(request.GET)
    event_form = _event_form(function, pick)
    picked = pick.cleaned_data.get("template", "") if pick.is_valid() else ""
    context = _code_context(sandbox, function, event_form=event_form, picked_template=picked)
    if request.htmx and request.htmx.target == "event-editor":
        return render(request, "lambda/function_detail.html#event-editor", context)
    return render(request, "lambda/function_detail.html", context)


@login_required
@require_POST
def function_deploy(request: HtmxHttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    sandbox, function = _own_function(request, sandbox_id, name)
    editable, zip_bytes = selectors.function_code(function=function)
    form = CodeForm(request.POST)
    deploy_error = ""
    if not editable.editable:
        deploy_error = editable.problem
    elif form.is_valid():
        try:
            function = console.function_code_deploy(
                sandbox=sandbox,
                function=function,
                filename=editable.filename,
                source=form.cleaned_data["source"],
                current_zip=zip_bytes,
            )
        except AwsError as error:
            deploy_error = error.message
    else:
        deploy_error = " ".join(form.errors.get("source", ["The code could not be read."]))
    if request.htmx:
        context = {"sandbox": sandbox, "function": function, "deploy_error": deploy_error, "deployed": not deploy_error}
        return render(request, "lambda/function_detail.html#deploy-status", context)
    if deploy_error:
        messages.error(request, deploy_error)
    else:
        messages.success(request, f"Deployed {editable.filename} to {function.name}.")
    return redirect("lambda:function", sandbox.pk, function.name)


@login_required
@require_POST
def test_event_save(request: HtmxHttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    sandbox, function = _own_function(request, sandbox_id, name)
    form = TestEventForm(request.POST, require_name=True)
    saved = None
    if form.is_valid():
        saved = console.test_event_save(
            function=function, name=form.cleaned_data["name"], payload=form.cleaned_data["payload"]
        )
    context = _code_context(sandbox, function, event_form=form, saved_event=saved)
    status = 400 if form.errors else 200
    if request.htmx:
        return render(request, "lambda/function_detail.html#event-editor", context)
    if saved is not None:
        messages.success(request, f"Test event {saved.name} saved.")
        return redirect(
            f"{reverse('lambda:function', args=[sandbox.pk, function.name])}?{urlencode({'event': saved.name})}"
        )
    return render(request, "lambda/function_detail.html", context, status=status)


@login_required
@require_POST
def test_event_delete(request: HttpRequest, sandbox_id: int, name: str, event: str) -> HttpResponse:
    sandbox, function = _own_function(request, sandbox_id, name)
    function.test_events.filter(name=event).delete()
    messages.success(request, f"Test event {event} deleted.")
    return redirect("lambda:function", sandbox.pk, function.name)


def _result_html(request: HttpRequest, context: dict[str, Any], *, whole_page: bool, status: int = 200) -> HttpResponse:
    template = "lambda/function_detail.html" if whole_page else "lambda/function_detail.html#result-pane"
    return render(request, template, context, status=status)


def _result_context(
    request: HttpRequest, sandbox_id: int, name: str, form: TestEventForm, result: console.ConsoleInvoke | None
) -> dict[str, Any]:
    sandbox, function = _own_function(request, sandbox_id, name)
    return _code_context(sandbox, function, event_form=form, result=result, result_payload=_pretty(result))


def _pretty(result: console.ConsoleInvoke | None) -> str:
    if result is None or not result.payload:
        return ""
    try:
        return json.dumps(json.loads(result.payload), indent=2)
    except ValueError:
        return result.payload


@login_required
@require_POST
async def function_test(request: HtmxHttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    """Run the event in the editor against $LATEST and show the result pane."""
    _, function = await sync_to_async(_own_function)(request, sandbox_id, name)
    form = TestEventForm(request.POST)
    valid = form.is_valid()
    result = await console.invoke(function=function, payload=form.cleaned_data["payload"].encode()) if valid else None
    context = await sync_to_async(_result_context)(request, sandbox_id, name, form, result)
    return await sync_to_async(_result_html)(
        request, context, whole_page=not request.htmx, status=200 if valid or request.htmx else 400
    )


# --- configuration -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def function_configuration(request: HtmxHttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    sandbox, function = _own_function(request, sandbox_id, name)
    limit = backend.sandbox_concurrency_limit(sandbox)
    initial = {
        "memory_mb": function.memory_mb,
        "timeout_s": function.timeout_s,
        "reserved_concurrency": function.reserved_concurrency,
        "environment": function.environment,
    }
    form = ConfigurationForm(request.POST or None, initial=initial, concurrency_limit=limit)
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action == "add":
            form.rows.append(("", ""))
        elif action.startswith("remove-") and action[7:].isdigit() and int(action[7:]) < len(form.rows):
            del form.rows[int(action[7:])]
        elif form.is_valid():
            try:
                _save_configuration(sandbox, function, form.cleaned_data)
            except AwsError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Configuration of {function.name} saved.")
                url = reverse("lambda:configuration", args=[sandbox.pk, function.name])
                return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    if not form.rows:
        form.rows.append(("", ""))
    context = {"sandbox": sandbox, "function": function, "tab": "configuration", "form": form, "limit": limit}
    status = 400 if form.is_bound and form.errors else 200
    if request.htmx and request.htmx.target == "configuration-form":
        return render(request, "lambda/configuration.html#configuration-form", context)
    return render(request, "lambda/configuration.html", context, status=status)


def _save_configuration(sandbox: Sandbox, function: Function, data: dict[str, Any]) -> None:
    backend.update_function_configuration(
        sandbox=sandbox,
        function_name=function.name,
        changes={"memory_mb": data["memory_mb"], "timeout_s": data["timeout_s"], "environment": data["environment"]},
    )
    if data["reserved_concurrency"] is None:
        backend.delete_function_concurrency(sandbox=sandbox, function_name=function.name)
    else:
        backend.put_function_concurrency(
            sandbox=sandbox, function_name=function.name, reserved=data["reserved_concurrency"]
        )


# --- monitoring ----------------------------------------------------------------------------------


@login_required
@require_GET
def function_monitoring(request: HtmxHttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    sandbox, function = _own_function(request, sandbox_id, name)
    window = request.GET.get("window", selectors.DEFAULT_WINDOW)
    context = {
        "sandbox": sandbox,
        "function": function,
        "tab": "monitoring",
        "monitor": selectors.monitoring(function=function, window=window),
        "windows": [(key, label) for key, (label, _, _) in selectors.WINDOWS.items()],
        "burst_form": BurstForm(),
        "limit": backend.sandbox_concurrency_limit(sandbox),
    }
    if request.htmx and request.htmx.target == "monitoring-data":
        return render(request, "lambda/_monitoring_live.html", context)
    return render(request, "lambda/monitoring.html", context)


def _burst_payload(function: Function) -> bytes:
    event = function.test_events.order_by("name").first()
    return (event.payload if event else TEMPLATES["hello-world"].text()).encode()


@login_required
@require_POST
async def function_burst(request: HtmxHttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    """Fire N concurrent invokes; the monitoring charts (polling) show them land, scale and throttle."""
    sandbox, function = await sync_to_async(_own_function)(request, sandbox_id, name)
    form = BurstForm(request.POST)
    summary = None
    if form.is_valid():
        payload = await sync_to_async(_burst_payload)(function)
        summary = await console.burst(function=function, count=form.cleaned_data["count"], payload=payload)
    context = {
        "sandbox": sandbox,
        "function": function,
        "burst_form": form,
        "summary": summary,
        "limit": backend.sandbox_concurrency_limit(sandbox),
    }
    if request.htmx:
        return await sync_to_async(render)(request, "lambda/monitoring.html#burst-panel", context)
    if summary is not None:
        await sync_to_async(messages.success)(
            request,
            f"Burst of {summary.count}: {summary.succeeded} succeeded, {summary.throttled} throttled, "
            f"{summary.function_errors} function errors.",
        )
    else:
        await sync_to_async(messages.error)(request, " ".join(form.errors.get("count", ["Choose how many invokes."])))
    return redirect("lambda:monitoring", sandbox.pk, function.name)


# --- delete --------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def function_delete(request: HttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    sandbox, function = _own_function(request, sandbox_id, name)
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm", "").strip() != function.name:
            error = f"Type {function.name} to confirm."
        else:
            backend.delete_function(sandbox=sandbox, function_name=function.name)
            messages.success(request, f"Function {function.name} deleted.")
            return redirect("lambda:functions", sandbox.pk)
    return render(
        request,
        "lambda/function_delete.html",
        {"sandbox": sandbox, "function": function, "error": error},
        status=400 if error else 200,
    )


# --- triggers (event source mappings; what else invokes the function) ---------------------------


def _own_mapping(
    request: HttpRequest, sandbox_id: int, name: str, uuid: str
) -> tuple[Sandbox, Function, EventSourceMapping]:
    sandbox, function = _own_function(request, sandbox_id, name)
    try:
        mapping = esm_backend.get_event_source_mapping(sandbox=sandbox, uuid=uuid)
    except AwsError:
        raise Http404("No such trigger") from None
    if mapping.function_id != function.pk:
        raise Http404("No such trigger")
    return sandbox, function, mapping


def _triggers_context(sandbox: Sandbox, function: Function, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "sandbox": sandbox,
        "function": function,
        "tab": "triggers",
        "triggers": selectors.triggers(sandbox=sandbox, function=function),
    }
    context.update(extra)
    return context


@login_required
@require_http_methods(["GET", "POST"])
def function_triggers(request: HtmxHttpRequest, sandbox_id: int, name: str) -> HttpResponse:
    """The Triggers tab: the function's event source mappings and, read-only, its other invokers;
    the add form creates a mapping through the backend CreateEventSourceMapping uses."""
    sandbox, function = _own_function(request, sandbox_id, name)
    sources = selectors.trigger_sources(sandbox=sandbox)
    form = TriggerCreateForm(request.POST or None, source_choices=sources.choices)
    if request.method == "POST" and form.is_valid():
        try:
            mapping = esm_backend.create_event_source_mapping(
                sandbox=sandbox,
                function_name=function.name,
                event_source_arn=form.cleaned_data["source"],
                params=form.params(),
            )
        except AwsError as error:
            form.add_lambda_error(error.message)
        else:
            state = "enabled" if mapping.enabled else "disabled"
            source = selectors.source_name(mapping.event_source_arn)
            messages.success(request, f"Trigger added ({state}): {source} → {function.name}.")
            return redirect("lambda:triggers", sandbox.pk, function.name)
    context = _triggers_context(sandbox, function, form=form, sources=sources)
    return render(request, "lambda/triggers.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def trigger_toggle(request: HtmxHttpRequest, sandbox_id: int, name: str, uuid: str) -> HttpResponse:
    sandbox, function, mapping = _own_mapping(request, sandbox_id, name, uuid)
    form = TriggerToggleForm(request.POST)
    changed = False
    if form.is_valid():
        source = selectors.source_name(mapping.event_source_arn)
        try:
            esm_backend.update_event_source_mapping(
                sandbox=sandbox, uuid=uuid, params={"Enabled": form.cleaned_data["enabled"]}
            )
        except AwsError as error:  # e.g. the queue or the stream is gone
            note = error.message
        else:
            changed = True
            note = (
                f"Trigger from {source} enabled: its poller reads again."
                if form.cleaned_data["enabled"]
                else f"Trigger from {source} disabled: nothing new is read (a batch already running finishes)."
            )
    else:
        note = "Choose to enable or disable the trigger."
    if request.htmx:
        context = _triggers_context(sandbox, function, toggled=note, toggle_failed=not changed)
        return render(request, "lambda/triggers.html#trigger-table", context)
    (messages.success if changed else messages.error)(request, note)
    return redirect("lambda:triggers", sandbox.pk, function.name)


@login_required
@require_http_methods(["GET", "POST"])
def trigger_delete(request: HttpRequest, sandbox_id: int, name: str, uuid: str) -> HttpResponse:
    sandbox, function, mapping = _own_mapping(request, sandbox_id, name, uuid)
    if request.method == "POST":
        esm_backend.delete_event_source_mapping(sandbox=sandbox, uuid=uuid)
        source = selectors.source_name(mapping.event_source_arn)
        messages.success(request, f"Trigger deleted: {source} no longer invokes {function.name}.")
        return redirect("lambda:triggers", sandbox.pk, function.name)
    rows = selectors.triggers(sandbox=sandbox, function=function).mappings
    row = next(r for r in rows if r.uuid == str(mapping.uuid))
    return render(request, "lambda/trigger_delete.html", {"sandbox": sandbox, "function": function, "mapping": row})
