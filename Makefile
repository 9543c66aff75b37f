# Two commands do all the set-up on a fresh machine with python3 (3.11+) and make:
#   make run    create .venv, install every package editable, start the demo
#   make test   install, then ruff, mypy --strict and pytest -n auto
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := packages/uring packages/sws-core packages/sws-http packages/sws-ws packages/sws-client
PYPROJECTS := $(addsuffix /pyproject.toml,$(PACKAGES))

AUTOBAHN := .venv-autobahn
PY27 ?= $(shell pyenv root 2>/dev/null)/versions/2.7.18/bin/python

.PHONY: install tools autobahn run test conformance lint typecheck unit bench clean

$(STAMP): requirements-dev.txt $(PYPROJECTS)
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt $(addprefix -e ,$(PACKAGES))
	touch $(STAMP)

install: $(STAMP)

# Real peers for the end-to-end tests (wrk, nginx, curl, chromium), from Debian's packages when
# missing; without root or apt-get their tests skip.
tools: autobahn
	bash scripts/test-tools.sh

# Autobahn|Testsuite, the WebSocket conformance suite: a Python 2.7 program, installed from
# pyenv's 2.7.18 when it is there (its test skips otherwise).
autobahn: $(AUTOBAHN)/.installed

$(AUTOBAHN)/.installed: tests/autobahn/requirements-py27.txt
	@if [ -x "$(PY27)" ]; then \
	  $(PY27) -m pip install --quiet --disable-pip-version-check 'virtualenv<20.16' 2>/dev/null && \
	  $(PY27) -m virtualenv --quiet $(AUTOBAHN) && \
	  $(AUTOBAHN)/bin/pip install --quiet --disable-pip-version-check \
	    -r tests/autobahn/requirements-py27.txt 2>/dev/null && \
	  touch $@ || echo "could not install Autobahn|Testsuite; its test skips"; \
	else echo "no Python 2.7.18 under pyenv: Autobahn|Testsuite not installed; its test skips"; fi

# The demo: the sws demo app (HTTP and WebSocket) on http://127.0.0.1:8080/ (Ctrl-C stops it gracefully).
run: install
	$(BIN)/python -m sws_ws.demo --host 127.0.0.1 --port 8080

# All 517 Autobahn|Testsuite cases against the demo's /ws echo (about 10 minutes).
conformance: install autobahn
	$(BIN)/python tests/autobahn/run.py --all

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

test: lint typecheck tools
	$(BIN)/pytest -n auto

bench: install
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/uring_nop.py
	$(BIN)/python bench/tcp_echo.py
	$(BIN)/python bench/idle_conns.py
	$(BIN)/python bench/http.py
	$(BIN)/python bench/ws.py
	$(BIN)/python bench/client.py
	$(BIN)/python bench/dns.py

clean:
	rm -rf $(VENV) $(AUTOBAHN) .pytest_cache .mypy_cache .ruff_cache .hypothesis
