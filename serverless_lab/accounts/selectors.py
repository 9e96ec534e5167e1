from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from .models import INSTRUCTOR_GROUP, Classroom


def user_is_instructor(user: AbstractBaseUser | AnonymousUser) -> bool:
    if not user.is_authenticated:
        return False
    return bool(user.is_staff or user.groups.filter(name=INSTRUCTOR_GROUP).exists())


def user_teaches(instructor: AbstractBaseUser | AnonymousUser, student_id: int) -> bool:
    """True when ``instructor`` runs a classroom that ``student_id`` joined."""
    if not instructor.is_authenticated:
        return False
    return Classroom.objects.filter(instructor=instructor, students__id=student_id).exists()
