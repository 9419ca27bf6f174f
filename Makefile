PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Redone only when the dependencies in pyproject.toml change.
STAMP := $(VENV)/.installed
DEMO_ADDR ?= 127.0.0.1:8000
PYTEST_ARGS ?=

.PHONY: venv test lint matrix demo clean wheel-check

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,lint,demo]"
	touch $(STAMP)

test: venv
	$(BIN)/python -m pytest --cov=django_sessionmgr --cov-branch --cov-report=term-missing $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy django_sessionmgr

matrix: venv
	$(BIN)/nox

demo: venv
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	@echo
	@echo "Demo running at http://$(DEMO_ADDR)/"
	@echo "  sign in at  http://$(DEMO_ADDR)/accounts/login/"
	@echo "  admin/admin (superuser)   alice/alice (has sessions on several devices)"
	@echo
	$(BIN)/python manage.py runserver $(DEMO_ADDR)

wheel-check: venv
	rm -rf dist
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir dist .
	$(BIN)/python scripts/check_wheel.py dist/*.whl

clean:
	rm -rf $(VENV) dist build .nox .coverage htmlcov tests/artifacts *.egg-info \
		.mypy_cache .ruff_cache .pytest_cache example_project/db.sqlite3
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# The self-service pages at 320-1280px, en/de, light/dark, into docs/screenshots/ (needs Debian's chromium).
.PHONY: screenshots
screenshots: venv
	$(BIN)/python scripts/screenshots.py
