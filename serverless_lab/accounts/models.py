"""People and who teaches whom.

Roles: every user is a student; members of the ``instructor`` group are instructors. A
:class:`Classroom` ties an instructor to the students who joined it with its join code; it is the
one place that says "Bob is Alice's instructor" (used to let Bob watch Alice's sandbox).
"""
from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

INSTRUCTOR_GROUP = "instructor"


def new_join_code() -> str:
    return secrets.token_hex(4).upper()


class Classroom(models.Model):
    name = models.CharField(max_length=120)
    instructor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="classrooms_taught")
    join_code = models.CharField(max_length=16, unique=True, default=new_join_code)
    students = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="classrooms", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name
