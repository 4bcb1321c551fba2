"""Sphinx configuration: the Markdown pages in this folder, built with MyST (`make docs`)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from django_agent_obo import __version__  # noqa: E402

project = "django-agent-obo"
author = "django-agent-obo contributors"
copyright = "django-agent-obo contributors"
version = release = __version__

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# `page.md#some-heading` links resolve to the heading's slug.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

# Illustrative pseudo-JSON (with "…" or comments) is shown as is, just without colours.
suppress_warnings = ["misc.highlighting_failure"]

html_theme = "alabaster"
html_title = f"django-agent-obo {release}"
html_static_path: list[str] = []
# Sphinx's bundled theme loads no fonts, scripts or styles from the network: the site works offline.
html_theme_options = {"show_relbars": True}
