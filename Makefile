# make test   : create .venv, install, run the tests (unit tests + every chapter in the quick profile)
# make book   : create .venv, install, render every chapter from its best stored evidence (computing only
#               parts no store has), build _build/html; make book PROFILE=quick computes and renders quick
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PROFILE ?= best

.PHONY: install test book bench clean

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m helpers.vendor
	touch $@

install: $(VENV)/.installed

test: install
	$(PY) -m pytest

book: install  # from an empty _build/html: nothing of an earlier build (stale images, removed pages) survives
	rm -rf _build/html _build/.doctrees
	$(PY) -m helpers build --profile $(PROFILE)

bench: install
	$(PY) -m benchmarks

clean:
	rm -rf _build .pytest_cache
