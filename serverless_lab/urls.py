from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path(settings.AWS_ENDPOINT_PREFIX, include("serverless_lab.cloud.endpoint.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("serverless_lab.accounts.urls")),
    path("sandboxes/", include("serverless_lab.sandboxes.urls")),
    path("", include("serverless_lab.tracing.urls")),
    path("sandboxes/<int:sandbox_id>/s3/", include("serverless_lab.cloud.s3.urls")),
    path("sandboxes/<int:sandbox_id>/lambda/", include("serverless_lab.cloud.lambda_.urls")),
    path("sandboxes/<int:sandbox_id>/dynamodb/", include("serverless_lab.cloud.dynamodb.urls")),
    path("sandboxes/<int:sandbox_id>/sqs/", include("serverless_lab.cloud.sqs.urls")),
    path("sandboxes/<int:sandbox_id>/sns/", include("serverless_lab.cloud.sns.urls")),
    path("lessons/", include("lessons.urls")),
    path("", include("serverless_lab.web.urls")),
]

handler404 = "serverless_lab.web.views.page_not_found"
handler500 = "serverless_lab.web.views.server_error"
