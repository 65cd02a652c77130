# motcua — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
# Front-end packages come from npm at build time and are copied into web/static/vendor/ (gitignored).
FRONTEND := web/frontend
VENDOR := web/static/vendor
# npm ci runs when package.json or the lock changes; the build when they, build.mjs or a studio source
# (web/frontend/studio: the BPMN editor and viewer bundled by esbuild) changes. Each stamp's name is a
# hash of what it depends on, so switching branches back and forth rebuilds too.
STUDIO_SOURCES := $(sort $(shell find $(FRONTEND)/studio -type f 2>/dev/null))
FRONTEND_MODULES := $(FRONTEND)/node_modules/.installed-$(shell cat $(FRONTEND)/package.json $(FRONTEND)/package-lock.json | sha1sum | cut -c1-12)
FRONTEND_STAMP := $(VENDOR)/.built-$(shell cat $(FRONTEND)/package.json $(FRONTEND)/package-lock.json $(FRONTEND)/build.mjs $(STUDIO_SOURCES) | sha1sum | cut -c1-12)
# The browser tests drive Debian's Chromium through Playwright (never Playwright's own browser builds).
CHROMIUM := /usr/bin/chromium

.PHONY: install run test lint bench chaos audit worker simulators clean browser system-libs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(FRONTEND_MODULES): $(FRONTEND)/package.json $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && npm ci --no-audit --no-fund --loglevel=error
	touch $(FRONTEND_MODULES)

$(FRONTEND_STAMP): $(FRONTEND_MODULES) $(FRONTEND)/build.mjs $(STUDIO_SOURCES)
	cd $(FRONTEND) && npm run --silent build
	touch $(FRONTEND_STAMP)

install: $(STAMP) $(FRONTEND_STAMP) system-libs

# WeasyPrint cuts the PDFs' fonts down with HarfBuzz's subsetter when the system has it, with fontTools
# (about four times the CPU of a whole document) when not: engine/documents/README.md.
system-libs:  ## libharfbuzz-subset for fast PDFs (installed when missing and we are root)
	@if ! $$(command -v ldconfig || echo /sbin/ldconfig) -p 2>/dev/null | grep -q 'libharfbuzz-subset\.so\.0'; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian's libharfbuzz-subset0 (fast font subsetting for the PDFs)"; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libharfbuzz-subset0 >/dev/null) \
				|| echo "WARNING: could not install libharfbuzz-subset0: PDFs use fontTools (its test fails when CI=true)"; \
		else \
			echo "NOTE: PDFs render about four times faster with libharfbuzz-subset: run 'sudo apt-get install libharfbuzz-subset0'."; \
			echo "      Without it its test is skipped (and fails when CI=true)."; \
		fi; \
	fi

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "NOTE: the browser tests need Debian's Chromium at $(CHROMIUM): run 'sudo apt-get install chromium'."; \
		echo "      Without it they are skipped (and fail when CI=true)."; \
	fi

browser: $(CHROMIUM)  ## Debian's Chromium for the Playwright tests (installed when missing and we are root)

run: install  ## embedded app on http://127.0.0.1:$${MOTCUA_PORT:-5000} with demo data
	$(BIN)/motcua run

test: install browser  ## lint + the whole suite (SQLite and the real PostgreSQL/Redis/Celery)
	$(BIN)/ruff check .
	$(BIN)/pytest -q -p no:cacheprovider

# The benchmark suite (bench/README.md): each prints its figures and the targets they are held to. About
# 40 minutes on 2 CPUs with the defaults; run it on a machine nothing else loads. BENCH_DOSSIERS=1000000 for
# the issue's scale (about 20 more minutes of seeding, 11 GB of PostgreSQL).
BENCH_DOSSIERS ?= 200000
bench: install
	$(BIN)/python bench/engine_overhead.py
	$(BIN)/python bench/http_load.py --duration 60 --warmup 10
	$(BIN)/python bench/http_load.py --no-claim --celery-workers 0 --drain 0 --duration 60 --warmup 10
	$(BIN)/python bench/web_cpu.py
	$(BIN)/python bench/http_floor.py
	$(BIN)/python bench/outbox.py
	$(BIN)/python bench/documents.py
	$(BIN)/python bench/scaling.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/scale.py --dossiers $(BENCH_DOSSIERS)
	$(BIN)/python bench/reports.py --dossiers $(BENCH_DOSSIERS)
	$(BIN)/python bench/standby.py
	$(BIN)/python bench/file_store.py

# Issue #9's fault drill (bench/chaos.py): 100 SIGKILLs of web and Celery workers, Redis down 60 s,
# PostgreSQL down 10 s, the file store (a bucket on loopback) down 20 s, all under load, then the consistency
# checks; about 6.5 minutes on 2 CPUs, not part of `make test`. CHAOS_ARGS=--restart-postgres restarts the
# real server (every other session on it too).
CHAOS_ARGS ?=
chaos: install
	$(BIN)/python bench/chaos.py $(CHAOS_ARGS)

# Known vulnerabilities in the installed packages (pip-audit, against PyPI's advisories by default): the exact
# versions in the venv, frozen to a list (the project itself, installed editable, is not a published package).
# --strict: a package the service could not answer for fails the audit instead of being skipped, so "no known
# vulnerability" is said only when every package was checked. AUDIT_ARGS picks another service, e.g.
# AUDIT_ARGS='-s osv' or '-s osv --osv-url https://osv.mirror.example/v1/query'. Not part of `make test`.
AUDIT_ARGS ?=
AUDIT_LIST := $(VENV)/.audit-requirements.txt
audit: install
	@$(BIN)/pip freeze --all --exclude-editable > $(AUDIT_LIST)
	@$(BIN)/pip-audit --strict --no-deps --disable-pip -r $(AUDIT_LIST) --progress-spinner off $(AUDIT_ARGS) || { \
		echo "make audit: FAILED: a known vulnerability above, or a package the vulnerability service could not"; \
		echo "answer for (unreachable? then nothing was proved: try AUDIT_ARGS='-s osv' or another mirror)."; \
		exit 1; }

worker: install
	MOTCUA_WORKER=celery $(BIN)/motcua worker

simulators: install
	$(BIN)/motcua simulators

clean:
	rm -rf $(VENV) var .pytest_cache $(VENDOR) $(FRONTEND)/node_modules
