# Friday Night — every target installs what it needs into .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
STAGE ?= dev
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: run test package deploy smoke bench lint clean install chromium pictures catalogues

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip==25.3"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov

## checkov in its own venv (it pins a boto3 older than the app's); tests/test_package.py runs it
$(CHECKOV): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $(CHECKOV)

## make run — the whole thing locally: embedded DynamoDB, API on 127.0.0.1:$(PORT), schedules, outbox
run: $(STAMP)
	PORT=$(PORT) $(BIN)/python -m scripts.run_local

CHROMIUM := /usr/bin/chromium

## Debian's chromium for the browser tests (Playwright's own browser download fails here)
chromium: $(CHROMIUM)

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "make: $(CHROMIUM) is missing and apt-get is not here: install Debian's chromium" >&2; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

## make test — the full suite (unit, stories, package + cfn-lint, browser)
test: $(STAMP) $(CHROMIUM) $(CHECKOV)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=15

## make pictures — refresh the README's screenshots in docs/ (tests write them to build/ otherwise)
pictures: $(STAMP) $(CHROMIUM)
	SCREENSHOTS_DIR=docs $(BIN)/python -m pytest -q tests/test_chat_browser.py tests/test_console_browser.py

## make package — CloudFormation/SAM with the tables into dist/
package: $(STAMP)
	$(BIN)/python -m scripts.package --stage $(STAGE) --out dist

## make deploy STAGE=prod — checks AWS credentials, region and the stage's SSM secrets first (nothing is
## built or changed when one is missing), packages, then creates or updates the stack through a change set
## (scripts/deploy.py; settings from the environment, README "Deploy"). ARGS="--set Name=value" for more.
deploy: $(STAMP)
	$(BIN)/python -m scripts.deploy --stage $(STAGE) --preflight
	$(BIN)/python -m scripts.package --stage $(STAGE) --out dist
	$(BIN)/python -m scripts.deploy --stage $(STAGE) $(ARGS)

## make smoke STAGE=prod — the deployed stage end to end: /status, a signed test SMS, its ticket, resolved
smoke: $(STAMP)
	$(BIN)/python -m scripts.smoke --stage $(STAGE)

## make catalogues — extract the customer texts into chalicelib/locale/customers.pot, update each
## language's .po, compile the .mo files (tests/test_words.py fails when they are behind the code)
catalogues: $(STAMP)
	$(BIN)/python -m scripts.catalogues

## make bench — benchmarks; prints figures (see docs/benchmarks.md)
bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) dist .pytest_cache build
