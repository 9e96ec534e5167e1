from django.urls import path

from . import views

app_name = "tracing"

urlpatterns = [
    path("sandboxes/<int:sandbox_id>/diagram/graph.json", views.graph_json, name="graph"),
    path("sandboxes/<int:sandbox_id>/diagram/hops.json", views.hops_json, name="hops"),
    path("sandboxes/<int:sandbox_id>/traces/", views.trace_list, name="trace-list"),
    path("sandboxes/<int:sandbox_id>/traces/<str:trace_id>/", views.trace_detail, name="trace-detail"),
]
