# SafeStep: `make run` starts it with demo data; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export SAFESTEP_DATA_DIR ?= $(CURDIR)/safestep-data

.PHONY: run test lint bench clean messages

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "SafeStep needs Python 3.11 or newer as $(PYTHON)"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { echo "Cannot create a virtual environment: on Debian, run 'apt-get install python3-venv' and try again."; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/safestep migrate --verbosity 0
	$(BIN)/safestep demo
	$(BIN)/safestep serve --host 127.0.0.1 --port $${PORT:-8000}

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src
	$(BIN)/ruff format --check src
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(VENV)/.dev-installed lint
	scripts/test

# The Spanish catalogues (CONTRIBUTING.md, "Adding or changing text"): gather new text into
# each app's locale/es/LC_MESSAGES/django.po, then compile the django.mo SafeStep ships.
# Compiling needs gettext's msgfmt (apt-get install gettext).
messages: $(VENV)/.installed
	@for locale in src/safestep/*/locale; do \
	  (cd $$locale/.. && \
	   $(CURDIR)/$(BIN)/safestep makemessages -l es --no-obsolete --no-location --ignore='tests/*' --verbosity 0 && \
	   $(CURDIR)/$(BIN)/safestep compilemessages -l es --verbosity 0) || exit 1; \
	done

bench: $(VENV)/.dev-installed
	$(BIN)/safestep bench --quick --out bench-quick.json

clean:
	rm -rf $(VENV) build *.egg-info
