"""Key rotation seen by every process (issue #12 item 5): two example-project servers share a
key ring on disk; nobody clears a cache by hand."""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import jwt
import pytest

from django_agent_obo.keys import RECHECK_SECONDS
from tests.servers import free_port, serving

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parent.parent
SEED = """
from oauth2_provider.models import get_application_model
get_application_model().objects.create(
    name="Rotation probe", client_id="rotation-probe",
    client_secret="rotation-secret-k7Qp2vXz9LmN4rT8wY6bJ3hF5dS",
    client_type="confidential", authorization_grant_type="client-credentials",
)
"""
BASIC = "Basic " + base64.b64encode(b"rotation-probe:rotation-secret-k7Qp2vXz9LmN4rT8wY6bJ3hF5dS").decode()


def _post_token(port: int) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(
        "POST",
        "/o/token/",
        body=urlencode({"grant_type": "client_credentials"}),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": BASIC},
    )
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status == 200, body
    return str(jwt.get_unverified_header(json.loads(body)["access_token"])["kid"])


def _published(port: int) -> set[str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/o/jwks/")
    document = json.loads(connection.getresponse().read())
    connection.close()
    return {key["kid"] for key in document["keys"]}


def _ring(var: Path) -> dict:
    return dict(json.loads((var / "keys" / "keyring.json").read_text()))


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[int], Path, dict[str, str]]]:
    var = tmp_path_factory.mktemp("rotation")
    env = {
        **os.environ,
        "OBO_VAR_DIR": str(var),
        "OBO_ISSUER": "http://127.0.0.1:8000",
        "DATABASE_URL": f"sqlite:///{var / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
    }
    env.pop("OBO_SIGNING_KEY_DIR", None)
    env.pop("DJANGO_DEBUG", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*manage, "shell", "-c", SEED], cwd=ROOT, env=env, check=True, capture_output=True)
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    ports = [free_port(), free_port()]
    with (
        serving(
            [gunicorn, "example_project.wsgi", "-b", f"127.0.0.1:{ports[0]}", "-w", "1"],
            cwd=ROOT,
            env=env,
            port=ports[0],
            log=var / "first.log",
        ),
        serving(
            [gunicorn, "example_project.wsgi", "-b", f"127.0.0.1:{ports[1]}", "-w", "1"],
            cwd=ROOT,
            env=env,
            port=ports[1],
            log=var / "second.log",
        ),
    ):
        yield ports, var, env


def test_every_process_signs_with_the_rotated_key_and_drops_retired_ones(two_servers) -> None:
    ports, var, env = two_servers
    old = {_post_token(port) for port in ports}  # each process has now cached the ring
    assert len(old) == 1
    (old_kid,) = old

    subprocess.run(
        [sys.executable, "manage.py", "rotate_signing_key", "--now"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    new_kid = _ring(var)["active"]
    assert new_kid != old_kid
    time.sleep(RECHECK_SECONDS + 0.5)  # the documented interval (docs/deployment.md)
    for port in ports:
        assert _post_token(port) == new_kid
        assert _published(port) == {old_kid, new_kid}  # old tokens still verify

    # The retired key's publication ends a few seconds from now; no file changes after that.
    ring = _ring(var)
    ends = time.time() + 3
    for entry in ring["keys"]:
        if entry["kid"] == old_kid:
            entry["publish_until"] = ends
    (var / "keys" / "keyring.json").write_text(json.dumps(ring))
    time.sleep(RECHECK_SECONDS + 0.5)
    assert all(_published(port) == {old_kid, new_kid} for port in ports)
    time.sleep(max(0.0, ends - time.time()) + RECHECK_SECONDS + 0.5)
    for port in ports:
        assert _published(port) == {new_kid}
        assert _post_token(port) == new_kid
