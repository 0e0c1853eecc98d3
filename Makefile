# Cunliao: `make run` serves the app with demo data; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | sha256sum | cut -c1-12)

.PHONY: run test bench bench-scale install web clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

run: install web
	$(BIN)/cunliao init-db
	$(BIN)/cunliao deploy workflows/bpmn workflows/forms workflows/documents
	$(BIN)/cunliao seed-demo --month
	$(BIN)/cunliao serve

# TEST_DATABASE_URL=postgresql://... runs the same suite on that database. Its temporary files go to a
# directory of its own (kept if a test fails): pytest's shared /tmp/pytest-of-$$USER is pruned by any
# other pytest run on the machine, which can delete a running suite's databases.
test: install web
	@tmp=$$(mktemp -d /tmp/cunliao-test.XXXXXX); \
	$(BIN)/python -m pytest --basetemp=$$tmp $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 0 ]; then rm -rf $$tmp; else echo "test files kept in $$tmp"; fi; exit $$rc

bench: install
	$(BIN)/python tests/bench/bench_api.py
	$(BIN)/python tests/bench/bench_census.py
	$(BIN)/python tests/bench/bench_documents.py
	$(BIN)/python tests/bench/bench_timers.py
	$(BIN)/python tests/bench/bench_resident.py
	$(BIN)/python tests/bench/bench_backup.py

# The scale benchmark (issue #19, README "Scale benchmark"): builds a seeded city on SCALE_DATABASE_URL
# (everything in that database is dropped first), measures it through gunicorn, prints one JSON line.
# BENCH_SCALE=1.0 is the whole city (100,000 cases, 56 minutes on PostgreSQL); 0.01 (1,000 cases) takes about a minute on 2 quiet cores.
BENCH_SCALE ?= 0.01
SCALE_DATABASE_URL ?= sqlite:///var/bench-scale.db

bench-scale: install
	DATABASE_URL=$(SCALE_DATABASE_URL) $(BIN)/python -m tests.bench.bench_scale --scale $(BENCH_SCALE)

# One `cunliao serve` node, then two, on one PostgreSQL database (docs/scaling.md). It DROPS and
# creates BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/cunliao_bench_nodes).
.PHONY: bench-nodes
bench-nodes: install
	$(BIN)/python tests/bench/bench_nodes.py

# The browser UI's bundles (web/static/dist): npm installs the locked packages once, esbuild rebuilds
# in about a second. Node.js and npm come with the machine; no CDN is used at run time.
WEB_STAMP := web/node_modules/.installed-$(shell cat web/package-lock.json | sha256sum | cut -c1-12)

web: $(WEB_STAMP)
	cd web && npm run --silent build

$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -f web/node_modules/.installed-*
	touch $@

clean:
	rm -rf $(VENV) var .pytest_cache web/node_modules web/static/dist
