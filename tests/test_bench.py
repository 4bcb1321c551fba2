"""``bench/run.py --quick`` runs and reports in its documented format (no timing is asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parent.parent / "bench" / "run.py"
RATIOS = re.compile(
    r"ratios: obo_exchange/plain_exchange=\d+\.\d\d rs_validate/pyjwt_decode=\d+\.\d\d "
    r"dot_bearer/rs_validate=\d+\.\d\d shipped_exchange/bench_exchange=\d+\.\d\d "
    r"assertion_auth/secret_auth=\d+\.\d\d dpop_validate/rs_validate=\d+\.\d\d"
)


def test_quick_bench_run_ends_with_the_ratios_line_and_finds_no_n_plus_one():
    env = {k: v for k, v in os.environ.items() if k not in ("OBO_VAR_DIR", "DJANGO_SETTINGS_MODULE")}
    done = subprocess.run(
        [sys.executable, str(RUN), "--quick"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert RATIOS.fullmatch(lines[-1]), lines[-1]
    pages = [line for line in lines if line.strip().startswith(("consent page", "/agents/"))]
    assert len(pages) == 2 and all(line.endswith("constant") for line in pages), pages
    revocation = lines[next(i for i, line in enumerate(lines) if line.startswith("3. ")) + 1]
    assert "skipped: no PostgreSQL" in revocation or re.search(r"s for [\d,]+ tokens", revocation)
