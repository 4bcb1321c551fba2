"""The pinned `create_agent` command (SPEC §6): all or nothing, clear errors, JSON output."""

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from oauth2_provider.models import get_application_model

from django_agent_obo.models import Agent
from tests.conftest import decode_unverified, rsa_jwk

ROOT = Path(__file__).resolve().parent.parent


def run(*args):
    out = StringIO()
    call_command("create_agent", *args, stdout=out)
    return out.getvalue()


def test_registers_an_agent_with_clients_scopes_and_credentials(client_app):
    output = run(
        "agent:travel",
        "--name",
        "Travel Agent",
        "--publisher",
        "Acme",
        "--description",
        "Books trips",
        "--client",
        client_app.client_id,
        "--scopes",
        "calendar.read calendar.write",
        "--credentials",
        "--json",
    )
    data = json.loads(output)
    assert data["actor_id"] == "agent:travel" and data["client_id"] and data["client_secret"]
    agent = Agent.objects.get(actor_id="agent:travel")
    assert (agent.name, agent.publisher, agent.description) == ("Travel Agent", "Acme", "Books trips")
    assert list(agent.allowed_clients.all()) == [client_app.model]
    assert agent.scope_set == {"calendar.read", "calendar.write"}
    # The printed secret works once and is stored hashed.
    assert agent.credentials.client_secret != data["client_secret"]
    response = Client().post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_id": data["client_id"],
            "client_secret": data["client_secret"],
        },
    )
    assert decode_unverified(response.json()["access_token"])["sub"] == "agent:travel"


def test_registers_public_keys_from_a_jwks_file(tmp_path):
    _, jwk = rsa_jwk("k1")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    run("agent:keys", "--name", "Keyed", "--jwks", str(path))
    assert Agent.objects.get(actor_id="agent:keys").jwks["keys"][0]["kid"] == "k1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--client", "no-such-client"], "No client application"),
        (["--scopes", "calendar.read admin.everything"], "Unknown scope"),
        (["--valid-until", "tomorrow"], "--valid-until"),
        (["--valid-until", "2025-13-45T10:00:00Z"], "--valid-until"),  # the shape of one, no such day
        (["--jwks", "/nonexistent/jwks.json"], "Cannot read"),
    ],
)
def test_bad_input_writes_nothing(args, message):
    Application = get_application_model()
    before = Application.objects.count()
    with pytest.raises(CommandError, match=message):
        run("agent:bad", "--name", "Bad", "--credentials", *args)
    assert not Agent.objects.exists()
    assert Application.objects.count() == before


@pytest.mark.parametrize(
    "document",
    [
        {"keys": []},
        {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]},
        "not json",
        '{"keys": [' * 5000,  # deeper than Python's JSON parser goes (RecursionError)
    ],
)
def test_unusable_jwks_is_refused(tmp_path, document):
    path = tmp_path / "jwks.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(CommandError, match="not a usable JWK Set"):
        run("agent:bad", "--name", "Bad", "--jwks", str(path))
    assert not Agent.objects.exists()


def test_private_key_material_is_refused(tmp_path):
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    private_jwk = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()), as_dict=True)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [private_jwk]}))
    with pytest.raises(CommandError, match="private or symmetric"):
        run("agent:bad", "--name", "Bad", "--jwks", str(path))


def test_duplicate_and_malformed_actor_ids_are_refused(agent):
    with pytest.raises(CommandError, match="already exists"):
        run(agent.actor_id, "--name", "Again")
    with pytest.raises(CommandError, match="actor_id"):
        run("has spaces", "--name", "Bad")


def test_command_line_exit_code_and_stderr(tmp_path):
    """A real process: non-zero exit and a message on stderr, nothing on stdout."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PATH": "/usr/bin:/bin",
        "OBO_VAR_DIR": str(tmp_path),
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    result = subprocess.run(
        [sys.executable, "manage.py", "create_agent", "agent:x", "--name", "X", "--client", "missing"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "No client application" in result.stderr
    assert result.stdout == ""
