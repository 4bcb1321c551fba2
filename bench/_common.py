"""What the benchmarks share (imported by them; not a benchmark itself).

* :func:`setup_django`: the example project's settings as ``bench_settings`` adjusts them, on
  ``DATABASE_URL`` when set, else a throw-away SQLite file; with ``throwaway=True`` a fresh
  PostgreSQL database is created in that server and dropped at exit, so a run never reads
  or leaves rows in yours.
* :func:`medians`: the timing discipline: contenders measured in interleaved rounds, the
  median of each kept, so a machine that slows down or speeds up hits every contender alike.
* :func:`machine`: what the figures were measured on.
"""

from __future__ import annotations

import atexit
import os
import platform
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def prepare_environment(settings_module: str = "bench_settings") -> None:
    """The bench settings (or ``settings_module``, e.g. the example project's own) and a scratch
    folder (SQLite file, signing keys), without starting Django, so a parent process that only
    starts children stays small."""
    sys.path[:0] = [path for path in (str(ROOT), str(ROOT / "bench")) if path not in sys.path]
    if "OBO_VAR_DIR" not in os.environ:  # ours to remove; child processes inherit and keep it
        os.environ["OBO_VAR_DIR"] = tempfile.mkdtemp(prefix="obo-bench-")
        atexit.register(shutil.rmtree, os.environ["OBO_VAR_DIR"], ignore_errors=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ.setdefault("DJANGO_DEBUG", "0")  # as in production: no query log, no debug pages
    os.environ.pop("OBO_SIGNING_KEY_DIR", None)


def throwaway_postgres(url: str) -> str:
    """Create an empty database next to the one ``url`` names; drop it at exit; return its URL."""
    import psycopg

    name = "obo_bench_" + secrets.token_hex(4)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')

    atexit.register(drop)
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def setup_django(throwaway: bool = False, settings_module: str = "bench_settings") -> str:
    """Configure and start Django; return a description of the database in use."""
    prepare_environment(settings_module)
    if throwaway and os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = throwaway_postgres(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.db import connection

    return f"{connection.vendor} ({connection.settings_dict['NAME']})"


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def on_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def machine() -> str:
    """CPUs, CPU model, RAM, Python and the date: enough to tell two runs' machines apart."""
    model = platform.processor() or "unknown CPU"
    memory = "? GiB"
    try:
        info = Path("/proc/cpuinfo").read_text()
        model = next(line.split(":", 1)[1].strip() for line in info.splitlines() if "model name" in line)
        kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines())
        memory = f"{kib / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return (
        f"{os.cpu_count()} CPUs ({model}), {memory} RAM, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}"
    )


def per_call(function: Callable[[], object], number: int) -> Callable[[], float]:
    """A sampler: seconds per call of ``function``, averaged over ``number`` calls."""
    return lambda: timeit.timeit(function, number=number) / number


def medians(samplers: dict[str, Callable[[], float]], rounds: int, warmup: int = 2) -> dict[str, float]:
    """Median of each sampler's results over ``rounds`` interleaved rounds (the order rotates
    every round, so no contender always runs first); ``warmup`` rounds are discarded."""
    names = list(samplers)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for index in range(warmup + rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            value = samplers[name]()
            if index >= warmup:
                samples[name].append(value)
    return {name: statistics.median(values) for name, values in samples.items()}
