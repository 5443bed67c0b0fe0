# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: run test test-sqlite test-postgres clean

$(VENV)/.run-installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) -e '.[postgres]'
	@touch $@

$(VENV)/.test-installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) -e '.[test,postgres]'
	@touch $@ $(VENV)/.run-installed

## Install, migrate, and serve on http://127.0.0.1:8000 with SQLite under ./data.
run: $(VENV)/.run-installed
	$(VENV)/bin/cara-fed migrate
	$(VENV)/bin/cara-fed serve

## Install with the test extras and run the whole suite on SQLite, then on PostgreSQL, each pass on one
## pytest-xdist worker per CPU (CARA_FED_TEST_WORKERS=N to choose; tests/run_suites.py). ARGS go to pytest.
test: $(VENV)/.test-installed
	$(PY) -m tests.run_suites $(ARGS)

test-sqlite: $(VENV)/.test-installed
	$(PY) -m tests.run_suites --only sqlite $(ARGS)

test-postgres: $(VENV)/.test-installed
	$(PY) -m tests.run_suites --only postgres $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
