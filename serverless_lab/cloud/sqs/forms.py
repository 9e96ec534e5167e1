"""SQS console forms: they check input shape; the backend enforces SQS's rules (names, ranges, sizes)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from django import forms

ATTRIBUTE_ROWS = 3
ATTRIBUTE_TYPES = [("String", "String"), ("Number", "Number"), ("Binary", "Binary (base64)")]
_NAME_ATTRS = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"}


class QueueSettingsForm(forms.Form):
    """A queue's settable attributes, as the console edits them (the create form adds name and type)."""

    content_dedup = forms.BooleanField(
        label="Content-based deduplication (FIFO)",
        required=False,
        help_text="Use a SHA-256 of the body as the deduplication id when the sender gives none.",
    )
    visibility_timeout = forms.IntegerField(
        label="Visibility timeout (seconds)",
        min_value=0,
        max_value=43_200,
        initial=30,
        help_text="How long a received message stays hidden from other consumers (0–43200).",
    )
    delay_seconds = forms.IntegerField(
        label="Delivery delay (seconds)",
        min_value=0,
        max_value=900,
        initial=0,
        help_text="New messages stay invisible this long (0–900).",
    )
    retention_period = forms.IntegerField(
        label="Retention period (seconds)",
        min_value=60,
        max_value=1_209_600,
        initial=345_600,
        help_text="Messages older than this are dropped (60 s – 14 days; default 4 days).",
    )
    dead_letter_queue = forms.ChoiceField(label="Dead-letter queue", required=False)  # choices: the sandbox's queues
    max_receive_count = forms.IntegerField(
        label="Maximum receives",
        min_value=1,
        max_value=1000,
        initial=3,
        help_text="After this many receives without a delete, the message moves to the dead-letter queue.",
    )

    def __init__(
        self, *args: Any, dlq_choices: list[tuple[str, str]] | None = None, fifo: bool | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["dead_letter_queue"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "None")] + (dlq_choices or [])
        field.help_text = "An existing queue of the same type that receives messages which keep failing."
        if fifo is False:
            del self.fields["content_dedup"]

    def attributes(self, dlq_arn: str | None, *, fifo: bool) -> dict[str, str]:
        """The queue attributes this form sets; without a dead-letter queue the RedrivePolicy is cleared."""
        data = self.cleaned_data
        attributes = {
            "VisibilityTimeout": str(data["visibility_timeout"]),
            "DelaySeconds": str(data["delay_seconds"]),
            "MessageRetentionPeriod": str(data["retention_period"]),
            "RedrivePolicy": "",
        }
        if fifo:
            attributes["ContentBasedDeduplication"] = "true" if data["content_dedup"] else "false"
        if dlq_arn:
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": data["max_receive_count"]}
            )
        return attributes


class QueueCreateForm(QueueSettingsForm):
    name = forms.CharField(
        label="Queue name",
        max_length=80,
        help_text="Letters, numbers, hyphens and underscores, up to 80. A FIFO queue's name ends in .fifo.",
        widget=forms.TextInput(attrs=_NAME_ATTRS),
    )
    kind = forms.ChoiceField(
        label="Type",
        choices=[("standard", "Standard: at-least-once, best-effort order"), ("fifo", "FIFO: exactly-once, ordered")],
        initial="standard",
        widget=forms.RadioSelect,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        name = data.get("name", "")
        if data.get("kind") == "fifo" and name and not name.endswith(".fifo"):
            self.add_error("name", "A FIFO queue's name must end in .fifo, e.g. orders.fifo.")
        if data.get("kind") == "standard" and name.endswith(".fifo"):
            self.add_error("kind", "Names ending in .fifo are for FIFO queues: choose FIFO or rename the queue.")
        return data

    def create_attributes(self, dlq_arn: str | None) -> dict[str, str]:
        """The CreateQueue attributes this form asks for."""
        fifo = self.cleaned_data["kind"] == "fifo"
        attributes = self.attributes(dlq_arn, fifo=fifo)
        if not attributes["RedrivePolicy"]:
            del attributes["RedrivePolicy"]
        if fifo:
            attributes["FifoQueue"] = "true"
        return attributes


class MessageAttributesMixin(forms.Form):
    """``ATTRIBUTE_ROWS`` rows of name / type / value, for SQS and SNS message attributes."""

    def add_attribute_rows(self) -> None:
        for i in range(1, ATTRIBUTE_ROWS + 1):
            self.fields[f"attr_name_{i}"] = forms.CharField(
                label=f"Attribute {i} name",
                max_length=256,
                required=False,
                widget=forms.TextInput(attrs=_NAME_ATTRS | {"placeholder": "name, e.g. color"}),
            )
            self.fields[f"attr_type_{i}"] = forms.ChoiceField(
                label=f"Attribute {i} type", choices=self.attribute_types(), required=False
            )
            self.fields[f"attr_value_{i}"] = forms.CharField(
                label=f"Attribute {i} value",
                max_length=262_144,
                required=False,
                strip=False,
                widget=forms.TextInput(attrs={"placeholder": "value"}),
            )

    def attribute_types(self) -> list[tuple[str, str]]:
        return ATTRIBUTE_TYPES

    def attribute_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [
            (self[f"attr_name_{i}"], self[f"attr_type_{i}"], self[f"attr_value_{i}"])
            for i in range(1, ATTRIBUTE_ROWS + 1)
        ]

    def clean_attribute_rows(self, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
        attributes: dict[str, dict[str, Any]] = {}
        for i in range(1, ATTRIBUTE_ROWS + 1):
            name = (data.get(f"attr_name_{i}") or "").strip()
            value = data.get(f"attr_value_{i}") or ""
            data_type = data.get(f"attr_type_{i}") or "String"
            if not name and not value:
                continue
            if not name:
                self.add_error(f"attr_name_{i}", "Give the attribute a name, or clear its value.")
                continue
            if not value:
                self.add_error(f"attr_value_{i}", "An attribute needs a value.")
                continue
            if name in attributes:
                self.add_error(f"attr_name_{i}", f"{name} is already set above.")
                continue
            if data_type.startswith("Binary"):
                try:
                    attributes[name] = {"DataType": data_type, "BinaryValue": base64.b64decode(value, validate=True)}
                except (binascii.Error, ValueError):
                    self.add_error(f"attr_value_{i}", "A Binary value is entered as base64, e.g. aGVsbG8=.")
                continue
            attributes[name] = {"DataType": data_type, "StringValue": value}
        return attributes


class SendMessageForm(MessageAttributesMixin):
    body = forms.CharField(
        label="Message body", max_length=1_048_576, strip=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    delay_seconds = forms.IntegerField(
        label="Delay (seconds)",
        min_value=0,
        max_value=900,
        required=False,
        help_text="Overrides the queue's delivery delay for this message.",
    )
    group_id = forms.CharField(
        label="Message group ID",
        max_length=128,
        required=False,
        help_text="Messages of one group are delivered in order, one in flight at a time.",
        widget=forms.TextInput(attrs=_NAME_ATTRS),
    )
    dedup_id = forms.CharField(
        label="Deduplication ID",
        max_length=128,
        required=False,
        help_text="A repeat within 5 minutes is accepted but not delivered again.",
        widget=forms.TextInput(attrs=_NAME_ATTRS),
    )

    def __init__(self, *args: Any, fifo: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fifo = fifo
        if fifo:
            del self.fields["delay_seconds"]
            self.fields["group_id"].required = True
        else:
            del self.fields["group_id"]
            del self.fields["dedup_id"]
        self.add_attribute_rows()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["attributes"] = self.clean_attribute_rows(data)
        return data


class PollForm(forms.Form):
    """One receive; while ``wait_seconds`` have not passed since the first (``until_ms``) and
    nothing came, the page asks again a second later, like the AWS console's polling."""

    max_messages = forms.IntegerField(label="Messages at most", min_value=1, max_value=10, initial=10)
    visibility_timeout = forms.IntegerField(
        label="Hide for",
        min_value=0,
        max_value=43_200,
        required=False,
        help_text="Visibility timeout in seconds; empty: the queue's own.",
    )
    wait_seconds = forms.IntegerField(
        label="Keep polling for", min_value=0, max_value=20, initial=10, help_text="Seconds (0–20)."
    )
    until_ms = forms.IntegerField(required=False, widget=forms.HiddenInput)


class DeleteMessagesForm(forms.Form):
    """The receipt handles of the polled messages the student ticked."""

    handles = forms.MultipleChoiceField(required=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["handles"]
        assert isinstance(field, forms.MultipleChoiceField)
        data = args[0] if args else kwargs.get("data")
        offered = data.getlist("handles") if data is not None and hasattr(data, "getlist") else []
        field.choices = [(handle, handle) for handle in offered[:10]]
        field.error_messages["required"] = "Tick the messages to delete."
        field.error_messages["invalid_choice"] = "Delete at most 10 messages at a time."
