# Two commands do everything on a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck pytest pytest-postgres bench docs clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[drf,test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=1 $(BIN)/python manage.py obo_demo

lint: $(STAMP)
	$(BIN)/ruff check django_agent_obo example_project tests bench
	$(BIN)/ruff format --check django_agent_obo example_project tests bench

typecheck: $(STAMP)
	$(BIN)/mypy django_agent_obo example_project

# The suite on SQLite, then on PostgreSQL when DATABASE_URL is set (.ci/run starts one). The
# newcomer tests generate their own SQLite projects and build the distributions: they run once.
pytest: $(STAMP)
	env -u DATABASE_URL $(BIN)/pytest -p no:cacheprovider -m "not postgres"

pytest-postgres: $(STAMP)
	@if [ -n "$$DATABASE_URL" ]; then $(BIN)/pytest -p no:cacheprovider -m "not newcomer"; \
	else echo "DATABASE_URL not set: PostgreSQL run skipped (.ci/run sets it)"; fi

test: lint typecheck pytest pytest-postgres

# The documentation (Markdown in docs/, built by Sphinx + MyST); warnings are errors.
docs: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache docs/_build
