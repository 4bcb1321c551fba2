"""The wheel and sdist build cleanly and carry everything a site needs at run time."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import django_agent_obo
from tests.fixtures_newcomer import REPO

pytestmark = pytest.mark.newcomer

PACKAGE = REPO / "django_agent_obo"
NOT_SOURCE = (".venv", ".git", "var", "build", "dist", "*.egg-info", "__pycache__", "_build", ".*_cache")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build`` on a clean copy of the repository (setuptools writes into its tree)."""
    work = tmp_path_factory.mktemp("packaging")
    source = work / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    out = work / "dist"
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def only(folder: Path, pattern: str) -> Path:
    found = list(folder.glob(pattern))
    assert len(found) == 1, found
    return found[0]


def wheel_names(dist: Path) -> set[str]:
    with zipfile.ZipFile(only(dist, "*.whl")) as wheel:
        return set(wheel.namelist())


def package_files(pattern: str) -> set[str]:
    return {str(p.relative_to(REPO)) for p in PACKAGE.rglob(pattern) if "__pycache__" not in p.parts}


def test_wheel_and_sdist_are_named_for_this_version(dist):
    version = django_agent_obo.__version__
    assert only(dist, "*.whl").name == f"django_agent_obo-{version}-py3-none-any.whl"
    assert only(dist, "*.tar.gz").name == f"django_agent_obo-{version}.tar.gz"


def test_wheel_carries_templates_migrations_and_py_typed(dist):
    names = wheel_names(dist)
    templates = package_files("*.html")
    migrations = package_files("migrations/*.py")
    assert templates and migrations
    assert templates <= names
    assert migrations <= names
    assert "django_agent_obo/py.typed" in names
    assert package_files("*.py") <= names


def test_wheel_holds_only_the_package(dist):
    tops = {name.split("/")[0] for name in wheel_names(dist)}
    assert tops == {"django_agent_obo", f"django_agent_obo-{django_agent_obo.__version__}.dist-info"}


def test_metadata_declares_supported_versions_and_runtime_dependencies_only(dist):
    with zipfile.ZipFile(only(dist, "*.whl")) as wheel:
        metadata = Parser().parsestr(
            wheel.read(f"django_agent_obo-{django_agent_obo.__version__}.dist-info/METADATA").decode()
        )
    classifiers = metadata.get_all("Classifier")
    assert "Framework :: Django :: 5.2" in classifiers
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["License-Expression"] == "BSD-3-Clause"
    runtime = [r for r in metadata.get_all("Requires-Dist") if "extra ==" not in r]
    names = {r.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip().lower() for r in runtime}
    assert names == {"django", "django-oauth-toolkit", "oauthlib", "pyjwt", "cryptography"}


def test_sdist_carries_the_changelog_docs_and_templates(dist):
    version = django_agent_obo.__version__
    with tarfile.open(only(dist, "*.tar.gz")) as sdist:
        names = {name.removeprefix(f"django_agent_obo-{version}/") for name in sdist.getnames()}
    assert {"CHANGELOG.md", "README.md", "docs/quickstart.md", "docs/conf.py"} <= names
    assert package_files("*.html") <= names
    assert not any(name.startswith("docs/_build") for name in names)


def test_twine_check_passes(dist):
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
