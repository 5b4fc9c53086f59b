# Podium: two commands on a fresh machine.
#   make run         set up (the demo extra included), seed the demo store on a first run, open the app
#   make test        set up (Chromium and nginx included) and run the whole test suite
#   make test-quick  the inner loop: no database servers, subprocesses, browser or model training
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# The markers test-quick leaves out (registered in pyproject.toml, set in tests/conftest.py).
QUICK := not db and not server and not browser and not slow
# make test's pytest-xdist workers: one per core of the 2-core CI machine (tests/harness/parallel.py).
WORKERS ?= 2

.PHONY: run test test-quick setup setup-dev system-packages bench clean

# Podium and the demo extra (scikit-learn models logged with skops), pinned.
$(VENV)/.installed: requirements.txt requirements-demo.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-demo.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# What the tests and benchmarks add (pytest, Playwright), pinned.
$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

run: setup
	$(PY) -m podium serve --port $(PORT)

# Chromium and nginx from Debian's packages, only when missing: Playwright's own browser download
# does not work here, and the team-stack tests run nginx as a process.
system-packages:
	@missing=""; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	test -x /usr/sbin/nginx || missing="$$missing nginx"; \
	if [ -n "$$missing" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  echo "Installing$$missing from Debian's packages"; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

test: setup-dev system-packages
	$(PY) -m pytest -n $(WORKERS) --dist loadfile

test-quick: setup-dev
	$(PY) -m pytest -q -m "$(QUICK)"

bench: setup-dev
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) .pytest_cache
