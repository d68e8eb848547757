# Two commands do all the set-up on a fresh machine:
#   make run   — install what is missing, then run the bot (or, with no TELEGRAM_BOT_TOKEN, a practice drill)
#   make test  — install what is missing (Python and Node packages), then run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint check-data setup fonts

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Charts need a font with Chinese glyphs: Debian's fonts-wqy-microhei when none is installed (needs root).
fonts:
	@if [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || [ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null) \
	  || echo "could not install fonts-wqy-microhei; trainer charts need a Chinese font"; \
	else echo "note: install a Chinese font (e.g. sudo apt-get install fonts-wqy-microhei) for trainer charts"; fi

setup: $(VENV)/.installed node_modules/.installed fonts

run: $(VENV)/.installed fonts
	$(PY) bot.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

check-data: $(VENV)/.installed
	$(PY) bot.py check-data

test: setup
	$(VENV)/bin/ruff check .
	$(PY) bot.py check-data
	$(PY) -m pytest -q
