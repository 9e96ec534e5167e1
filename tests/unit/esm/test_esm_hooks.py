"""The after-commit wake-ups SQS and DynamoDB call per message or record: one per transaction and source."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from serverless_lab.cloud.esm import hooks


def kicks() -> list[hooks._Kick]:
    return [entry[1] for entry in connection.run_on_commit if isinstance(entry[1], hooks._Kick)]


@pytest.mark.django_db
def test_one_wake_up_per_transaction_and_source():
    with transaction.atomic():
        for source in (("sqs", 1), ("sqs", 1), ("sqs", 2), ("dynamodb", 1)):
            hooks.source_changed(*source)
        assert kicks() == [hooks._Kick("sqs", 1), hooks._Kick("sqs", 2), hooks._Kick("dynamodb", 1)]


@pytest.mark.django_db
def test_a_wake_up_rolled_back_with_its_savepoint_is_registered_again():
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            hooks.source_changed("dynamodb", 3)
            raise RuntimeError("the write failed")
        assert kicks() == []
        hooks.source_changed("dynamodb", 3)
        assert kicks() == [hooks._Kick("dynamodb", 3)]
