"""Authoring forms: they check the shape of each field; ``lessons.authoring`` validates the exercise
as a whole (the same rules as the files of ``lessons/content/exercises/``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator

from lessons.authoring import MAX_UPLOAD_BYTES, ExerciseDraft
from lessons.content import SLUG_RE, SUMMARY_MAX_CHARS
from lessons.exercises import checks_from_source

_CODE = {"spellcheck": "false", "autocapitalize": "none", "data-code-editor": "", "data-language": "python"}

CHECKS_TEMPLATE = '''from lessons.checks import check, fail


@check("A bucket named 'photos' exists")
def bucket_exists(session):
    session.client("s3").head_bucket(Bucket="photos")


def solution(session):
    session.client("s3").create_bucket(Bucket="photos")
'''


class ExerciseForm(forms.Form):
    slug = forms.CharField(
        label="Id",
        max_length=80,
        validators=[RegexValidator(SLUG_RE, "Use lowercase letters, digits and single hyphens, like 'orders-dlq'.")],
        help_text="Used in URLs and as the file names when exported (<id>.md, <id>.py). It cannot change later.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"}),
    )
    title = forms.CharField(max_length=200)
    lesson = forms.ChoiceField(help_text="The exercise appears at the end of this lesson, under “More exercises”.")
    order = forms.IntegerField(min_value=1, initial=1, help_text="Its position among the lesson's extra exercises.")
    summary = forms.CharField(max_length=SUMMARY_MAX_CHARS, help_text="One sentence under the title.")
    instructions = forms.CharField(
        label="Instructions (Markdown)",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="What to build. Markdown with code blocks and tables; raw HTML is removed.",
    )
    hints = forms.CharField(
        label="Hints",
        error_messages={"required": "Give at least one hint."},
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One hint per line; students reveal them one at a time.",
    )
    starter = forms.CharField(
        label="Starter code",
        strip=False,
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, **_CODE}),
        help_text="Shown as the starting point. PASTE_ACCESS_KEY_ID, PASTE_SECRET_ACCESS_KEY, PASTE_ENDPOINT_URL "
        "and PASTE_ACCOUNT_ID are replaced with the student's own values.",
    )
    module_source = forms.CharField(
        label="Checks and reference solution (Python)",
        strip=False,
        initial=CHECKS_TEMPLATE,
        widget=forms.Textarea(attrs={"rows": 18, **_CODE}),
        help_text="Functions marked @check(\"label\") run in order against a boto3 session for the student's "
        "sandbox; solution(session) builds what they want. Students never see this code.",
    )

    def __init__(self, *args: Any, lessons: list[tuple[str, str]], editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lesson = self.fields["lesson"]
        assert isinstance(lesson, forms.ChoiceField)
        lesson.choices = lessons
        if editing:
            self.fields["slug"].disabled = True

    def clean_hints(self) -> list[str]:
        hints = [line.strip() for line in self.cleaned_data["hints"].splitlines() if line.strip()]
        if not hints:
            raise forms.ValidationError("Give at least one hint.")
        return hints

    def clean_module_source(self) -> str:
        source: str = self.cleaned_data["module_source"].replace("\r\n", "\n")
        _checks, errors = checks_from_source(source, shown="checks")
        if errors:
            raise forms.ValidationError(
                [f"line {error.line}: {error.message}" if error.line else error.message for error in errors]
            )
        return source

    def clean_starter(self) -> str:
        return str(self.cleaned_data["starter"]).replace("\r\n", "\n")

    def draft(self) -> ExerciseDraft:
        data = self.cleaned_data
        return ExerciseDraft(
            slug=data["slug"],
            title=data["title"].strip(),
            lesson=data["lesson"],
            order=data["order"],
            summary=data["summary"].strip(),
            hints=data["hints"],
            starter=data["starter"],
            instructions=data["instructions"].replace("\r\n", "\n"),
            module_source=data["module_source"],
        )


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern); cleans to a list."""

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        return [single(item, initial) for item in data] if isinstance(data, list | tuple) else [single(data, initial)]


class ImportForm(forms.Form):
    files = MultipleFileField(
        label="Exercise files",
        widget=MultipleFileInput(attrs={"multiple": True, "accept": ".zip,.md,.py"}),
        help_text="A .zip holding <id>.md and <id>.py (what Export downloads), or the two files. "
        "An authored exercise with the same id is replaced.",
    )

    def clean_files(self) -> list[tuple[str, bytes]]:
        uploads = self.cleaned_data["files"]
        if sum(upload.size or 0 for upload in uploads) > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The upload is too large (256 KB at most).")
        return [(upload.name or "upload", upload.read()) for upload in uploads]
