# Two commands do all the set-up on a fresh machine:
#   make demo   - environment, dependencies, local Elasticsearch, the local test site served,
#                 crawled and indexed, three example searches printed
#   make test   - the whole suite (it starts and stops its own Elasticsearch node)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PIP_FLAGS ?= --disable-pip-version-check --progress-bar off

.PHONY: install demo test lint es-start es-stop clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) --upgrade pip
	$(PY) -m pip install $(PIP_FLAGS) -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) -m tests.site.demo

test: install
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check .

es-start: install
	$(VENV)/bin/mediawatch es start

es-stop: install
	$(VENV)/bin/mediawatch es stop

clean:
	-$(VENV)/bin/mediawatch es stop
	rm -rf $(VENV) .mediawatch .pytest_cache .ruff_cache *.egg-info
