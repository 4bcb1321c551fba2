"""``manage.py obo_demo``: the whole story runs, says what it did, and names a failing step."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from oauth2_provider.models import get_application_model

from django_agent_obo.models import Agent, AgentGrant, AuditEvent
from tests.fixtures_resource import configure

ROOT = Path(__file__).resolve().parent.parent


def run_demo() -> str:
    out = io.StringIO()
    call_command("obo_demo", force=True, stdout=out)
    return out.getvalue()


def test_demo_tells_the_whole_story():
    output = run_demo()
    assert "All 31 steps behaved as the draft says." in output
    assert 'WWW-Authenticate: Bearer resource_metadata="' in output
    assert "requested_actor=agent%3Ademo-calendar-assistant" in output
    assert "code_challenge_method=S256" in output
    assert '"act": {\n       "sub": "agent:demo-calendar-assistant"' in output
    assert '"actor": "agent:demo-calendar-assistant"' in output
    assert 'error="insufficient_scope"' in output
    assert 'error="invalid_token"' in output
    grant = AgentGrant.objects.filter(agent__actor_id="agent:demo-calendar-assistant").earliest("created_at")
    assert grant.revoke_reason == "user_revoked"
    assert AuditEvent.objects.filter(event="grant.revoked", user__username="demo").exists()
    assert "Undeclared refusal reason" not in output


def test_demo_device_chapter_shows_the_code_and_a_token_with_act():
    output = run_demo()
    chapter = output.split("18. Seed a device client")[1].split("\n26. ")[0]
    assert re.search(r"the device shows: Open http://[^ ]+/o/device/ and enter [A-Z0-9]{8}\n", chapter)
    assert '"device_code": "' in chapter and "… (" in chapter.split('"device_code": "')[1].split("\n")[0]
    assert '"error": "authorization_pending"' in chapter
    assert "redirected to /o/device-confirm/demo-tv-client/" in chapter
    assert "through Demo TV Client" in chapter and ": Device connected" in chapter
    assert (
        '"client_id": "demo-tv-client",\n     "act": {\n       "sub": "agent:demo-calendar-assistant"'
        in chapter
    )
    assert '"actor": "agent:demo-calendar-assistant"' in chapter
    assert "refresh_token" not in chapter
    grant = AgentGrant.objects.get(application__client_id="demo-tv-client")
    assert grant.revoke_reason == "user_revoked"
    assert AuditEvent.objects.filter(event="consent.granted", client_id="demo-tv-client").exists()


def test_demo_dpop_chapter_binds_the_token_and_refuses_the_thief():
    output = run_demo()
    chapter = output.split("26. The client asks again")[1].split("\nAll 31 steps")[0]
    jkt = re.search(r"ES256, RFC 7638 thumbprint ([\w-]{43})\n", chapter)
    assert jkt is not None
    assert f"&dpop_jkt={jkt[1]}" in chapter
    assert '"token_type": "DPoP"' in chapter
    assert f'"cnf": {{\n       "jkt": "{jkt[1]}"\n     }}' in chapter
    success = chapter.split("29. The API call with Authorization: DPoP")[1].split("\n30. ")[0]
    assert "HTTP 200" in success and '"actor": "agent:demo-calendar-assistant"' in success
    thief = chapter.split("30. A thief's replays")[1].split("\n31. ")[0]
    assert thief.count("HTTP 401") == 3
    assert 'DPoP error="invalid_token", error_description="This access token is bound to a DPoP key' in thief
    assert "The DPoP proof was made with another key" in thief
    assert "The DPoP proof has been used before." in thief
    assert AgentGrant.objects.filter(revoked_at__isnull=True).count() == 0


def test_demo_can_run_again_on_the_same_database():
    run_demo()
    assert "All 31 steps" in run_demo()
    assert Agent.objects.filter(actor_id="agent:demo-calendar-assistant").count() == 1
    assert get_application_model().objects.filter(client_id="demo-tv-client").count() == 1
    assert AgentGrant.objects.filter(revoked_at__isnull=True).count() == 0


def test_demo_reenables_a_disabled_demo_agent():
    run_demo()
    Agent.objects.filter(actor_id="agent:demo-calendar-assistant").update(is_active=False)
    assert "All 31 steps" in run_demo()


def test_demo_names_the_step_that_failed(settings):
    configure(settings, RS_REVOCATION_MODE="none")
    with pytest.raises(
        CommandError, match=r"step 12 \(The API refuses the revoked token\) failed: expected 401"
    ):
        run_demo()


def test_demo_refuses_a_site_without_debug_unless_forced():
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("obo_demo", stdout=io.StringIO())
    assert not Agent.objects.exists()


def test_make_demo_commands_exit_zero_on_a_fresh_database(tmp_path):
    env = {
        **os.environ,
        "OBO_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DJANGO_DEBUG": "1",
    }
    env.pop("DATABASE_URL", None)
    env.pop("OBO_SIGNING_KEY_DIR", None)
    for command in (["migrate", "--noinput"], ["obo_demo"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert "All 31 steps behaved as the draft says." in done.stdout


def test_demo_before_migrate_says_run_migrate_first(tmp_path):
    env = {**os.environ, "OBO_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "example_project.settings"}
    env.pop("DATABASE_URL", None)
    env["DJANGO_DEBUG"] = "1"
    done = subprocess.run(
        [sys.executable, "manage.py", "obo_demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert "run `python manage.py migrate` first" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout and "no such table" not in done.stderr


def test_demo_shows_the_tokens_truncated_the_metadata_and_only_filled_form_fields():
    output = run_demo()
    response = output.split("token response (tokens truncated): ")[1].split("\n   }")[0]
    assert re.search(r'"access_token": "eyJ[\w-]{13}… \(\d+ characters\)"', response)
    assert re.search(r'"refresh_token": "[\w-]{16}… \(\d+ characters\)"', response)
    metadata = output.split("authorization server metadata (")[1].split("\n   }")[0]
    assert '"requested_actor_supported": true' in metadata and '"token_endpoint": "' in metadata
    fields = output.split("form fields posted back, with allow=Authorize: ")[1].split("\n   }")[0]
    assert '"consent_id": "' in fields and '"code_challenge_method": "S256"' in fields
    assert '""' not in fields and '"nonce"' not in fields and '"claims"' not in fields
