#!/usr/bin/env bash
# Django's own tests with django-sessionmgr installed as the README says.
#
#   scripts/django_suite.sh [runtests.py labels and options]
#
# Downloads the sdist of the installed Django version once (cached in
# .django-suite/, gitignored), and runs runtests.py through django_suite/run.py.
# Default labels: auth_tests sessions_tests admin_views. Environment: PYTHON
# (default .venv/bin/python), DJANGO_SUITE_PARALLEL (default 1: an
# error the app raises inside a login can be unpicklable, which kills a parallel run),
# DJANGO_SUITE_BASELINE=1 for the same run without the app.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PYTHON="${PYTHON:-.venv/bin/python}"
CACHE="$ROOT/.django-suite"

version="$("$PYTHON" -c 'import django; print(django.__version__)')"
tests="$CACHE/django-$version/tests"
if [ ! -f "$tests/runtests.py" ]; then
    mkdir -p "$CACHE"
    "$PYTHON" -m pip download --quiet --no-binary :all: --no-deps "django==$version" \
        --dest "$CACHE" 2>&1 | grep -v "^WARNING: Location" >&2 || true
    tar -xzf "$CACHE/django-$version.tar.gz" -C "$CACHE" "django-$version/tests"
fi

[ "$#" -gt 0 ] || set -- auth_tests sessions_tests admin_views
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
exec "$PYTHON" -m django_suite.run "$tests" --settings=django_suite.settings \
    --parallel="${DJANGO_SUITE_PARALLEL:-1}" "$@"
