"""CIBA ping mode (§10.2): the server calls the client's registered endpoint on a decision."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from django_agent_obo.models import BackchannelClient, BackchannelRequest
from tests.fixtures_backchannel import answer, bc_authorize, poll


class Receiver(HTTPServer):
    received: list[dict[str, Any]]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.received.append(  # type: ignore[attr-defined]
            {"authorization": self.headers.get("Authorization"), "body": json.loads(self.rfile.read(length))}
        )
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(("127.0.0.1", 0), Handler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _no_interval(settings):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "BACKCHANNEL_INTERVAL_SECONDS": 0}


def register_ping(app, receiver):
    url = f"http://127.0.0.1:{receiver.server_address[1]}/cb"
    BackchannelClient.objects.create(
        application=app.model, token_delivery_mode="ping", client_notification_endpoint=url
    )


def test_ping_on_approval_carries_bearer_and_auth_req_id(
    user, client_app, agent, receiver, django_capture_on_commit_callbacks
):
    register_ping(client_app, receiver)
    body = bc_authorize(client_app, requested_actor=agent.actor_id, client_notification_token="nt-123").json()
    row = BackchannelRequest.objects.get()
    assert row.delivery_mode == "ping"
    with django_capture_on_commit_callbacks(execute=True):
        answer(user, row.pk)
    assert receiver.received == [
        {"authorization": "Bearer nt-123", "body": {"auth_req_id": body["auth_req_id"]}}
    ]
    from tests.conftest import actor_assertion

    assert poll(client_app, body["auth_req_id"], actor_token=actor_assertion(agent)).status_code == 200


def test_ping_on_denial_too(user, client_app, receiver, django_capture_on_commit_callbacks):
    register_ping(client_app, receiver)
    body = bc_authorize(client_app, client_notification_token="nt-9").json()
    with django_capture_on_commit_callbacks(execute=True):
        answer(user, BackchannelRequest.objects.get().pk, allow=False)
    assert receiver.received[0]["body"] == {"auth_req_id": body["auth_req_id"]}
    assert poll(client_app, body["auth_req_id"]).json()["error"] == "access_denied"


def test_ping_mode_needs_notification_token(user, client_app, receiver):
    register_ping(client_app, receiver)
    response = bc_authorize(client_app)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_unreachable_endpoint_does_not_fail_the_approval(
    user, client_app, django_capture_on_commit_callbacks
):
    BackchannelClient.objects.create(
        application=client_app.model,
        token_delivery_mode="ping",
        client_notification_endpoint="http://127.0.0.1:9/cb",
    )
    bc_authorize(client_app, client_notification_token="t")
    with django_capture_on_commit_callbacks(execute=True):
        assert answer(user, BackchannelRequest.objects.get().pk).status_code == 302
    assert BackchannelRequest.objects.get().status == "approved"


@pytest.mark.parametrize("url", ["http://client.example/cb", "ftp://127.0.0.1/x", "https://u@h.example/"])
def test_registration_refuses_unsafe_endpoints(client_app, url):
    registration = BackchannelClient(
        application=client_app.model, token_delivery_mode="ping", client_notification_endpoint=url
    )
    with pytest.raises(ValidationError):
        registration.clean()
