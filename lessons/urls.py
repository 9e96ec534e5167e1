from __future__ import annotations

from django.urls import path

from lessons import authoring_views, views

app_name = "lessons"
urlpatterns = [
    path("", views.index, name="index"),
    path("coverage/", views.coverage, name="coverage"),
    path("classes/join/", views.class_join, name="class_join"),
    path("classes/new/", views.class_create, name="class_create"),
    path("classes/<int:class_id>/", views.class_dashboard, name="class_dashboard"),
    path("classes/<int:class_id>/students/<int:student_id>/", views.class_student, name="class_student"),
    path("authoring/", authoring_views.authoring_index, name="authoring"),
    path("authoring/new/", authoring_views.authoring_new, name="authoring_new"),
    path("authoring/import/", authoring_views.authoring_import, name="authoring_import"),
    path("authoring/<slug:slug>/", authoring_views.authoring_edit, name="authoring_edit"),
    path("authoring/<slug:slug>/delete/", authoring_views.authoring_delete, name="authoring_delete"),
    path("exercises/<slug:slug>/export/", authoring_views.exercise_export, name="exercise_export"),
    path("exercises/<slug:slug>/hints/", views.exercise_hints, name="exercise_hints"),
    path("exercises/<slug:slug>/submit/", views.exercise_submit, name="exercise_submit"),
    path("exercises/<slug:slug>/reference/", views.exercise_reference, name="exercise_reference"),
    path("attempts/<int:attempt_id>/", views.attempt_detail, name="attempt"),
    path("try/<slug:action>/", views.try_start, name="try_start"),
    path("try-results/<str:task_id>/", views.try_result, name="try_result"),
    path("editor-results/<str:task_id>/", views.editor_result, name="editor_result"),
    path("scaling/burst/", views.scaling_burst, name="scaling_burst"),
    path("scaling/results/<str:task_id>/", views.scaling_result, name="scaling_result"),
    path("<slug:slug>/", views.detail, name="detail"),
    path("<slug:slug>/quiz/<slug:quiz_id>/", views.quiz_answer, name="quiz_answer"),
    path("<slug:slug>/complete/", views.lesson_complete, name="complete"),
    path("<slug:slug>/editor/<str:function>/run/", views.editor_run, name="editor_run"),
    path("<slug:slug>/reset-sandbox/", views.sandbox_reset, name="sandbox_reset"),
]
