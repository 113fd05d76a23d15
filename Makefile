# Cirrus: developer and CI entry points.  `make test` is what CI runs (.ci/run).

SHELL := /bin/bash
.DEFAULT_GOAL := test

PYTHON ?= python3
VENV := .venv
APT_PACKAGES := prosody cups-ipp-utils dbus openssl lua-unbound python3 python3-venv cups-daemon cups-client cups-filters ejabberd nginx-light slapd lua-ldap systemd ghostscript sane-utils libsane1
MYPY_TARGETS := stanzas admin_commands server manager cirrus ipp gateway
# mypy cannot check a package whose folder name ("prosody-config") is not a valid
# module name: give it a correctly named symlink under the git-ignored build/.
MYPY_SHIM := build/mypy/prosody_config
MYPY_SHIM_EJABBERD := build/mypy/ejabberd_config
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: install apt venv test pytest lint demo up bench chaos soak clean

install: apt venv

apt:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" \
			|| missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "apt: installing$$missing"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

# Re-runs pip only when pyproject.toml changes.
venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[dev]'
	@# Without its dependencies (pyproject.toml's dev extra has them): see the comment there.
	$(VENV)/bin/python -m pip install -q --no-deps 'aioxmpp==0.13.3'
	@touch $@

test: install lint pytest

pytest: install
	$(VENV)/bin/pytest -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@mkdir -p $(dir $(MYPY_SHIM)) && ln -sfn "$(CURDIR)/prosody-config" $(MYPY_SHIM)
	@ln -sfn "$(CURDIR)/ejabberd-config" $(MYPY_SHIM_EJABBERD)
	$(VENV)/bin/mypy $(MYPY_TARGETS) $(MYPY_SHIM) $(MYPY_SHIM_EJABBERD)

demo: install
	$(VENV)/bin/cirrus demo

up: install
	$(VENV)/bin/cirrus up

bench: install
	$(VENV)/bin/python -m bench

# SIGKILLs the service, managers and Prosody while jobs flow; checks exactly-once
# (bench/README.md). Arguments: make chaos CHAOS_ARGS="--jobs 5000 --seed 7"
chaos: install
	$(VENV)/bin/python -m bench.chaos $(CHAOS_ARGS)

# Memory growth per 10,000 jobs of every process. make soak SOAK_ARGS="--jobs 50000"
soak: install
	$(VENV)/bin/python -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache
