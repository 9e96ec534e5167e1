from __future__ import annotations

from functools import lru_cache

import boto3
from django import forms
from django.core.validators import RegexValidator

from .models import DEFAULT_REGION

name_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$",
    "Use letters, digits, spaces, dots, dashes and underscores, starting with a letter or digit.",
)


@lru_cache(maxsize=1)
def region_choices() -> list[tuple[str, str]]:
    regions = boto3.session.Session().get_available_regions("lambda")
    return [(region, region) for region in sorted(regions)]


class SandboxForm(forms.Form):
    name = forms.CharField(max_length=64, validators=[name_validator], help_text="For example: lambda-lesson")
    region = forms.ChoiceField(choices=region_choices, initial=DEFAULT_REGION)


class RenameForm(forms.Form):
    name = forms.CharField(max_length=64, validators=[name_validator])
