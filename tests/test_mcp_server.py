"""The example project's MCP server at /mcp/ (SPEC §10), through Django's test client:
JSON-RPC over the SDK's streamable HTTP transport, behind the resource toolkit."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.test import Client

from django_agent_obo.models import AuditEvent
from tests.conftest import (
    AUTHORIZE_URL,
    TOKEN_URL,
    AgentFixture,
    App,
    actor_token_issued,
    authorize_params,
    decode_unverified,
    hidden_fields,
    logged_in,
    make_app,
    pkce,
    redeem,
    redirect_params,
)
from tests.fixtures_dpop import DPoPKey
from tests.fixtures_resource import bearer, challenge, challenges, delegated_token

ISSUER = "http://127.0.0.1:8000"
MCP = ISSUER + "/mcp/"
MCP_METADATA = ISSUER + "/.well-known/oauth-protected-resource/mcp/"
ACCEPT = "application/json, text/event-stream"


def mcp_token(user: Any, app: App, agent: AgentFixture | None = None, scope: str = "calendar.read") -> str:
    """A token for the MCP server: the real flow with RFC 8707 ``resource=<issuer>/mcp/``."""
    verifier, code_challenge = pkce()
    params = authorize_params(
        app, code_challenge, agent.actor_id if agent else None, scope=scope, resource=MCP
    )
    browser = logged_in(user)
    page = browser.get(AUTHORIZE_URL + "?" + urlencode(params))
    assert page.status_code == 200, page.content[:500]
    form = hidden_fields(page.content.decode())
    form["allow"] = "Authorize"
    code = redirect_params(browser.post(AUTHORIZE_URL, form))["code"]
    extra = {"actor_token": actor_token_issued(agent)} if agent else {}
    response = redeem(app, code, verifier, resource=MCP, **extra)
    assert response.status_code == 200, response.content
    token = str(response.json()["access_token"])
    assert decode_unverified(token)["aud"] == MCP
    return token


def rpc(token: str | None, method: str, params: dict[str, Any] | None = None, path: str = "/mcp/") -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}
    headers = bearer(token) if token else {}
    return Client().post(
        path, json.dumps(body), content_type="application/json", HTTP_ACCEPT=ACCEPT, **headers
    )


def tool(token: str, name: str, **arguments: Any) -> dict[str, Any]:
    response = rpc(token, "tools/call", {"name": name, "arguments": arguments})
    assert response.status_code == 200, response.content
    result = response.json()["result"]
    return dict(result)


def test_without_a_token_401_names_the_path_aware_document():
    response = rpc(None, "tools/list")
    assert response.status_code == 401
    assert challenges(response)["Bearer"] == {"resource_metadata": MCP_METADATA}  # DPoP offered beside it
    document = Client().get("/.well-known/oauth-protected-resource/mcp/").json()
    assert document["resource"] == MCP
    assert document["authorization_servers"] == [ISSUER]
    assert document["scopes_supported"] == ["calendar.read", "calendar.write"]


def test_a_token_for_the_api_is_refused_at_the_mcp_server(user, client_app, agent):
    api_token = delegated_token(user, client_app, agent)
    response = rpc(api_token, "tools/list")
    assert response.status_code == 401
    _, params = challenge(response)
    assert params["error"] == "invalid_token"
    assert params["resource_metadata"] == MCP_METADATA


def test_a_token_for_the_mcp_server_is_refused_at_the_api(user, client_app):
    token = mcp_token(user, client_app)
    assert Client().get("/api/whoami/", **bearer(token)).status_code == 401


def test_tools_are_listed(user, client_app):
    response = rpc(mcp_token(user, client_app), "tools/list")
    assert response.status_code == 200, response.content
    names = {t["name"] for t in response.json()["result"]["tools"]}
    assert {"whoami", "list_events", "create_event"} <= names


def test_whoami_tool_answers_what_the_api_answers(user, client_app, agent):
    token = mcp_token(user, client_app, agent)
    result = tool(token, "whoami")
    assert result.get("isError") is not True, result
    assert result["structuredContent"] == {
        "sub": str(user.pk),
        "client_id": client_app.client_id,
        "actor": agent.actor_id,
        "actor_chain": [agent.actor_id],
        "scope": "calendar.read",
    }


def test_tools_see_user_client_and_actor_and_every_call_is_audited(user, client_app, agent):
    token = mcp_token(user, client_app, agent, scope="calendar.read calendar.write")
    created = tool(token, "create_event", title="Dentist", starts_at="2030-01-02T09:00:00+00:00")
    assert created.get("isError") is not True, created
    assert created["structuredContent"]["created_by_actor"] == agent.actor_id
    assert created["structuredContent"]["client_id"] == client_app.client_id
    listed = tool(token, "list_events")["structuredContent"]["events"]
    assert [e["title"] for e in listed] == ["Dentist"]
    rows = AuditEvent.objects.filter(event="resource.accessed", user=user).order_by("id")
    assert [(r.detail["tool"], r.outcome) for r in rows] == [
        ("create_event", AuditEvent.SUCCESS),
        ("list_events", AuditEvent.SUCCESS),
    ]
    assert all(r.actor_chain == [agent.actor_id] and r.client_id == client_app.client_id for r in rows)


def test_a_tool_beyond_the_token_scope_is_a_tool_error_and_audited(user, client_app):
    token = mcp_token(user, client_app, scope="calendar.read")
    result = tool(token, "create_event", title="Nope")
    assert result["isError"] is True
    assert "insufficient_scope" in result["content"][0]["text"]
    row = AuditEvent.objects.get(event="resource.accessed", user=user)
    assert (row.outcome, row.reason, row.detail["tool"]) == (
        AuditEvent.FAILURE,
        "insufficient_scope",
        "create_event",
    )


def test_bad_json_rpc_is_a_json_rpc_error_not_a_500(user, client_app):
    token = mcp_token(user, client_app)
    response = Client().post(
        "/mcp/", b"{not json\x00", content_type="application/json", HTTP_ACCEPT=ACCEPT, **bearer(token)
    )
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["code"] < 0


def test_mcp_without_the_slash_is_served_too(user, client_app):
    response = rpc(mcp_token(user, client_app), "tools/list", path="/mcp")
    assert response.status_code == 200, response.content


def test_the_mcp_endpoint_checks_dpop_through_the_request_entry_point(db):
    """``mcp_view`` validates with ``validate_request``: a DPoP-bound token needs its proof
    (RFC 9449 §7), as at the decorator, the middleware and DRF."""
    machine = make_app("Machine client", grant="client-credentials")
    key = DPoPKey()
    response = Client().post(
        TOKEN_URL,
        {"grant_type": "client_credentials", "scope": "calendar.read", "resource": MCP},
        HTTP_DPOP=key.proof(),
        **machine.basic(),
    )
    assert response.status_code == 200, response.content
    token = str(response.json()["access_token"])
    assert decode_unverified(token)["cnf"] == {"jkt": key.jkt}

    stolen = rpc(token, "tools/list")
    assert stolen.status_code == 401
    assert challenges(stolen)["DPoP"]["error"] == "invalid_token"

    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
    proof = key.proof("POST", "http://testserver/mcp/", access_token=token)
    proven = Client().post(
        "/mcp/",
        body,
        content_type="application/json",
        HTTP_ACCEPT=ACCEPT,
        HTTP_AUTHORIZATION=f"DPoP {token}",
        HTTP_DPOP=proof,
    )
    assert proven.status_code == 200, proven.content
    assert "whoami" in {t["name"] for t in proven.json()["result"]["tools"]}
