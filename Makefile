# Cunliao: `make run` serves the app with demo data; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | sha256sum | cut -c1-12)

.PHONY: run test bench install clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

run: install
	$(BIN)/cunliao init-db
	$(BIN)/cunliao deploy workflows/bpmn workflows/forms
	$(BIN)/cunliao seed-demo
	$(BIN)/cunliao serve

# TEST_DATABASE_URL=postgresql://... runs the same suite on that database.
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python tests/bench/bench_api.py

clean:
	rm -rf $(VENV) var .pytest_cache
