PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet
# Each set of tools is installed once, and again only when pyproject.toml
# changes. Dependency groups (PEP 735) need pip >= 25.1.
STAMP_PIP := $(VENV)/.pip
STAMP_DEMO := $(VENV)/.installed-demo
STAMP_TEST := $(VENV)/.installed-test
STAMP_LINT := $(VENV)/.installed-lint
STAMP_MARIADB := $(VENV)/.installed-mariadb
# The MariaDB driver (mysqlclient) builds from source and needs
# default-libmysqlclient-dev, pkg-config and a C compiler: it is installed only
# when the tests run on MariaDB (DATABASE_URL=mysql://...), so that `make test`
# on SQLite needs nothing but python3.
TEST_DEPS := $(STAMP_TEST)
ifneq ($(filter mysql://% mysqlgis://%,$(DATABASE_URL)),)
TEST_DEPS += $(STAMP_MARIADB)
endif
DEMO_ADDR ?= 127.0.0.1:8000
PYTEST_ARGS ?=
# SLOW=0 leaves out the tests marked slow (fuzz, property and browser tests,
# real-time waits) and the coverage floor they help reach: a quick local run.
# By default, and in CI, everything runs.
SLOW ?= 1
ifeq ($(SLOW),0)
SLOW_MARK := -m "not slow"
COV_FLOOR := --fail-under=0
endif
# Each integration settings module runs as its own pytest process: the apps
# it installs (allauth, axes, hijack, two_factor) need their own migrations.
INTEGRATION_SUITES := $(sort $(basename $(notdir $(wildcard tests/integration/settings_*.py))))

.PHONY: venv test test-core test-integration django-suite lint matrix demo demo-reset demo-serve clean wheel-check

# Everything a developer needs: the test, lint and demo environments in one.
venv: $(STAMP_TEST) $(STAMP_LINT) $(STAMP_DEMO)

$(STAMP_PIP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	touch $@

$(STAMP_DEMO): pyproject.toml $(STAMP_PIP)
	$(PIP) -e ".[geoip,openapi]" --group demo
	touch $@

$(STAMP_TEST): pyproject.toml $(STAMP_PIP)
	$(PIP) -e ".[geoip,openapi]" --group test
	touch $@

$(STAMP_MARIADB): pyproject.toml $(STAMP_PIP)
	$(PIP) --group mariadb
	touch $@

$(STAMP_LINT): pyproject.toml $(STAMP_PIP)
	$(PIP) -e . --group lint
	touch $@

# Branch coverage is measured over test-core and test-integration together
# (the token adapters run only there); then `make test` holds it to the floor,
# pyproject.toml's [tool.coverage.report] fail_under.
test: test-core test-integration
	$(BIN)/python -m coverage report --show-missing --skip-covered $(COV_FLOOR)

# One pytest-xdist worker per core (TEST_WORKERS=0 for one process); a test
# file runs whole in one worker, so module-scoped servers and browsers start once.
TEST_WORKERS ?= auto
COV := --cov=django_sessionmgr --cov-branch --cov-report= --cov-fail-under=0
test-core: $(TEST_DEPS)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(COV) \
		$(SLOW_MARK) $(PYTEST_ARGS)

test-integration: $(TEST_DEPS)
	@set -e; for suite in $(INTEGRATION_SUITES); do \
		echo "--> tests/integration ($$suite)"; \
		$(BIN)/python -m pytest -p no:cacheprovider --ds=tests.integration.$$suite \
			$(COV) --cov-append tests/integration/test_$${suite#settings_}.py \
			$(SLOW_MARK) $(PYTEST_ARGS); \
	done

# Django's own auth_tests, sessions_tests and admin_views with the app installed.
django-suite: $(TEST_DEPS)
	PYTHON=$(BIN)/python scripts/django_suite.sh

# The pre-commit hooks (django-upgrade, ruff check and format, typos) call the
# venv's tools, hence the PATH; a hook that changes a file fails the run
# (it is ruff format, not --check, as on a developer's commit).
lint: $(STAMP_LINT)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pre-commit run --all-files --show-diff-on-failure
	$(BIN)/mypy django_sessionmgr
	$(BIN)/lint-imports

matrix: $(TEST_DEPS)
	$(BIN)/nox -- $(SLOW_MARK) $(PYTEST_ARGS)

# The first run seeds the demo data; later runs keep it, with whatever you
# changed (`make demo-reset` seeds it again). DEMO_ADDR=0.0.0.0:8080 make demo
# serves elsewhere. The new-device email is printed in this terminal.
demo: $(STAMP_DEMO)
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo --if-empty
	@$(MAKE) --no-print-directory demo-serve

demo-reset: $(STAMP_DEMO)
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	@$(MAKE) --no-print-directory demo-serve

demo-serve:
	@echo
	@echo "Demo running at http://$(DEMO_ADDR)/"
	@echo "  sign in at  http://$(DEMO_ADDR)/accounts/login/"
	@echo "  admin/admin (superuser)   alice/alice (has sessions on several devices)"
	@echo "  sign in as alice from a new browser (or a private window): the new-device email shows up here"
	@echo "  (the data is kept between runs; make demo-reset seeds it again)"
	@echo
	DEMO_ADDR=$(DEMO_ADDR) $(BIN)/python manage.py runserver $(DEMO_ADDR)

wheel-check: $(STAMP_PIP)
	rm -rf dist
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir dist .
	$(BIN)/python scripts/check_wheel.py dist/*.whl

clean:
	rm -rf $(VENV) dist build .nox .coverage htmlcov tests/artifacts *.egg-info \
		.mypy_cache .ruff_cache .pytest_cache example_project/db.sqlite3 example_project/sent_emails .django-suite
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# The self-service pages at 320-1280px, en/de, light/dark, and the new-device
# email, into docs/screenshots/ (needs Debian's chromium); then the hashes of
# the templates and CSS they show (docs/screenshots/SOURCES.json), which
# tests/pages/test_screenshots.py holds the committed images to.
.PHONY: screenshots
screenshots: venv
	$(BIN)/python scripts/screenshots.py
	$(BIN)/python scripts/email_screenshot.py
	$(BIN)/python scripts/screenshot_sources.py --write

# The docs site, in strict mode (a warning fails). The API page's tables come
# from docs/openapi.yaml, written here from the views, and docs/settings.md
# from the declarations in django_sessionmgr/conf.py; CI fails if either
# committed copy is stale.
STAMP_DOCS := $(VENV)/.installed-docs
.PHONY: docs
$(STAMP_DOCS): pyproject.toml $(STAMP_PIP)
	$(PIP) -e ".[openapi]" --group docs
	touch $@

docs: $(STAMP_DOCS)
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file docs/openapi.yaml
	@if [ "$${CI:-}" = "true" ]; then git diff --exit-code -- docs/openapi.yaml || \
		{ echo "docs/openapi.yaml is stale: run make docs and commit it." >&2; exit 1; }; fi
	$(BIN)/python -m scripts.settings_page $(if $(filter true,$(CI)),--check,--write)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
