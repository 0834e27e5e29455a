# caseloop: `make run` brings the embedded stack up, `make test` runs every test. Both install what they need.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run install test postgres prometheus chromium fonts lint format clean bench bench-quick

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/caseloop up

# PostgreSQL: the tests use the server on 127.0.0.1:5432 when one answers; otherwise they start Debian's
# postgresql in a temporary directory, installed here when it is missing.
postgres:
	@bash tests/support/ensure-postgres.sh

# Prometheus: Debian's prometheus and promtool, for the tests that check the deploy files' rules and panels.
prometheus:
	@bash tests/support/ensure-prometheus.sh

# Chromium: Debian's chromium, for the test that opens the Web UI as a supervisor would (tests/test_codec_ui.py).
chromium:
	@bash tests/support/ensure-chromium.sh

# Fonts: Debian's fonts-noto-cjk and poppler-utils, so reports print the registry's Chinese names (tests/reports).
fonts:
	@bash tests/support/ensure-fonts.sh

# The tests and the benchmark start many Python processes (the CLI, workers, doors): their compiled modules are kept
# under the venv, as an installed package keeps them, even where the environment asks for no bytecode, so that no
# process compiles the project's sources again (about 0.2 s each; the benchmark's cold start measures it).
KEEP_BYTECODE := PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(abspath $(VENV))/pycache

# Three processes on two cores, each with its own Temporal servers; a test module stays on one of them, the slowest
# modules first (tests/conftest.py). A quarter of the suite's time is spent waiting (servers and workers starting,
# a red card's 36 seconds, outages), which a third process fills: 11:01 with two, 8:29-10:35 with three on one machine.
# The slowest tests are listed at the end, to keep the whole run under 15 minutes.
TEST_PROCESSES ?= 3

test: install postgres prometheus chromium fonts
	$(KEEP_BYTECODE) $(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadfile --no-loadscope-reorder --durations=20

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy schemas workflows activities services workers caseloop

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The benchmark (bench/README.md): its own dev server, workers and door on loopback, caseloop beside a bare Temporal
# baseline; the table, JSON and charts go to bench/results/. `bench` takes under 15 minutes, `bench-quick` under 2.
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,lint,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(KEEP_BYTECODE) $(BIN)/python -m bench --plan full

bench-quick: $(BENCH_STAMP)
	$(KEEP_BYTECODE) $(BIN)/python -m bench --plan quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
