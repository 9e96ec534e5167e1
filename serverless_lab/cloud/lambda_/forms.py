"""Forms of the Lambda console. Rules are Lambda's own (``logic``), with Lambda's messages."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from . import logic
from .blueprints import blueprint_choices
from .console import MAX_BURST
from .test_events import MAX_EVENT_BYTES, NAME_RE, template_choices


def _rule(check: Any, value: Any) -> None:
    try:
        check(value)
    except logic.RuleViolation as violation:
        raise forms.ValidationError(violation.message) from None


class FunctionCreateForm(forms.Form):
    name = forms.CharField(
        label="Function name",
        max_length=64,
        help_text="1–64 letters, digits, hyphens or underscores.",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocapitalize": "off"}),
    )
    blueprint = forms.ChoiceField(label="Blueprint", choices=blueprint_choices(), initial="hello-world-python")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        _rule(logic.check_function_name, name)
        return name


class CodeForm(forms.Form):
    source = forms.CharField(label="Code", strip=False, max_length=256 * 1024, required=False)


def _json_payload(text: str) -> str:
    if len(text.encode()) > MAX_EVENT_BYTES:
        raise forms.ValidationError(f"The event is larger than {MAX_EVENT_BYTES // 1024} KB.")
    try:
        json.loads(text)
    except ValueError as error:
        raise forms.ValidationError(f"The event is not valid JSON: {error}.") from None
    return text


class TestEventForm(forms.Form):
    """The event to run (and, with a name, to save)."""

    __test__ = False  # not a pytest test class

    payload = forms.CharField(label="Event JSON", strip=False, widget=forms.Textarea(attrs={"rows": 14}))
    name = forms.CharField(
        label="Event name",
        required=False,
        max_length=25,
        help_text="To save the event: 1–25 letters, digits, '-', '_' or '.'.",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocapitalize": "off"}),
    )

    def __init__(self, *args: Any, require_name: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].required = require_name

    def clean_payload(self) -> str:
        return _json_payload(self.cleaned_data["payload"])

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if name and not NAME_RE.match(name):
            raise forms.ValidationError(
                "Event name must contain 1 to 25 letters, numbers, hyphens (-), underscores (_) or periods (.)."
            )
        return name


class TemplatePickForm(forms.Form):
    template = forms.ChoiceField(label="Template", choices=template_choices(), required=False)
    event = forms.CharField(required=False, max_length=25)


class ConfigurationForm(forms.Form):
    """Memory, timeout, reserved concurrency and environment variables (key/value rows).

    The variables arrive as parallel ``env_key``/``env_value`` lists, so rows can be added and removed
    without JavaScript; ``rows`` is what the form shows back.
    """

    memory_mb = forms.IntegerField(
        label="Memory (MB)", help_text="128–10,240 MB. More memory also gives more CPU on AWS."
    )
    timeout_s = forms.IntegerField(label="Timeout (seconds)", help_text="1–900 seconds.")
    reserved_concurrency = forms.IntegerField(
        label="Reserved concurrency",
        required=False,
        help_text="Leave empty to share the sandbox's pool; 0 stops every invoke (a kill switch).",
    )

    def __init__(self, *args: Any, concurrency_limit: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.concurrency_limit = concurrency_limit
        self.fields["reserved_concurrency"].help_text += f" At most {concurrency_limit} here."
        data = self.data if self.is_bound else None
        if data is not None and hasattr(data, "getlist"):
            self.rows = list(zip(data.getlist("env_key"), data.getlist("env_value"), strict=False))
        else:
            self.rows = list((self.initial.get("environment") or {}).items())
        self.row_errors: list[str] = []

    def clean_memory_mb(self) -> int:
        value = self.cleaned_data["memory_mb"]
        _rule(logic.check_memory, value)
        return value

    def clean_timeout_s(self) -> int:
        value = self.cleaned_data["timeout_s"]
        _rule(logic.check_timeout, value)
        return value

    def clean_reserved_concurrency(self) -> int | None:
        value = self.cleaned_data["reserved_concurrency"]
        if value is not None and not 0 <= value <= self.concurrency_limit:
            raise forms.ValidationError(
                "Specified ReservedConcurrentExecutions for function is outside this sandbox's "
                f"concurrency limit of {self.concurrency_limit}."
            )
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        variables: dict[str, str] = {}
        for key, value in self.rows:
            key = key.strip()
            if not key and not value:
                continue  # an empty row is no variable
            if not key:
                self.row_errors.append(f"The variable with value {value!r} has no key.")
            elif key in variables:
                self.row_errors.append(f"{key} is set twice.")
            variables[key] = value
        if not self.row_errors:
            try:
                logic.check_environment(variables)
            except logic.RuleViolation as violation:
                self.row_errors.append(violation.message)
        if self.row_errors:
            raise forms.ValidationError("Fix the environment variables below.")
        cleaned["environment"] = variables
        return cleaned


class BurstForm(forms.Form):
    count = forms.IntegerField(
        label="Concurrent invokes",
        min_value=1,
        max_value=MAX_BURST,
        initial=20,
        help_text=f"1–{MAX_BURST}, all at once, with the function's first saved test event.",
    )


# Words of the backend's messages about the source itself (rather than one setting).
_SOURCE_WORDS = ("visibility timeout", "already exists", "does not exist", "stream not found")


class TriggerCreateForm(forms.Form):
    """A new event source mapping. Only the types are checked here: the rules (ranges, what each
    source allows) are the esm backend's, so their messages are Lambda's own."""

    source = forms.ChoiceField(label="Source", help_text="An SQS queue or a DynamoDB table's stream in this sandbox.")
    batch_size = forms.IntegerField(
        label="Batch size",
        required=False,
        help_text="Most records per invocation. SQS: default 10 (more needs a batching window; FIFO at most 10). "
        "Streams: default 100. At most 10,000.",
    )
    batching_window_s = forms.IntegerField(
        label="Batching window (seconds)",
        required=False,
        help_text="0–300: how long to gather records before invoking (not on FIFO queues). Default 0.",
    )
    starting_position = forms.ChoiceField(
        label="Starting position",
        required=False,
        choices=[
            ("", "— (SQS queues have none)"),
            ("LATEST", "LATEST: records written from now on"),
            ("TRIM_HORIZON", "TRIM_HORIZON: every record still in the stream"),
        ],
        help_text="DynamoDB streams only, and required for them.",
    )
    report_batch_item_failures = forms.BooleanField(
        label="Report batch item failures",
        required=False,
        help_text='Your handler returns {"batchItemFailures": [{"itemIdentifier": …}]}: '
        "only those records are retried.",
    )
    enabled = forms.BooleanField(
        label="Enable trigger",
        required=False,
        initial=True,
        help_text="Unchecked, the mapping is created disabled: nothing is read until you enable it.",
    )

    def __init__(self, *args: Any, source_choices: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = source_choices

    def params(self) -> dict[str, Any]:
        """The CreateEventSourceMapping parameters, under their botocore names."""
        data = self.cleaned_data
        params: dict[str, Any] = {"Enabled": data["enabled"]}
        if data["batch_size"] is not None:
            params["BatchSize"] = data["batch_size"]
        if data["batching_window_s"] is not None:
            params["MaximumBatchingWindowInSeconds"] = data["batching_window_s"]
        if data["starting_position"]:
            params["StartingPosition"] = data["starting_position"]
        if data["report_batch_item_failures"]:
            params["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
        return params

    def add_lambda_error(self, message: str) -> None:
        """Show the backend's message at the field it is about (or above the form)."""
        lowered = message.lower()
        if "batch window" in lowered or "batching window" in lowered or "batchingwindow" in lowered:
            field: str | None = "batching_window_s"
        elif "batchsize" in lowered or "batch size" in lowered:
            field = "batch_size"
        elif "startingposition" in lowered or "starting position" in lowered:
            field = "starting_position"
        elif "functionresponsetypes" in lowered:
            field = "report_batch_item_failures"
        elif any(words in lowered for words in _SOURCE_WORDS):
            field = "source"
        else:
            field = None
        self.add_error(field, message)


class TriggerToggleForm(forms.Form):
    enabled = forms.TypedChoiceField(choices=[("true", "Enable"), ("false", "Disable")], coerce=lambda v: v == "true")
