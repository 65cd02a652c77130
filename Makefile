# motcua — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: install run test lint bench worker simulators clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: install  ## embedded app on http://127.0.0.1:$${MOTCUA_PORT:-5000} with demo data
	$(BIN)/motcua run

test: install  ## lint + the whole suite (SQLite and the real PostgreSQL/Redis/Celery)
	$(BIN)/ruff check .
	$(BIN)/pytest -q -p no:cacheprovider

bench: install
	$(BIN)/python bench/engine_overhead.py

worker: install
	MOTCUA_WORKER=celery $(BIN)/motcua worker

simulators: install
	$(BIN)/motcua simulators

clean:
	rm -rf $(VENV) var .pytest_cache
