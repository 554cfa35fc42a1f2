# Two commands matter: `make demo` and `make test`. Everything else is what they stand on.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: install testbed test lint demo bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

testbed: install
	$(PY) -m comfytui.testbed install

lint: install
	$(PY) -m ruff check comfytui tests bench
	$(PY) -m mypy

test: testbed lint
	$(PY) -m pytest

demo: install
	$(VENV)/bin/comfytui demo

bench: testbed
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
