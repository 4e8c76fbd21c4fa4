# La Station — the two commands a newcomer runs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
INSTALL_PYTHON := scripts/install-python-packages.sh
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml $(INSTALL_PYTHON) | sha1sum | cut -c1-12)
DEBIAN_PACKAGES := mosquitto mosquitto-clients postgresql influxdb nginx-light chromium

.PHONY: setup deb demo test protocol clean

setup: deb $(STAMP)

# Debian packages the tests talk to. Installed when we are root (or have sudo),
# otherwise a clear message names them. Idempotent: only missing ones are installed.
deb:
	@bash scripts/install-debian-packages.sh $(DEBIAN_PACKAGES)

# The Python packages, installed so that none replaces another (urllib3-future stays out
# of the `urllib3` name: see the script); the dependency tests then check the venv.
$(STAMP): pyproject.toml $(INSTALL_PYTHON)
	@rm -f $(VENV)/.installed-*
	bash $(INSTALL_PYTHON) $(VENV) $(PYTHON) '.[edge,server,dev]'
	$(PY) -m pytest -q -p no:cacheprovider tests/test_dependencies.py
	@touch $(STAMP)

demo: setup
	$(VENV)/bin/station demo $(DEMO_ARGS)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

# Regenerate docs/protocol/ from the shared contract (a test fails when they drift).
protocol: $(STAMP)
	$(VENV)/bin/station protocol export docs/protocol

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
