"""The Lambda console's views through the Django test client: ownership, forms, validation, code editing."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from django.urls import reverse

from serverless_lab.cloud.lambda_ import backend, blueprints, code
from serverless_lab.cloud.lambda_.models import Function, TestEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = str(tmp_path)
    code.code_storage.cache_clear()
    yield
    code.code_storage.cache_clear()


@pytest.fixture
def alice(client: Any, cast: Any) -> Any:
    client.force_login(cast.alice)
    return client


def url(name: str, cast: Any, *args: str) -> str:
    return reverse(f"lambda:{name}", args=[cast.sandbox.pk, *args])


def create(cast: Any, name: str = "hello", blueprint: str = "hello-world-python") -> Function:
    from serverless_lab.cloud.lambda_ import console

    return console.function_create_from_blueprint(sandbox=cast.sandbox, name=name, blueprint_key=blueprint)


def zip_files(function: Function) -> dict[str, str]:
    function.refresh_from_db()
    with zipfile.ZipFile(io.BytesIO(code.read_zip(function.code_name))) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def test_the_list_shows_an_empty_state(alice, cast):
    response = alice.get(url("functions", cast))
    assert response.status_code == 200
    assert "No functions yet" in response.content.decode()


def test_pages_need_a_login(client, cast):
    response = client.get(url("functions", cast))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_other_users_get_404_for_the_sandbox_and_its_functions(client, cast):
    create(cast)
    client.force_login(cast.charlie)
    for path in (
        url("functions", cast),
        url("function", cast, "hello"),
        url("configuration", cast, "hello"),
        url("monitoring", cast, "hello"),
        url("delete", cast, "hello"),
    ):
        assert client.get(path).status_code == 404, path
    assert client.post(url("deploy", cast, "hello"), {"source": "x = 1"}).status_code == 404
    assert client.post(url("test", cast, "hello"), {"payload": "{}"}).status_code == 404
    assert client.post(url("burst", cast, "hello"), {"count": "5"}).status_code == 404
    assert client.post(url("delete", cast, "hello"), {"confirm": "hello"}).status_code == 404
    assert Function.objects.filter(name="hello").exists()


def test_an_unknown_function_is_a_404(alice, cast):
    assert alice.get(url("function", cast, "nope")).status_code == 404


@pytest.mark.parametrize("key", sorted(blueprints.BLUEPRINTS))
def test_it_creates_a_function_from_each_blueprint(alice, cast, key):
    name = key.replace("-", "_")[:40]
    response = alice.post(url("functions", cast), {"name": name, "blueprint": key})
    assert response.status_code == 302 and response["Location"] == url("function", cast, name)
    function = Function.objects.get(sandbox=cast.sandbox, name=name)
    blueprint = blueprints.BLUEPRINTS[key]
    assert (function.runtime, function.handler) == (blueprint.runtime, blueprint.handler)
    assert zip_files(function) == {blueprint.filename: blueprint.source}
    assert list(function.test_events.values_list("name", flat=True)) == [blueprint.test_event]
    page = alice.get(url("function", cast, name)).content.decode()
    assert 'data-code-editor data-language="' + blueprint.language + '"' in page
    assert blueprint.filename in page


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad name!", "failed to satisfy constraint"),
        ("x" * 65, "at most 64 characters"),
        ("", "This field is required"),
    ],
)
def test_it_refuses_bad_function_names_in_the_form(alice, cast, name, message):
    response = alice.post(url("functions", cast), {"name": name, "blueprint": "hello-world-python"})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Function.objects.exists()


def test_a_duplicate_name_is_a_form_error_with_lambdas_message(alice, cast):
    create(cast)
    response = alice.post(url("functions", cast), {"name": "hello", "blueprint": "api-handler-nodejs"})
    assert response.status_code == 400
    assert "Function already exist: hello" in response.content.decode()


def test_the_list_shows_each_function_with_its_configuration(alice, cast):
    create(cast, "alpha")
    backend.put_function_concurrency(sandbox=cast.sandbox, function_name="alpha", reserved=3)
    create(cast, "beta", "sqs-consumer-nodejs")
    page = alice.get(url("functions", cast)).content.decode()
    assert "alpha" in page and "beta" in page and "nodejs20.x" in page and "python3.12" in page
    assert ">3<" in page and "unreserved" in page and "never" in page


def test_deploy_replaces_the_handler_file_and_keeps_the_others(alice, cast):
    function = create(cast)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", "def lambda_handler(e, c):\n    return 1\n")
        archive.writestr("helpers/data.txt", "keep me")
    backend.update_function_code(sandbox=cast.sandbox, function_name="hello", zip_bytes=buffer.getvalue())
    source = "def lambda_handler(event, context):\n    return {'edited': True}\n"
    response = alice.post(url("deploy", cast, "hello"), {"source": source}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Deployed" in response.content.decode()
    files = zip_files(function)
    assert files["lambda_function.py"] == source
    assert files["helpers/data.txt"] == "keep me"


def test_deploy_without_htmx_redirects_with_a_message(alice, cast):
    create(cast)
    response = alice.post(url("deploy", cast, "hello"), {"source": "x = 1\n"}, follow=True)
    assert response.status_code == 200
    assert "Deployed lambda_function.py to hello." in response.content.decode()


def test_a_custom_runtime_is_not_editable_and_says_why(alice, cast):
    backend.create_function(
        sandbox=cast.sandbox,
        name="custom",
        runtime="provided.al2023",
        role=f"arn:aws:iam::{cast.sandbox.account_id}:role/r",
        handler="",
        zip_bytes=blueprints.zip_single_file("bootstrap", "#!/bin/sh\n"),
    )
    page = alice.get(url("function", cast, "custom")).content.decode()
    assert "This code is not editable here" in page and "UpdateFunctionCode" in page
    response = alice.post(url("deploy", cast, "custom"), {"source": "x"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Not deployed" in response.content.decode()


def test_saving_a_test_event_validates_json_and_name(alice, cast):
    create(cast)
    bad = alice.post(url("test-event-save", cast, "hello"), {"payload": "{nope", "name": "ok"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 200 and "The event is not valid JSON" in bad.content.decode()
    bad_name = alice.post(url("test-event-save", cast, "hello"), {"payload": "{}", "name": "no spaces"})
    assert bad_name.status_code == 400 and "Event name must contain 1 to 25 letters" in bad_name.content.decode()
    no_name = alice.post(url("test-event-save", cast, "hello"), {"payload": "{}", "name": ""})
    assert no_name.status_code == 400 and "This field is required" in no_name.content.decode()
    good = alice.post(url("test-event-save", cast, "hello"), {"payload": '{"a": 1}', "name": "my-event"})
    assert good.status_code == 302 and good["Location"].endswith("?event=my-event")
    assert TestEvent.objects.get(name="my-event").payload == '{"a": 1}'
    again = alice.post(url("test-event-save", cast, "hello"), {"payload": '{"a": 2}', "name": "my-event"})
    assert again.status_code == 302 and TestEvent.objects.get(name="my-event").payload == '{"a": 2}'


def test_the_event_editor_loads_templates_and_saved_events(alice, cast):
    create(cast)
    page = alice.get(
        url("function", cast, "hello") + "?template=s3-put", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="event-editor"
    ).content.decode()
    assert "ObjectCreated:Put" in page and "<html" not in page
    page = alice.get(url("function", cast, "hello") + "?event=hello-world").content.decode()
    assert "value1" in page


def test_running_invalid_json_is_a_form_error_not_an_invoke(alice, cast):
    create(cast)
    response = alice.post(url("test", cast, "hello"), {"payload": "[1,"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "<html" not in response.content.decode()
    assert "The event is not valid JSON" in response.content.decode()
    page = alice.post(url("test", cast, "hello"), {"payload": "[1,"})
    assert page.status_code == 400 and "The event is not valid JSON" in page.content.decode()
    assert not cast.sandbox.lambda_invocations.exists()


def test_configuration_saves_memory_timeout_concurrency_and_variables(alice, cast):
    function = create(cast)
    response = alice.post(
        url("configuration", cast, "hello"),
        {
            "memory_mb": "256",
            "timeout_s": "10",
            "reserved_concurrency": "2",
            "env_key": ["TABLE_NAME", "", "MODE"],
            "env_value": ["items", "", "test"],
            "action": "save",
        },
    )
    assert response.status_code == 302
    function.refresh_from_db()
    assert (function.memory_mb, function.timeout_s, function.reserved_concurrency) == (256, 10, 2)
    assert function.environment == {"TABLE_NAME": "items", "MODE": "test"}
    alice.post(
        url("configuration", cast, "hello"),
        {"memory_mb": "256", "timeout_s": "10", "reserved_concurrency": "", "action": "save"},
    )
    function.refresh_from_db()
    assert function.reserved_concurrency is None and function.environment == {}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"memory_mb": "64"}, "Member must have value between 128 and 10240"),
        ({"timeout_s": "901"}, "at &#x27;timeout&#x27; failed to satisfy constraint"),
        ({"reserved_concurrency": "999"}, "outside this sandbox&#x27;s concurrency limit of 10"),
        ({"memory_mb": "lots"}, "Enter a whole number"),
        ({"env_key": ["1BAD"], "env_value": ["x"]}, "Map keys must satisfy constraint"),
        ({"env_key": ["AWS_REGION"], "env_value": ["x"]}, "Reserved keys used in this request: AWS_REGION"),
        ({"env_key": ["A1", "A1"], "env_value": ["x", "y"]}, "A1 is set twice"),
        ({"env_key": ["", ""], "env_value": ["orphan", ""]}, "has no key"),
        ({"env_key": ["BIG"], "env_value": ["x" * 5000]}, "exceeded the 4KB limit"),
    ],
)
def test_configuration_errors_show_in_the_form(alice, cast, changes, message):
    function = create(cast)
    data = {"memory_mb": "128", "timeout_s": "3", "reserved_concurrency": "", "action": "save"} | changes
    response = alice.post(url("configuration", cast, "hello"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    function.refresh_from_db()
    assert (function.memory_mb, function.timeout_s, function.environment) == (128, 3, {})


def test_variable_rows_are_added_and_removed_without_saving(alice, cast):
    function = create(cast)
    base = {"memory_mb": "128", "timeout_s": "3", "reserved_concurrency": ""}
    added = alice.post(
        url("configuration", cast, "hello"),
        base | {"env_key": ["A1"], "env_value": ["1"], "action": "add"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="configuration-form",
    ).content.decode()
    assert added.count('name="env_key"') == 2 and "<html" not in added
    removed = alice.post(
        url("configuration", cast, "hello"),
        base | {"env_key": ["A1", "B2"], "env_value": ["1", "2"], "action": "remove-0"},
    ).content.decode()
    assert 'value="B2"' in removed and 'value="A1"' not in removed
    function.refresh_from_db()
    assert function.environment == {}


def test_delete_needs_the_name_typed(alice, cast):
    create(cast)
    page = alice.get(url("delete", cast, "hello"))
    assert page.status_code == 200 and "type the function" in page.content.decode()
    wrong = alice.post(url("delete", cast, "hello"), {"confirm": "nope"})
    assert wrong.status_code == 400 and Function.objects.filter(name="hello").exists()
    right = alice.post(url("delete", cast, "hello"), {"confirm": "hello"})
    assert right.status_code == 302 and right["Location"] == url("functions", cast)
    assert not Function.objects.filter(name="hello").exists()


def test_monitoring_renders_with_no_invocations(alice, cast):
    create(cast)
    page = alice.get(url("monitoring", cast, "hello")).content.decode()
    assert "No invocations in this window yet" in page and 'id="monitoring-figures"' in page
    partial = alice.get(
        url("monitoring", cast, "hello") + "?window=1h", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="monitoring-data"
    ).content.decode()
    assert (
        "<html" not in partial
        and 'id="monitoring-cost"' in partial
        and json.loads(partial.split('id="monitoring-figures" type="application/json">')[1].split("</script>")[0])[
            "invocations"
        ]["data"]
    )


def test_a_burst_count_out_of_range_is_a_form_error(alice, cast):
    create(cast)
    response = alice.post(url("burst", cast, "hello"), {"count": "500"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "less than or equal to 50" in response.content.decode()
    assert not cast.sandbox.lambda_invocations.exists()


def test_a_function_name_lambda_would_refuse_is_a_404(alice, cast):
    assert alice.get(url("function", cast, "no spaces allowed")).status_code == 404
    assert alice.get(url("configuration", cast, "x" * 200)).status_code == 404


def test_a_saved_test_event_can_be_deleted(alice, cast):
    function = create(cast)
    response = alice.post(url("test-event-delete", cast, "hello", "hello-world"), follow=True)
    assert response.status_code == 200 and "Test event hello-world deleted." in response.content.decode()
    assert not function.test_events.exists()
    assert "(none saved yet)" in response.content.decode()
