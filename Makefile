# OSINT Annotator — the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint audit format bench migrate seed clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# Sets up .venv, migrates, loads the demo data, then runs the web server and a Celery worker
# together (Ctrl-C stops both). With no DATABASE_URL / CELERY_BROKER_URL it uses SQLite and the
# filesystem broker under var/, so no server is needed.
run: export DEBUG ?= 1
run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  OSINT Annotator is starting at http://$(HOST):$(PORT)/  (Ctrl-C stops web and worker)"
	@echo ""
	ANNOTATOR_HOST=$(HOST) ANNOTATOR_PORT=$(PORT) $(BIN)/honcho start --env /dev/null -f Procfile.dev

# The whole suite. Uses DATABASE_URL / CELERY_BROKER_URL when set (CI: PostgreSQL and Redis),
# SQLite and the filesystem broker when not.
# The extension's JavaScript tests need Node 18+; like the browser tests, they are skipped with a
# warning when it is missing, unless REQUIRE_SERVICES=1 (CI), where a missing Node fails.
test: $(VENV)/.installed
	@if command -v node >/dev/null; then node --test frontend/extension; \
	elif [ "$(REQUIRE_SERVICES)" = 1 ]; then echo "node is required (apt-get install nodejs)"; exit 1; \
	else echo "WARNING: node is not installed; the extension's unit tests were skipped"; fi
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	! command -v node >/dev/null || for file in $$(find frontend/extension -name '*.js'); do node --check "$$file" || exit 1; done
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

# Security checks: bandit over the app code (medium and high findings; waivers with reasons in
# pyproject.toml), then pip-audit over .venv against PyPI's vulnerability feed (.ci/pip_audit.py
# says how many packages it could really audit).
audit: $(VENV)/.installed
	$(BIN)/bandit -c pyproject.toml -ll -q -r annotator cases frontend
	$(BIN)/python .ci/pip_audit.py

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The API load benchmark drives gunicorn with wrk (a Debian package); install it when missing.
bench: $(VENV)/.installed
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } || \
		echo "wrk is not installed (apt-get install wrk); bench/api_list.py will say so"
	$(BIN)/python -m bench

clean:
	rm -rf var/ .pytest_cache .ruff_cache
