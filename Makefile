# The front door. A newcomer needs two targets: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py

.PHONY: run test lint fmt check worker beat bench bench-services bench-load clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

## run: install, migrate, import the seed once, print the demo login, serve on :8000
run: $(VENV)/.installed-run
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo
	$(MANAGE) runserver 127.0.0.1:8000

## test: lint, Django's checks, migrations up to date, the whole suite
test: $(VENV)/.installed-test lint check
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: $(VENV)/.installed-run
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run

## worker / beat: Celery against the configured broker (set REDIS_URL)
worker: $(VENV)/.installed-run
	$(BIN)/celery -A reviewapp worker --loglevel=info

beat: $(VENV)/.installed-run
	$(BIN)/celery -A reviewapp beat --loglevel=info

## bench: the benchmarks in bench/ (results go in docs/benchmarks.md, by hand)
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.render
	$(BIN)/python -m bench.real_size
	$(BIN)/python -m bench.preview_load

## bench-services: resolution and edit round trip; needs DATABASE_URL (a scratch
## PostgreSQL database) and REDIS_URL
bench-services: $(VENV)/.installed-test
	$(BIN)/python -m bench.edit
	$(BIN)/python -m bench.resolve
	$(BIN)/python -m bench.todo_board

## bench-load: 100 contributors read, edit, preview and comment for 90 s against
## gunicorn and two Celery workers, then look for lost writes; needs DATABASE_URL (a
## scratch PostgreSQL database with "bench" in its name, emptied) and REDIS_URL (a
## Redis database other than 0, emptied)
bench-load: $(VENV)/.installed-test
	$(BIN)/python -m bench.load --users 100 --seconds 90

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
