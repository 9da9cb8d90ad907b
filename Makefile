# Two commands on a fresh machine: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOME_DIR ?= $(CURDIR)/demo-home

.PHONY: install system-deps pg-up run lint test test-postgres test-slow bench bench-sensor bench-bound dev clean

install: $(STAMP)

# Reinstall only when the pins or the project metadata change. pip's and setuptools' own
# chatter goes to a log, shown only if the install fails: `make run` prints the project's
# progress and nothing else.
INSTALL_LOG := $(VENV)/install.log
$(STAMP): requirements.lock pyproject.toml
	@echo "Setting up $(VENV) with the pinned dependencies (the first time takes a few minutes)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@( $(BIN)/python -m pip install --quiet --upgrade pip \
	  && $(BIN)/python -m pip install --quiet -r requirements.lock \
	  && $(BIN)/python -m pip install --quiet --no-deps -e . ) > $(INSTALL_LOG) 2>&1 \
	  || { cat $(INSTALL_LOG); echo "make: installing the dependencies failed (above)"; exit 1; }
	@touch $(STAMP)

run: install
	@$(BIN)/csp demo --home $(HOME_DIR)

# Chromium and PostgreSQL, for the tests that use them for real (installed when missing).
system-deps:
	bash .ci/system-deps.sh

# Python lint and format (ruff, pyproject.toml), backwards imports between stages (the layers
# contract in pyproject.toml) and SQL off the house style (.sqlfluff) all fail here.
# sqlfluff's dbt templater compiles the project against a scratch warehouse, never the
# demonstration's.
LINT_WORK := $(CURDIR)/.lint
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	mkdir -p $(LINT_WORK)
	CSP_WAREHOUSE_PATH=$(LINT_WORK)/lint.duckdb CSP_DUCKDB_MEMORY_LIMIT=512MB \
	DBT_LOG_PATH=$(LINT_WORK)/logs $(BIN)/sqlfluff lint dbt_project/models \
	--disable-progress-bar

# Two workers, one per core (pytest-xdist); a file's tests stay on one worker so its module
# fixtures (built homes) are built once. Before they start: one PostgreSQL server and dbt's
# manifest, which two workers would otherwise race to create. The slowest tests are listed.
test: install system-deps lint
	@eval "$$(bash .ci/postgres.sh 2>/dev/null)" || true; \
	$(BIN)/python -c "from orchestration.dbt import ensure_manifest; ensure_manifest()" && \
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=15

# A throwaway PostgreSQL on 127.0.0.1 for trying the Postgres target: eval "$$(make -s pg-up)"
pg-up: system-deps
	@bash .ci/postgres.sh

test-postgres: install system-deps
	$(BIN)/python -m pytest -q tests/postgres

# The scale benchmark (bench/run.py, BENCHMARKS.md): SCALE=tiny|small|medium|national.
SCALE ?= small
# At national size the pandas baseline, one frame of 65 million rows, needs more than 24 GiB.
bench: install
	$(BIN)/python -m bench.run --scale $(SCALE) $(if $(filter national,$(SCALE)),--skip-baseline)

# One new month through Dagster's landing sensor under csp ui, against csp build.
bench-sensor: install
	$(BIN)/python -m bench.sensor --scale $(SCALE)

# The least any build could take: DuckDB alone doing only the work the contract asks.
bench-bound: install
	$(BIN)/python -m bench.lower_bound --scale $(SCALE)

test-slow: install
	$(BIN)/python -m pytest -q -m slow

# The Dagster UI over the demonstration home (make run first).
dev: install
	$(BIN)/csp ui --home $(HOME_DIR)

clean:
	rm -rf $(VENV) demo-home dbt_project/target dbt_project/logs
