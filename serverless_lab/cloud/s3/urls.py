"""The S3 console of one sandbox, under ``sandboxes/<sandbox_id>/s3/``; object keys go in the query."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "s3"
urlpatterns = [
    path("", views.bucket_list, name="buckets"),
    path("buckets/<str:bucket>/", views.bucket_detail, name="bucket"),
    path("buckets/<str:bucket>/delete/", views.bucket_delete, name="bucket-delete"),
    path("buckets/<str:bucket>/versioning/", views.bucket_versioning, name="versioning"),
    path("buckets/<str:bucket>/notifications/", views.bucket_notifications, name="notifications"),
    path("buckets/<str:bucket>/notifications/remove/", views.bucket_notification_remove, name="notification-remove"),
    path("buckets/<str:bucket>/upload/", views.object_upload, name="upload"),
    path("buckets/<str:bucket>/object/", views.object_detail, name="object"),
    path("buckets/<str:bucket>/object/download/", views.object_download, name="object-download"),
    path("buckets/<str:bucket>/object/raw/", views.object_raw, name="object-raw"),
    path("buckets/<str:bucket>/object/delete/", views.object_delete, name="object-delete"),
    path("buckets/<str:bucket>/object/presign/", views.object_presign, name="object-presign"),
    path("buckets/<str:bucket>/object/restore/", views.object_restore, name="object-restore"),
]
