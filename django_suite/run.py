"""Run Django's own runtests.py with django-sessionmgr installed as the README says.

    python -m django_suite.run DJANGO_TESTS_DIR [runtests.py arguments]

runtests.py sets INSTALLED_APPS and MIDDLEWARE to its own lists just before it
calls ``django.setup()``. This wraps ``django.setup()`` to add, at that moment,
what the README's install adds: ``django.contrib.admin`` (autodiscovering
admin modules, where runtests has the bare SimpleAdminConfig),
``rest_framework``, ``django_sessionmgr``, and the middleware right after
AuthenticationMiddleware. Django's tests themselves are not touched.
``DJANGO_SUITE_BASELINE=1`` makes the same run without the app, so a failure
can be told apart from one stock Django has in this setting.
"""

from __future__ import annotations

import os
import runpy
import sys
from typing import Any

import django
from django.conf import settings

APPS = ["rest_framework", "django_sessionmgr"]
MIDDLEWARE = "django_sessionmgr.middleware.UserSessionMiddleware"
AFTER = "django.contrib.auth.middleware.AuthenticationMiddleware"
SIMPLE_ADMIN = "django.contrib.admin.apps.SimpleAdminConfig"


def install_app(apps: list[str], middleware: list[str], baseline: bool) -> None:
    """Change runtests.py's lists in place, as a project following the README would."""
    if SIMPLE_ADMIN in apps:
        apps[apps.index(SIMPLE_ADMIN)] = "django.contrib.admin"
    if baseline:
        return
    apps.extend(app for app in APPS if app not in apps)
    if MIDDLEWARE not in middleware:
        middleware.insert(middleware.index(AFTER) + 1, MIDDLEWARE)


def main() -> None:
    tests_dir = os.path.abspath(sys.argv[1])
    baseline = os.environ.get("DJANGO_SUITE_BASELINE") == "1"
    original_setup = django.setup

    def setup(*args: Any, **kwargs: Any) -> None:
        install_app(settings.INSTALLED_APPS, settings.MIDDLEWARE, baseline)
        original_setup(*args, **kwargs)

    django.setup = setup
    sys.path.insert(0, tests_dir)
    sys.argv = [os.path.join(tests_dir, "runtests.py"), *sys.argv[2:]]
    os.chdir(tests_dir)
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
