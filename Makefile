# Parcours: `make dev` runs the whole stack on this machine, `make test` the full test suite.
# Both create .venv on first use and reinstall when pyproject.toml or constraints.txt changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: dev test test-faults test-fuzz lint lock clean browser bench bench-quick

dev: $(INSTALLED)
	$(BIN)/python -m starter dev

# The test files spread over TEST_WORKERS pytest-xdist workers, each with a PostgreSQL, Temporal
# servers and workers of its own; a file stays on one worker and the longest start first
# (tests/conftest.py). The 20 slowest steps are listed at the end. TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= 4

test: $(INSTALLED) browser
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=20

# Crashes and outages under load on a stack of real processes (README, Reliability); `make test`
# runs them too.
test-faults: $(INSTALLED)
	$(BIN)/pytest -m faults

# The schema-driven API fuzz at length: 20,000 examples (about 7 minutes here) unless
# PARCOURS_FUZZ_EXAMPLES says otherwise; PARCOURS_FUZZ_SEED picks other examples than CI's.
test-fuzz: $(INSTALLED)
	PARCOURS_FUZZ_EXAMPLES=$${PARCOURS_FUZZ_EXAMPLES:-20000} $(BIN)/pytest tests/test_api_fuzz.py

# Bare Temporal against Parcours on a stack of their own (ports picked free); see README, Performance.
bench: $(INSTALLED)
	$(BIN)/python -m bench

bench-quick: $(INSTALLED)
	$(BIN)/python -m bench --quick

# The Web UI browser test drives Debian's chromium; install it when it is missing.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# Re-pin constraints.txt from what is installed (after a dependency change in pyproject.toml).
lock: $(INSTALLED)
	{ echo "# Pinned versions of every installed package, for reproducible installs."; \
	  echo "# Regenerate with: make lock"; \
	  $(BIN)/pip freeze --exclude-editable; } > constraints.txt
	touch $(INSTALLED)

# Removes the virtualenv and caches; the dev stack's state in .data/ stays.
clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info

$(INSTALLED): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -c constraints.txt -e '.[dev]'
	touch $@
