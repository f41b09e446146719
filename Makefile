# OSINT Annotator — the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format bench migrate seed clean

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
test: $(VENV)/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.installed
	$(BIN)/python -m bench

clean:
	rm -rf var/ .pytest_cache .ruff_cache
