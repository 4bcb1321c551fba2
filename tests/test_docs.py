"""The documentation keeps up with the code: every setting documented, every page built."""

import re
from pathlib import Path

from django_agent_obo.conf import DEFAULTS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_agent_obo_setting_has_a_row_in_the_settings_reference():
    tables = (DOCS / "settings.md").read_text() + (DOCS / "resource-server-settings.md").read_text()
    rows = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", tables, re.M))
    assert set(DEFAULTS) - rows == set()


def test_the_root_document_lists_every_page_through_a_glob():
    index = (DOCS / "index.md").read_text()
    toctree = re.search(r"```\{toctree\}\n(.*?)```", index, re.S)
    assert toctree is not None
    assert ":glob:" in toctree[1] and "\n*\n" in toctree[1]


def test_every_page_linked_from_the_root_exists():
    index = (DOCS / "index.md").read_text()
    for page in re.findall(r"\]\(([\w-]+\.md)", index):
        assert (DOCS / page).is_file(), page
