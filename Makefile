# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test soak lint bench install chromium postgres clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

chromium:
	@bash scripts/ensure-chromium.sh

postgres:
	@bash scripts/ensure-postgres.sh

demo: $(STAMP)
	$(BIN)/alix demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(STAMP) chromium postgres lint
	$(BIN)/python -m pytest -p no:cacheprovider -q

# Long randomized runs, not part of `make test`: 500 convergence scenarios, then kill -9 of
# 20k-record imports and pushes at random points on SQLite and PostgreSQL.
soak: $(STAMP) postgres
	CONVERGENCE_SCENARIOS=500 $(BIN)/python -m pytest -p no:cacheprovider -q tests/convergence
	ALIX_SOAK=1 $(BIN)/python -m pytest -p no:cacheprovider -q tests/crash -m soak

bench: $(STAMP) postgres
	@bash scripts/run-benchmarks.sh

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
