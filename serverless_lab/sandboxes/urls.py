from django.urls import path

from . import views

app_name = "sandboxes"
urlpatterns = [
    path("", views.sandbox_list, name="list"),
    path("<int:pk>/", views.sandbox_detail, name="detail"),
    path("<int:pk>/rename/", views.sandbox_rename, name="rename"),
    path("<int:pk>/reset/", views.sandbox_reset, name="reset"),
    path("<int:pk>/delete/", views.sandbox_delete, name="delete"),
    path("<int:pk>/test-event/", views.sandbox_send_test_event, name="test-event"),
]
