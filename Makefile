# Two commands do all the set-up on a fresh machine:
#   make run   — install what is missing, then run the bot (or, with no TELEGRAM_BOT_TOKEN, a practice drill)
#   make test  — install what is missing (Python and Node packages), then run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint check-data setup

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed

run: $(VENV)/.installed
	$(PY) bot.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

check-data: $(VENV)/.installed
	$(PY) bot.py check-data

test: setup
	$(VENV)/bin/ruff check .
	$(PY) bot.py check-data
	$(PY) -m pytest -q
