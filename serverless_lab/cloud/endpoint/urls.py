from django.urls import path, re_path

from . import views

urlpatterns = [
    path("", views.aws_endpoint, name="aws-endpoint"),
    re_path(r"^(?P<path>.+)$", views.aws_endpoint, name="aws-endpoint-path"),
]
