# La Station — the two commands a newcomer runs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
DEBIAN_PACKAGES := mosquitto mosquitto-clients postgresql influxdb nginx-light chromium

.PHONY: setup deb demo test protocol clean

setup: deb $(STAMP)

# Debian packages the tests talk to. Installed when we are root (or have sudo),
# otherwise a clear message names them. Idempotent: only missing ones are installed.
deb:
	@bash scripts/install-debian-packages.sh $(DEBIAN_PACKAGES)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[edge,server,dev]' --config-settings editable_mode=compat
	@rm -f $(VENV)/.installed-*
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
