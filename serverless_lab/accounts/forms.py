from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=False, help_text="For your own records: the lab sends no email and has no password reset yet.")

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")
