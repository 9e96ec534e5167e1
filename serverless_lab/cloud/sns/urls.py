"""The SNS console of one sandbox, under ``sandboxes/<sandbox_id>/sns/``."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "sns"
urlpatterns = [
    path("", views.topic_list, name="topics"),
    path("topics/<str:name>/", views.topic_detail, name="topic"),
    path("topics/<str:name>/publish/", views.topic_publish, name="publish"),
    path("topics/<str:name>/subscribe/", views.topic_subscribe, name="subscribe"),
    path("topics/<str:name>/delete/", views.topic_delete, name="topic-delete"),
    path("subscriptions/<str:subscription_id>/", views.subscription_edit, name="subscription"),
    path("subscriptions/<str:subscription_id>/delete/", views.subscription_delete, name="unsubscribe"),
    path("filter-tester/", views.filter_tester, name="filter-tester"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:message_id>/confirm/", views.inbox_confirm, name="confirm"),
    path("webhook", views.webhook, name="webhook"),
]
