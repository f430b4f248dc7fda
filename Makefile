# Parcours: `make dev` runs the whole stack on this machine, `make test` the full test suite.
# Both create .venv on first use and reinstall when pyproject.toml or constraints.txt changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: dev test test-faults test-fuzz test-image lint lock clean browser podman image audit \
	bench bench-quick

dev: $(INSTALLED)
	$(BIN)/python -m starter dev

# Everything but the image's tests (`make test-image`: they need podman and a few minutes).
# The test files spread over TEST_WORKERS pytest-xdist workers, each with a PostgreSQL, Temporal
# servers and workers of its own; a file stays on one worker and the longest start first
# (tests/conftest.py). The 20 slowest steps are listed at the end. TEST_WORKERS=0 runs serially.
# `make lint` runs first (about 10 s), so CI fails on what it finds too.
TEST_WORKERS ?= 4

test: $(INSTALLED) browser lint
	$(BIN)/pytest -m "not image" -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=20

# Crashes and outages under load on a stack of real processes (README, Reliability); `make test`
# runs them too.
test-faults: $(INSTALLED)
	$(BIN)/pytest -m faults

# The schema-driven API fuzz at length: 20,000 examples (about 7 minutes here) unless
# PARCOURS_FUZZ_EXAMPLES says otherwise; PARCOURS_FUZZ_SEED picks other examples than CI's.
test-fuzz: $(INSTALLED)
	PARCOURS_FUZZ_EXAMPLES=$${PARCOURS_FUZZ_EXAMPLES:-20000} $(BIN)/pytest tests/test_api_fuzz.py

# The container image with podman (deploy/image.sh): a Debian base made here with debootstrap
# and reused, a wheelhouse built on the host, an offline install inside the build.
image: $(INSTALLED) podman
	deploy/image.sh

# The image's migrate, worker and API as containers, and deploy/k8s under `podman kube play`,
# against a dev server and an embedded PostgreSQL on this host (README, Production).
test-image: image
	$(BIN)/pytest -m image

# Known vulnerabilities of the pins (pip-audit, PyPI's data) and of the image's Debian packages,
# and the image's CycloneDX SBOM in deploy/sbom.cdx.json (deploy/audit.py).
audit: $(INSTALLED) podman
	image="$$(deploy/image.sh)" && $(BIN)/python deploy/audit.py --image "$$image"

# Podman, runc and debootstrap from Debian's packages when missing.
podman:
	@command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    podman runc debootstrap >/dev/null; }

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
	$(BIN)/lint-imports
	$(BIN)/python -m tools.sql_outside_readmodel
	$(BIN)/python -m tools.module_sizes

# Re-pin constraints.txt from what is installed (after a dependency change in pyproject.toml).
lock: $(INSTALLED)
	{ echo "# Pinned versions of every installed package, for reproducible installs."; \
	  echo "# Regenerate with: make lock"; \
	  $(BIN)/pip freeze --exclude-editable; } > constraints.txt
	touch $(INSTALLED)

# Removes the virtualenv and caches; the dev stack's state in .data/ stays.
clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache build *.egg-info

$(INSTALLED): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -c constraints.txt -e '.[dev]'
	touch $@
