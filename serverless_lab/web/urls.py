from __future__ import annotations

from django.urls import include, path

from serverless_lab.web import views

web_patterns = [
    path("", views.home, name="home"),
    path("playground/", views.playground, name="playground"),
    path("instructor/", views.instructor, name="instructor"),
]

# Namespaced as "web:…", plus a bare "home" so `{% url 'home' %}` and LOGOUT_REDIRECT_URL = "home" work.
urlpatterns = [
    path("", include((web_patterns, "web"))),
    path("", views.home, name="home"),
]
