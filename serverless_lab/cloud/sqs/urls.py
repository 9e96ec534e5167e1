"""The SQS console of one sandbox, under ``sandboxes/<sandbox_id>/sqs/``."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "sqs"
urlpatterns = [
    path("", views.queue_list, name="queues"),
    path("queues/<str:name>/", views.queue_detail, name="queue"),
    path("queues/<str:name>/depth/", views.queue_depth, name="depth"),
    path("queues/<str:name>/send/", views.message_send, name="send"),
    path("queues/<str:name>/poll/", views.message_poll, name="poll"),
    path("queues/<str:name>/delete-messages/", views.message_delete, name="delete-messages"),
    path("queues/<str:name>/settings/", views.queue_settings, name="settings"),
    path("queues/<str:name>/purge/", views.queue_purge, name="purge"),
    path("queues/<str:name>/redrive/", views.queue_redrive, name="redrive"),
    path("queues/<str:name>/delete/", views.queue_delete, name="delete"),
]
