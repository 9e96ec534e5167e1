"""WebSockets end to end: a real Celery worker broadcasts, a real WebSocket client receives."""
from __future__ import annotations

import json

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from serverless_lab.sandboxes.tasks import send_test_event

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def session_cookie(client, user) -> str:
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def events_url(live_lab, sandbox) -> str:
    return f"{live_lab.ws_url}/ws/sandboxes/{sandbox.pk}/events/"


def open_socket(live_lab, sandbox, cookie: str | None = None):
    """A WebSocket as a browser on the lab's own page opens it (browsers always send Origin)."""
    headers = {"Cookie": cookie} if cookie else {}
    return connect(events_url(live_lab, sandbox), additional_headers=headers, origin=live_lab.url)


def receive(socket, kind: str) -> dict:
    while True:
        message = json.loads(socket.recv(timeout=15))
        if message["type"] == kind:
            return message


def test_the_owner_receives_what_a_worker_broadcasts(live_lab, cast, client):
    with open_socket(live_lab, cast.sandbox, session_cookie(client, cast.alice)) as socket:
        assert receive(socket, "hello")["sandbox"] == cast.sandbox.pk
        send_test_event.delay(cast.sandbox.pk, "hello from the worker")
        message = receive(socket, "message")
    assert message["text"] == "hello from the worker"
    assert message["kind"] == "test"


def test_the_owners_instructor_may_watch(live_lab, cast, client):
    with open_socket(live_lab, cast.sandbox, session_cookie(client, cast.bob)) as socket:
        assert receive(socket, "hello")["sandbox"] == cast.sandbox.pk


def test_a_stranger_is_refused(live_lab, cast, client):
    with pytest.raises(InvalidStatus) as refused:
        open_socket(live_lab, cast.sandbox, session_cookie(client, cast.charlie))
    assert refused.value.response.status_code == 403


def test_an_anonymous_visitor_is_refused(live_lab, cast):
    with pytest.raises(InvalidStatus) as refused:
        open_socket(live_lab, cast.sandbox)
    assert refused.value.response.status_code == 403


def test_a_foreign_origin_is_refused(live_lab, cast, client):
    with pytest.raises(InvalidStatus):
        connect(
            events_url(live_lab, cast.sandbox),
            additional_headers={"Cookie": session_cookie(client, cast.alice)},
            origin="http://evil.example",
        )


def test_broadcasts_stay_in_their_sandbox(live_lab, cast, client):
    from serverless_lab.sandboxes.services import sandbox_create

    other = sandbox_create(owner=cast.alice, name="second")
    cookie = session_cookie(client, cast.alice)
    with open_socket(live_lab, cast.sandbox, cookie) as first, open_socket(live_lab, other, cookie) as second:
        receive(first, "hello")
        receive(second, "hello")
        send_test_event.delay(other.pk, "only for the second")
        assert receive(second, "message")["text"] == "only for the second"
        send_test_event.delay(cast.sandbox.pk, "only for the first")
        assert receive(first, "message")["text"] == "only for the first"
