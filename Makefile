# safehub: `make demo` runs the demonstration hub; `make test` runs the whole test suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
export SAFEHUB_HOME := $(CURDIR)

.PHONY: install demo test test-sqlite test-postgres lint check-python frontend lock clean

check-python:
	@python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' || { \
	  echo "safehub needs Python 3.12 or newer; 'python3' here is $$(python3 --version 2>&1)."; \
	  echo "With pyenv: 'pyenv install 3.12' (the .python-version file then selects it)."; \
	  exit 1; }

$(VENV)/.installed: pyproject.toml requirements.lock | check-python
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

src/safehub/web/static/safehub/safehub.css: node_modules/.installed src/safehub/web/scss/safehub.scss frontend/build.mjs
	npm run --silent build

frontend: src/safehub/web/static/safehub/safehub.css

install: $(VENV)/.installed frontend

demo: install
	SAFEHUB_DEMO=true $(VENV)/bin/safehub demo

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

test-sqlite: test

test-postgres: install
	DATABASE_URL=$(POSTGRES_URL) $(PY) -m pytest $(PYTEST_ARGS)

# Settings need a secret and a field key outside the demo and the tests: throwaway ones here.
LINT_ENV := SECRET_KEY=lint SAFEHUB_FIELD_KEYS=bGludGxpbnRsaW50bGludGxpbnRsaW50bGludGxpbnQ=

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(LINT_ENV) $(VENV)/bin/mypy
	$(LINT_ENV) $(VENV)/bin/safehub makemigrations --check --dry-run

lock: $(VENV)/.installed
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev -o requirements.lock --python-version 3.12

clean:
	rm -rf $(VENV) node_modules var staticfiles src/safehub/web/static/safehub
