"""Integration suites: each ``test_<name>.py`` with a ``settings_<name>.py`` runs in
its own pytest process under those settings (``make test-integration``), since
the packages it installs bring their own apps and migrations. Under any other
settings module those files are left out; the rest run with the core suite.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

_HERE = Path(__file__).parent
_SUITES = [path.stem.removeprefix("settings_") for path in _HERE.glob("settings_*.py")]

collect_ignore = [
    f"test_{name}.py"
    for name in _SUITES
    if f"tests.integration.settings_{name}" != settings.SETTINGS_MODULE
]
