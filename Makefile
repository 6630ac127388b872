# make test   : create .venv, install, check (make lint), run the tests (unit tests + every chapter in the quick profile)
# make lint   : ruff (unused imports, redefinitions, private-name imports) and mypy on helpers/; config in pyproject.toml
# make book   : create .venv, install, render every chapter from its best stored evidence (computing only
#               parts no store has), build _build/html; make book PROFILE=quick computes and renders quick
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PROFILE ?= best

.PHONY: install lint test book bench clean

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m helpers.vendor
	touch $@

install: $(VENV)/.installed

lint: install
	$(PY) -m ruff check .
	$(PY) -m mypy

test: lint
	$(PY) -m pytest

book: install  # from an empty _build/html: nothing of an earlier build (stale images, removed pages) survives
	rm -rf _build/html _build/.doctrees
	$(PY) -m helpers build --profile $(PROFILE)

bench: install
	$(PY) -m benchmarks

clean:
	rm -rf _build .pytest_cache .mypy_cache .ruff_cache
