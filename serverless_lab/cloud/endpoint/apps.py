from django.apps import AppConfig


class EndpointConfig(AppConfig):
    name = "serverless_lab.cloud.endpoint"
    label = "aws_endpoint"
