# Sdelka CRM. `make run` and `make test` are the two commands of README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := run.py

.PHONY: run test bench bench-load lint install install-dev lock translations messages migrate init clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The lock files, never the .in files: every machine gets the same versions.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install -q -r requirements.txt -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime translations
install-dev: $(VENV)/.dev translations

translations: $(VENV)/.runtime
	$(BIN)/pybabel compile -d app/translations

# Migrations run with FAB's permission sync off: the tables may not exist yet.
migrate: install
	FAB_UPDATE_PERMS=False $(BIN)/flask db upgrade

init: migrate
	$(BIN)/flask sdelka init

# gunicorn, not the development server: this is how the office runs it.
# --preload builds the app once, so roles are synchronised once;
# gunicorn.conf.py starts the scheduled jobs in each worker (see there).
# Each request is logged by the app (app/logs.py: with its id and the user).
run: init
	$(BIN)/gunicorn -c gunicorn.conf.py --preload --workers 2 --threads 4 --bind $(HOST):$(PORT) \
		run:app

# Two processes: the suite is bound by Python's CPU time. On the 2-core
# machine CI runs on, both databases and Chromium: 13.5-15 min in two;
# three processes took as long.
test: install-dev
	$(BIN)/python -m pytest -n 2

bench: install-dev
	$(BIN)/python -m bench

# Sessions against a real server alone, e.g. make bench-load ARGS="--find-capacity".
bench-load: install-dev
	$(BIN)/python -m bench.load $(ARGS)

lint: install-dev
	$(BIN)/ruff check app tests bench config.py run.py

# After editing requirements.in or requirements-dev.in: pin anew with
# pip-tools (a dev requirement). Versions already pinned are kept; to move
# them, LOCK_ARGS="--upgrade-package Flask" or LOCK_ARGS=--upgrade.
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile -q --strip-extras \
	--allow-unsafe --no-emit-index-url --no-emit-find-links --no-emit-trusted-host $(LOCK_ARGS)

lock: $(VENV)/.dev
	$(PIP_COMPILE) -o requirements.txt requirements.in
	$(PIP_COMPILE) -o requirements-dev.txt requirements-dev.in

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# After changing user-facing strings: refresh the catalogues, then translate
# the new entries in app/translations/ru/LC_MESSAGES/messages.po.
messages: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -o app/translations/messages.pot --no-location --sort-output --project "Sdelka CRM" .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching
