from __future__ import annotations

from django.apps import AppConfig


class DynamoDBConfig(AppConfig):
    name = "serverless_lab.cloud.dynamodb"
    label = "dynamodb"
    verbose_name = "DynamoDB"

    def ready(self) -> None:
        from serverless_lab.cloud.core import registry

        from .handlers import DynamoDBHandler, DynamoDBStreamsHandler

        registry.register("dynamodb", DynamoDBHandler())
        registry.register("dynamodbstreams", DynamoDBStreamsHandler())
