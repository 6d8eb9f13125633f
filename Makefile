# Friday Night — every target installs what it needs into .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
STAGE ?= dev

.PHONY: run test package bench lint clean install

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip==25.3"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

## make run — the whole thing locally: embedded DynamoDB, API on 127.0.0.1:$(PORT), schedules, outbox
run: $(STAMP)
	PORT=$(PORT) $(BIN)/python -m scripts.run_local

## make test — the full suite (unit, stories, package + cfn-lint, browser)
test: $(STAMP)
	$(BIN)/python -m pytest -q

## make package — CloudFormation/SAM with the tables into dist/
package: $(STAMP)
	$(BIN)/python -m scripts.package --stage $(STAGE) --out dist

## make bench — benchmarks; prints figures (see docs/benchmarks.md)
bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) dist .pytest_cache build
