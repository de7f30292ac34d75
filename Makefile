# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check lint typecheck unit test-external-redis bench clean format

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,fulltext]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/peacewatch demo

check: $(STAMP)
	$(BIN)/ruff check peacewatch tests bench scripts
	$(BIN)/ruff format --check peacewatch tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest

test: check unit

# The Redis-backed tests again, against an external server (REDIS_URL, default the local one).
test-external-redis: $(STAMP)
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/15} $(BIN)/pytest -m redis

format: $(STAMP)
	$(BIN)/ruff format peacewatch tests bench scripts
	$(BIN)/ruff check --fix peacewatch tests bench scripts

# Every benchmark in its quick form (under 10 minutes), then one table of figures and targets.
bench: $(STAMP)
	$(BIN)/python bench/report.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
