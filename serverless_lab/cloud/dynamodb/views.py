"""The DynamoDB console: server-rendered pages over the same backend functions boto3 reaches
through /aws/, so an item written here and one written by ``put_item`` are the same row.

Every item operation the console runs is recorded as a hop from the browser node (with its
duration), so the diagram shows it and the latency page compares it with SDK calls.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serverless_lab.cloud.core.errors import AwsError
from serverless_lab.sandboxes.models import Sandbox
from serverless_lab.sandboxes.selectors import own_sandbox_or_404
from serverless_lab.web.http import HtmxHttpRequest
from serverless_lab.tracing import nodes
from serverless_lab.tracing.models import Hop
from serverless_lab.tracing.services import hop_record

from . import backend, selectors
from .exceptions import ConditionalCheckFailedException, ResourceNotFoundException, TransactionCanceledException
from .forms import ExploreForm, IndexFormSet, ItemForm, PartiQLForm, StreamForm, TableCreateForm
from .logic import DynamoValidationError

Doc = dict[str, Any]
TABS = [("items", "Items"), ("partiql", "PartiQL"), ("indexes", "Indexes & stream"), ("latency", "Latency")]


def _table(sandbox: Sandbox, name: str) -> selectors.TableRow:
    try:
        return selectors.table_detail(sandbox=sandbox, name=name)
    except ResourceNotFoundException:
        raise Http404("No such table") from None


@contextmanager
def _console_call(sandbox: Sandbox, table: str, operation: str) -> Iterator[None]:
    """Time one backend call and record it as a hop browser → table (an error hop if it raised)."""
    started = time.perf_counter()
    status, code = Hop.Status.OK, ""
    try:
        yield
    except AwsError as error:
        status, code = Hop.Status.ERROR, error.code
        raise
    finally:
        hop_record(
            sandbox_id=sandbox.pk,
            trace=None,
            from_node=nodes.BROWSER,
            to_node=nodes.dynamodb_table(sandbox.region, sandbox.account_id, table),
            action=f"dynamodb:{operation}",
            status=status,
            error_code=code,
            duration_ms=(time.perf_counter() - started) * 1000,
        )


def _error_text(error: AwsError) -> str:
    return f"{error.code}: {error.message}"


def _context(sandbox: Sandbox, table: selectors.TableRow, tab: str, **extra: Any) -> dict[str, Any]:
    return {"sandbox": sandbox, "table": table, "tab": tab, "tabs": TABS, **extra}


# --- tables -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def table_list(request: HttpRequest, sandbox_id: int) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    form = TableCreateForm(request.POST or None)
    indexes = IndexFormSet(request.POST or None, prefix="gsi")
    parameters = form.create_table_parameters(indexes) if request.method == "POST" else None
    if parameters is not None:
        name = parameters["name"]
        try:
            with _console_call(sandbox, name, "CreateTable"):
                backend.create_table(sandbox=sandbox, **parameters)
        except AwsError as error:
            form.add_error("name" if error.code == "ResourceInUseException" or "tableName" in error.message else None,
                           _error_text(error))
        else:
            messages.success(request, f"Table {name} created.")
            return redirect("dynamodb:table", sandbox.pk, name)
    invalid = bool(form.errors or any(f.errors for f in indexes) or indexes.non_form_errors())
    context = {
        "sandbox": sandbox,
        "tables": selectors.table_rows(sandbox=sandbox),
        "form": form,
        "indexes": indexes,
        "open_form": invalid or request.GET.get("create") == "1",
    }
    return render(request, "dynamodb/table_list.html", context, status=400 if invalid else 200)


@login_required
@require_http_methods(["GET", "POST"])
def table_delete(request: HttpRequest, sandbox_id: int, table: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    row = _table(sandbox, table)
    error = ""
    if request.method == "POST":
        try:
            with _console_call(sandbox, table, "DeleteTable"):
                backend.delete_table(sandbox=sandbox, name=table)
        except AwsError as exc:
            error = exc.message
        else:
            messages.success(request, f"Table {table} deleted, with its {row.item_count} items.")
            return redirect("dynamodb:tables", sandbox.pk)
    return render(
        request, "dynamodb/table_delete.html", _context(sandbox, row, "", error=error), status=409 if error else 200
    )


# --- the item explorer ------------------------------------------------------------------------


def _key_value(text: str, kind: str, what: str) -> Doc:
    if kind == "B":
        try:
            return {"B": base64.b64decode(text, validate=True)}
        except binascii.Error:
            raise DynamoValidationError(f"The {what} is Binary: give it as base64 text.") from None
    return {kind: text}


def _explore(sandbox: Sandbox, table: selectors.TableRow, form: ExploreForm) -> backend.Page:
    data = form.cleaned_data
    index = next((i for i in table.indexes if i.name == data["index"]), None)
    hash_key, range_key = (index.hash_key, index.range_key) if index else (table.hash_key, table.range_key)
    start = selectors.key_from_token(data["start"]) if data["start"] else None
    expressions = backend.Expressions(
        names=selectors.parse_names(data["names"]),
        values=selectors.parse_values(data["values"]),
        filter=data["filter"] or None,
    )
    limit = data["limit"] or 25
    if data["mode"] != "query":
        with _console_call(sandbox, table.name, "Scan"):
            return backend.scan(
                sandbox=sandbox,
                table_name=table.name,
                index_name=index.name if index else None,
                expressions=expressions,
                limit=limit,
                exclusive_start_key=start,
            )
    names = dict(expressions.names or {}) | {"#console_pk": hash_key.name}
    values = dict(expressions.values or {}) | {":console_pk": _key_value(data["pk"], hash_key.type, "partition key")}
    condition = "#console_pk = :console_pk"
    operator = data["sk_op"]
    if operator:
        if range_key is None:
            raise DynamoValidationError(f"{index.name if index else table.name} has no sort key to put a condition on.")
        names["#console_sk"] = range_key.name
        values[":console_sk"] = _key_value(data["sk"], range_key.type, "sort key")
        if operator == "BETWEEN":
            values[":console_sk2"] = _key_value(data["sk2"], range_key.type, "sort key")
            condition += " AND #console_sk BETWEEN :console_sk AND :console_sk2"
        elif operator == "begins_with":
            condition += " AND begins_with(#console_sk, :console_sk)"
        else:
            condition += f" AND #console_sk {operator} :console_sk"
    expressions.names, expressions.values, expressions.key_condition = names, values, condition
    with _console_call(sandbox, table.name, "Query"):
        return backend.query(
            sandbox=sandbox,
            table_name=table.name,
            index_name=index.name if index else None,
            expressions=expressions,
            forward=not data["descending"],
            limit=limit,
            exclusive_start_key=start,
        )


@login_required
@require_GET
def table_detail(request: HtmxHttpRequest, sandbox_id: int, table: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    row = _table(sandbox, table)
    form = ExploreForm(request.GET or {"mode": "scan"})
    page = grid = None
    next_query = first_query = ""
    if form.is_valid():
        try:
            page = _explore(sandbox, row, form)
        except AwsError as error:
            field = "filter" if "FilterExpression" in error.message or "filter" in error.message else None
            form.add_error(field, _error_text(error))
        else:
            index = next((i for i in row.indexes if i.name == form.cleaned_data["index"]), None)
            keys = row.key_names + ([n for n in (index.hash_key.name, index.range_key.name if index.range_key else "")
                                      if n and n not in row.key_names] if index else [])
            grid = selectors.item_grid(page.items, keys)
            query = {k: v for k, v in request.GET.items() if k != "start" and v}
            if page.last_key:
                next_query = urlencode(query | {"start": selectors.key_token(page.last_key)})
            if form.cleaned_data["start"]:
                first_query = urlencode(query) or "mode=scan"
    context = _context(
        sandbox, row, "items", form=form, page=page, grid=grid, next_query=next_query, first_query=first_query
    )
    status = 400 if form.errors and not request.htmx else 200  # htmx swaps only 2xx answers
    if request.htmx and request.htmx.target == "explorer":
        return render(request, "dynamodb/table_detail.html#explorer", context, status=status)
    return render(request, "dynamodb/table_detail.html", context, status=status)


# --- one item ---------------------------------------------------------------------------------


def _blank_item(table: selectors.TableRow) -> Doc:
    sample = {"S": "", "N": "0", "B": b""}
    keys = [table.hash_key] + ([table.range_key] if table.range_key else [])
    return {key.name: {key.type: sample[key.type]} for key in keys}


def _render_item(item: Doc, dialect: str) -> str:
    return selectors.dynamodb_json(item) if dialect == "dynamodb" else selectors.plain_json(item)


def _save_item(sandbox: Sandbox, table: selectors.TableRow, item: Doc, original: Doc | None) -> None:
    """Put ``item``; a new key must be free (an edit that changes the key moves the item, atomically)."""
    names = {f"#k{i}": name for i, name in enumerate(table.key_names)}
    free = backend.Expressions(names=names, condition=" AND ".join(f"attribute_not_exists({n})" for n in names))
    key = {name: item[name] for name in table.key_names if name in item}
    if original is not None and backend.logic.values_equal({"M": key}, {"M": original}):
        with _console_call(sandbox, table.name, "PutItem"):
            backend.put_item(sandbox=sandbox, table_name=table.name, item=item)
    elif original is not None:
        put = {"TableName": table.name, "Item": item, "ConditionExpression": free.condition,
               "ExpressionAttributeNames": names}
        with _console_call(sandbox, table.name, "TransactWriteItems"):
            backend.transact_write_items(
                sandbox=sandbox, transact_items=[{"Put": put}, {"Delete": {"TableName": table.name, "Key": original}}]
            )
    else:
        with _console_call(sandbox, table.name, "PutItem"):
            backend.put_item(sandbox=sandbox, table_name=table.name, item=item, expressions=free)


@login_required
@require_http_methods(["GET", "POST"])
def item_edit(request: HtmxHttpRequest, sandbox_id: int, table: str) -> HttpResponse:
    """Create (no ``key``) or edit (``key`` = a key token) one item as JSON in either dialect."""
    sandbox = own_sandbox_or_404(request, sandbox_id)
    row = _table(sandbox, table)
    token = request.GET.get("key", "")
    original = selectors.key_from_token(token) if token else None
    if token and original is None:
        raise Http404("No such item")
    item: Doc | None = None
    if original is not None:
        try:
            with _console_call(sandbox, table, "GetItem"):
                item = backend.get_item(sandbox=sandbox, table_name=table, key=original, consistent=True).item
        except DynamoValidationError:
            item = None
        if item is None:
            raise Http404("No such item")
    if request.method == "POST":
        form = ItemForm(request.POST)
        shown = request.POST.get("shown", "plain")
        shown = shown if shown in ("plain", "dynamodb") else "plain"
        if form.is_valid():
            try:
                parsed = selectors.parse_item(form.cleaned_data["text"], shown)
                if "convert" in request.POST:
                    target = form.cleaned_data["dialect"]
                    form = ItemForm(initial={"dialect": target, "text": _render_item(parsed, target)})
                    shown = target
                else:
                    _save_item(sandbox, row, parsed, original)
                    messages.success(request, "Item saved.")
                    return redirect("dynamodb:table", sandbox.pk, table)
            except ConditionalCheckFailedException:
                form.add_error("text", "An item with this key already exists: open it from the table to edit it.")
            except TransactionCanceledException:
                form.add_error("text", "An item with the new key already exists, so the key cannot change to it.")
            except AwsError as error:
                form.add_error("text", _error_text(error))
            if "convert" in request.POST and form.errors:
                form.data = form.data.copy()
                form.data["dialect"] = shown  # the text stays in the dialect it is written in
    else:
        dialect = request.GET.get("dialect") or (
            "dynamodb" if item is not None and selectors.plain_loses_types(item) else "plain"
        )
        dialect = dialect if dialect in ("plain", "dynamodb") else "plain"
        form = ItemForm(initial={"dialect": dialect, "text": _render_item(item or _blank_item(row), dialect)})
        shown = dialect
    context = _context(
        sandbox,
        row,
        "items",
        form=form,
        shown=shown,
        item=item,
        token=token,
        lossy=item is not None and selectors.plain_loses_types(item),
    )
    status = 400 if form.errors and not request.htmx else 200  # htmx swaps only 2xx answers
    if request.htmx and request.htmx.target == "item-editor":
        return render(request, "dynamodb/item_edit.html#item-editor", context, status=status)
    return render(request, "dynamodb/item_edit.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def item_delete(request: HttpRequest, sandbox_id: int, table: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    row = _table(sandbox, table)
    key = selectors.key_from_token(request.GET.get("key", ""))
    if key is None:
        raise Http404("No such item")
    if request.method == "POST":
        try:
            with _console_call(sandbox, table, "DeleteItem"):
                backend.delete_item(sandbox=sandbox, table_name=table, key=key)
        except DynamoValidationError:
            raise Http404("No such item") from None
        messages.success(request, "Item deleted.")
        return redirect("dynamodb:table", sandbox.pk, table)
    context = _context(sandbox, row, "items", key_text=selectors.plain_json(key, indent=None),
                       token=request.GET.get("key", ""))
    return render(request, "dynamodb/item_delete.html", context)


# --- PartiQL ----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def partiql(request: HtmxHttpRequest, sandbox_id: int, table: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    row = _table(sandbox, table)
    example = f'SELECT * FROM "{row.name}"'
    form = PartiQLForm(request.POST or None, initial={"statement": example})
    grid = None
    ran = False
    next_token = ""
    if request.method == "POST" and form.is_valid():
        try:
            with _console_call(sandbox, table, "ExecuteStatement"):
                items, next_token, _ = backend.execute_statement(
                    sandbox=sandbox,
                    statement=form.cleaned_data["statement"],
                    next_token=form.cleaned_data["next_token"] or None,
                    limit=50,
                )
        except ConditionalCheckFailedException:
            form.add_error("statement", "ConditionalCheckFailedException: no item matches that key and condition.")
        except AwsError as error:
            form.add_error("statement", _error_text(error))
        else:
            ran = True
            grid = selectors.item_grid(items, row.key_names)
    context = _context(sandbox, row, "partiql", form=form, grid=grid, ran=ran, next_token=next_token or "")
    status = 400 if form.errors and not request.htmx else 200  # htmx swaps only 2xx answers
    if request.htmx and request.htmx.target == "partiql-panel":
        return render(request, "dynamodb/partiql.html#partiql-panel", context, status=status)
    return render(request, "dynamodb/partiql.html", context, status=status)


# --- indexes, stream, latency -----------------------------------------------------------------


@login_required
@require_GET
def indexes(request: HttpRequest, sandbox_id: int, table: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    row = _table(sandbox, table)
    stream = selectors.stream_panel(sandbox=sandbox, name=table)
    context = _context(sandbox, row, "indexes", stream=stream, stream_form=StreamForm())
    return render(request, "dynamodb/indexes.html", context)


@login_required
@require_POST
def stream_update(request: HttpRequest, sandbox_id: int, table: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    _table(sandbox, table)
    form = StreamForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the stream view types.")
        return redirect("dynamodb:indexes", sandbox.pk, table)
    view_type = form.cleaned_data["view_type"]
    spec = {"StreamEnabled": True, "StreamViewType": view_type} if view_type else {"StreamEnabled": False}
    try:
        with _console_call(sandbox, table, "UpdateTable"):
            backend.update_table(sandbox=sandbox, name=table, stream_specification=spec)
    except AwsError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Stream {'enabled: ' + view_type if view_type else 'disabled'}.")
    return redirect("dynamodb:indexes", sandbox.pk, table)


@login_required
@require_GET
def latency(request: HttpRequest, sandbox_id: int, table: str) -> HttpResponse:
    sandbox = own_sandbox_or_404(request, sandbox_id)
    row = _table(sandbox, table)
    rows = selectors.latency_rows(sandbox=sandbox, table_arn=row.arn)
    context = _context(sandbox, row, "latency", rows=rows, figure=selectors.latency_figure(rows) if rows else None)
    return render(request, "dynamodb/latency.html", context)
