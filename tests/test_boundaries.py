"""The package's import boundaries (docs/architecture.md "Boundaries"), read from the source.

Every module is in one layer: the resource toolkit (``resource/``, ``contrib/``), shared
modules both sides use, the wiring that mounts both (app config, checks, URLs, management
commands), or the authorization server (everything else). The toolkit imports only itself and
shared modules; shared modules import only shared modules (so nothing of the authorization
server reaches the toolkit through them); the authorization server does not import the toolkit.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "django_agent_obo"
SHARED = {
    "agent_keys",
    "audit",
    "authorization_details",
    "claims",
    "conf",
    "dpop",
    "jose",
    "keys",
    "models",
    "refusals",
    "resources",
    "rows",
    "signals",
    "token_status",
}
TOOLKIT = {"resource", "contrib"}
WIRING = {"apps", "checks", "urls", "management"}


def layer(module: str) -> str:
    """``module`` is dotted below the package (``resource.proof``, ``models.agents``)."""
    top = module.split(".")[0]
    if top in TOOLKIT:
        return "toolkit"
    if top in SHARED:
        return "shared"
    if top in WIRING:
        return "wiring"
    return "authorization server"


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if "migrations" in parts:
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name:
            found[name] = path
    return found


def imported(module: str, path: Path) -> set[str]:
    """Our modules ``module`` imports, at the top or inside a function."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                below = node.module.split(".") if node.module else []
                base = package[: len(package) - node.level + 1] + below
            elif node.module and node.module.split(".")[0] == PACKAGE.name:
                base = node.module.split(".")[1:]
            else:
                continue
            for alias in node.names:  # `from . import x` names a module, `from .x import y` a name
                candidate = [*base, alias.name]
                is_module = (PACKAGE.joinpath(*candidate).with_suffix(".py")).exists() or (
                    PACKAGE.joinpath(*candidate).is_dir()
                )
                targets.add(".".join(candidate if is_module else base))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE.name:
                    targets.add(".".join(alias.name.split(".")[1:]))
    return {target for target in targets if target}


ALLOWED = {
    "toolkit": {"toolkit", "shared"},
    "shared": {"shared"},
    "authorization server": {"authorization server", "shared"},
    "wiring": {"toolkit", "shared", "authorization server", "wiring"},
}


def violations() -> list[str]:
    found = []
    for module, path in modules().items():
        for target in sorted(imported(module, path)):
            if layer(target) not in ALLOWED[layer(module)]:
                found.append(f"{module} ({layer(module)}) imports {target} ({layer(target)})")
            if module.startswith("resource") and target.startswith("contrib"):
                found.append(f"{module} imports {target}: contrib/ builds on resource/, not the reverse")
    return found


def test_no_module_crosses_a_boundary():
    assert violations() == []


def test_the_shared_modules_exist():
    """A renamed shared module must be renamed here too, or it would silently change layer."""
    tops = {name.split(".")[0] for name in modules()}
    assert SHARED <= tops and TOOLKIT <= tops


@pytest.mark.parametrize(
    ("module", "source", "complaint"),
    [
        ("resource.validation", "from ..tokens import issuer\n", "imports tokens (authorization server)"),
        ("resource.validation", "def f():\n    from ... import delegation\n", "imports delegation"),
        ("delegation", "from .resource import revocation\n", "imports resource.revocation (toolkit)"),
        ("jose", "from .actors import verify_actor_token\n", "imports actors (authorization server)"),
        ("resource.request", "from ..contrib.mcp import tools\n", "contrib/ builds on resource/"),
    ],
)
def test_a_crossing_import_is_found(tmp_path, monkeypatch, module, source, complaint):
    fake = tmp_path / "django_agent_obo"
    for real in modules().values():
        target = fake / real.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("")
    fake.joinpath(*module.split(".")).with_suffix(".py").write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert any(complaint in line for line in violations()), violations()
