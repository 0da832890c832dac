# The two commands a new machine needs: `make run` and `make test`. Needs only python3.11.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/hitl
REDIS ?= redis://127.0.0.1:6379/0
PORT  ?= 8000

.PHONY: run test test-postgres lint format lock bench clean

$(STAMP): requirements/dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.lock
	touch $(STAMP)

## Run the app: install, migrate, seed the demo, start the web server and a worker cluster.
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --history
	@echo ""
	@echo "  Log in at    http://127.0.0.1:$(PORT)/   (each role lands on its own page)"
	@echo "  Review queue http://127.0.0.1:$(PORT)/review/"
	@echo "  Dashboard    http://127.0.0.1:$(PORT)/review/dashboard/"
	@echo "  Admin        http://127.0.0.1:$(PORT)/admin/"
	@echo "  API docs     http://127.0.0.1:$(PORT)/api/docs/"
	@echo ""
	PORT=$(PORT) $(BIN)/honcho start -f Procfile.dev

## Run the tests (SQLite, ORM broker) and the linter.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

## The same suite against PostgreSQL + Redis, including the tests marked `postgres`.
test-postgres: $(STAMP)
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS) $(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)  ## (make test runs the same checks)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

## Re-pin requirements/*.lock from pyproject.toml (needs the package index).
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements/dev.lock
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 -o requirements/prod.lock

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
