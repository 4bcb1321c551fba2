"""docs/walkthrough.md, run as written: its bash blocks in order in one shell, against the
example project under ``runserver`` (the page's own command, on a free port) with a fresh
database. Only the address changes (``127.0.0.1:8000`` → the free port) and ``make install``
is not re-run (this suite runs in the installed venv)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures_newcomer import REPO, code_blocks
from tests.servers import free_port, serving

pytestmark = pytest.mark.server

PAGE = REPO / "docs" / "walkthrough.md"


def test_walkthrough_runs_as_written(tmp_path: Path) -> None:
    blocks = [text for language, text in code_blocks(PAGE.read_text()) if language == "bash"]
    assert blocks[0].strip() == "make install"
    servers = [b for b in blocks if "runserver" in b]
    assert len(servers) == 1
    port = free_port()
    here = f"127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "OBO_", "DATABASE_URL"))}
    env |= {"OBO_VAR_DIR": str(tmp_path / "var"), "OBO_ISSUER": f"http://{here}", "DJANGO_DEBUG": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    work = tmp_path / "shell"
    work.mkdir()
    (work / ".venv").symlink_to(Path(sys.executable).parent.parent)
    (work / "manage.py").symlink_to(REPO / "manage.py")
    env["PYTHONPATH"] = str(REPO)
    before, after = blocks[1 : blocks.index(servers[0])], blocks[blocks.index(servers[0]) + 1 :]

    def run(parts: list[str]) -> str:
        script = "set -euo pipefail\n" + "\n".join(parts).replace("127.0.0.1:8000", here)
        done = subprocess.run(
            ["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
        return done.stdout

    setup = run(before)
    assert '"actor_id": "agent:calendar-assistant"' in setup
    command = shlex.split(servers[0].strip().replace("127.0.0.1:8000", here))
    with serving([*command, "--noreload"], cwd=work, env=env, port=port, log=tmp_path / "server.log"):
        output = run(after)
    assert '"requested_actor_supported": true' in output
    assert "sign-in: HTTP 302" in output
    assert "Agent: Calendar Assistant" in output
    assert "https://calendar.example/callback?code=" in output and "iss=" in output
    assert '"act": {\n    "sub": "agent:calendar-assistant"\n  }' in output
    assert '"actor": "agent:calendar-assistant"' in output
    assert "write without calendar.write: HTTP 403" in output
    assert "revoke: HTTP 302" in output
    assert "after revoking: HTTP 401" in output
