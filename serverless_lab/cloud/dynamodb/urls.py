"""The DynamoDB console of one sandbox, under ``sandboxes/<sandbox_id>/dynamodb/``."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "dynamodb"
urlpatterns = [
    path("", views.table_list, name="tables"),
    path("tables/<str:table>/", views.table_detail, name="table"),
    path("tables/<str:table>/delete/", views.table_delete, name="table-delete"),
    path("tables/<str:table>/item/", views.item_edit, name="item"),
    path("tables/<str:table>/item/delete/", views.item_delete, name="item-delete"),
    path("tables/<str:table>/partiql/", views.partiql, name="partiql"),
    path("tables/<str:table>/indexes/", views.indexes, name="indexes"),
    path("tables/<str:table>/stream/", views.stream_update, name="stream"),
    path("tables/<str:table>/latency/", views.latency, name="latency"),
]
