# Every target installs what it needs into .venv on first use, so a fresh clone needs only `make`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORPUS ?=
PYTEST_ARGS ?=
ARCH ?= arm64
# checkov pins its own dependency versions, so it lives in a venv of its own.
CHECKOV := $(VENV)/checkov/bin/checkov

.PHONY: install demo test test-slow lint bench loadtest chaos browser package web clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,loadtest,load]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP) web
	$(BIN)/imgpipe demo
	@echo "upload from a browser: $(BIN)/imgpipe local up, then open http://127.0.0.1:4582 (the web uploader)"

# The web uploader (deploy/web): `npm ci` from the committed lockfile, then its build (type check
# and vite) to deploy/web/dist, which `imgpipe local up` serves. Each step reruns only when its
# inputs changed. Needs Node.js 20.19+ and npm.
WEB := deploy/web
WEB_SOURCES := $(shell find $(WEB)/src -type f 2>/dev/null) $(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig.json
NPM ?= npm

$(WEB)/node_modules/.installed: $(WEB)/package.json $(WEB)/package-lock.json
	@command -v $(NPM) >/dev/null 2>&1 || { echo "make web needs Node.js 20.19+ and npm"; exit 1; }
	cd $(WEB) && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

$(WEB)/dist/index.html: $(WEB)/node_modules/.installed $(WEB_SOURCES)
	cd $(WEB) && $(NPM) run --silent build
	touch $@

web: $(WEB)/dist/index.html

$(CHECKOV):
	$(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet checkov

lint: $(STAMP) $(CHECKOV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy worker shared deploy loadtest tests
	$(CHECKOV) --directory deploy/terraform --framework terraform --quiet --compact --skip-download

# The Lambda artifact: dist/imgpipe-lambda-$(ARCH).zip (ARCH=arm64|x86_64|local).
package: $(STAMP)
	$(BIN)/python -m deploy.packaging.lambda_zip --arch $(ARCH)

# Headless Chromium opens the demo's contact sheet in the e2e tests (Debian package; needs root
# to install, which CI has). With it required, a missing browser fails the test, never skips it.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo -n)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

test: lint browser web
	IMGPIPE_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# Only the tests marked slow: the full-size runs whose smaller versions `make test` runs, and the
# longest checks (README, "Testing"). No lint: `make test` has it.
test-slow: $(STAMP) browser web
	IMGPIPE_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m loadtest.bench $(if $(CORPUS),--corpus $(CORPUS)) $(if $(FORMAT),--format $(FORMAT))

# A quick burst through the local stack (about 25 s on 2 cores); the last line is the figure.
# Bigger runs: .venv/bin/python -m loadtest.run --scenario burst --images 1000 --profile full
LOADTEST_ARGS ?= --scenario burst --images 200 --users 20 --profile small
loadtest: $(STAMP)
	$(BIN)/python -m loadtest.run $(LOADTEST_ARGS)

# The local stack under faults, kills, poison and duplicate events; the `chaos:` line is the verdict
# (exit 1 unless lost=0, inconsistent=0, stuck=0 and quarantined=poison). See docs/reliability.md.
UPLOADS ?= 2000
CHAOS_ARGS ?=
chaos: $(STAMP)
	$(BIN)/python -m loadtest.chaos --uploads $(UPLOADS) $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) out dist .pytest_cache .mypy_cache .ruff_cache $(WEB)/dist $(WEB)/node_modules
