# Two commands do all the set-up on a fresh machine:
#   make demo   - environment, dependencies, local Elasticsearch, the local test site served,
#                 crawled and indexed, three example searches printed
#   make test   - the whole suite (it starts and stops its own Elasticsearch node)
#   make bench  - every benchmark, each a ratio against a baseline in the same run (bench/README.md)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PIP_FLAGS ?= --disable-pip-version-check --progress-bar off

.PHONY: install demo test bench chromium lint es-start es-stop clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) --upgrade pip
	$(PY) -m pip install $(PIP_FLAGS) -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) -m tests.site.demo

test: install chromium
	$(PY) -m ruff check .
	$(PY) -m pytest

bench: install
	$(PY) -m bench

# The browser tests drive Debian's chromium (Playwright never downloads a browser here). Installed when missing:
# as root with apt-get, else with sudo; when neither can, a warning, and the browser tests then fail saying so.
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) \
		|| echo "warning: apt-get could not install chromium: the browser tests will fail"; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		(sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) \
		|| echo "warning: apt-get could not install chromium: the browser tests will fail"; \
	else echo "warning: chromium is missing and cannot be installed here (not root, no sudo): the browser tests will fail"; \
	fi

lint: install
	$(PY) -m ruff check .

es-start: install
	$(VENV)/bin/mediawatch es start

es-stop: install
	$(VENV)/bin/mediawatch es stop

clean:
	-$(VENV)/bin/mediawatch es stop
	rm -rf $(VENV) .mediawatch .pytest_cache .ruff_cache *.egg-info
