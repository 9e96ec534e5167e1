"""The Lambda console of one sandbox, under ``sandboxes/<sandbox_id>/lambda/``."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "lambda"
urlpatterns = [
    path("", views.function_list, name="functions"),
    path("functions/<str:name>/", views.function_detail, name="function"),
    path("functions/<str:name>/deploy/", views.function_deploy, name="deploy"),
    path("functions/<str:name>/test/", views.function_test, name="test"),
    path("functions/<str:name>/test-events/", views.test_event_save, name="test-event-save"),
    path("functions/<str:name>/test-events/<str:event>/delete/", views.test_event_delete, name="test-event-delete"),
    path("functions/<str:name>/configuration/", views.function_configuration, name="configuration"),
    path("functions/<str:name>/monitoring/", views.function_monitoring, name="monitoring"),
    path("functions/<str:name>/burst/", views.function_burst, name="burst"),
    path("functions/<str:name>/triggers/", views.function_triggers, name="triggers"),
    path("functions/<str:name>/triggers/<str:uuid>/toggle/", views.trigger_toggle, name="trigger-toggle"),
    path("functions/<str:name>/triggers/<str:uuid>/delete/", views.trigger_delete, name="trigger-delete"),
    path("functions/<str:name>/delete/", views.function_delete, name="delete"),
]
