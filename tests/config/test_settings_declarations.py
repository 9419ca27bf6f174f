"""Each setting is declared once, in ``conf.AppSettings``: its default is valid,
the system checks report a bad value of each type, the settings page is the
one the declarations write, and the app reads Django's settings through conf."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.conf import settings as project_settings
from django.core.checks import run_checks
from django.test import override_settings

from django_sessionmgr.checks import TYPE_CHECKS, type_check_id
from django_sessionmgr.conf import (
    DECLARATIONS,
    DEFAULTS,
    AppSetting,
    DjangoSettings,
    app_settings,
    django_settings,
)
from django_sessionmgr.setting_types import (
    Choice,
    ChoiceOrCallable,
    Origin,
    Seconds,
    SessionLimit,
    Switch,
    WholeNumber,
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "django_sessionmgr"
SCRIPT = ROOT / "scripts" / "settings_page.py"

#: A value each type refuses, and one it refuses for another reason.
BAD_VALUES: dict[type[Any], list[Any]] = {
    WholeNumber: ["60", 1.5, True, -1, None],
    Switch: ["yes", 1, None],
    Seconds: [0, "300", 1.5, True],
    Choice: ["Full", None, ["full"]],
    SessionLimit: [0, "no.such.module.limit", 2.5, True],
    Origin: ["example.com", "https://x.test/app/", 7],
    ChoiceOrCallable: ["Revoke", None, 3, "no.such.module.decide"],
}


def our_ids() -> list[str]:
    return [m.id for m in run_checks() if m.id and m.id.startswith("django_sessionmgr.")]


def by_name(setting: AppSetting[Any]) -> str:
    return setting.name


def test_every_setting_has_a_doc_and_a_type_with_a_check() -> None:
    assert [setting.name for setting in DECLARATIONS] == list(DEFAULTS)
    for setting in DECLARATIONS:
        assert setting.doc.strip(), setting.name
        assert type(setting.type) in BAD_VALUES, setting.name
        assert type_check_id(setting) in {check.id for check in TYPE_CHECKS}


@pytest.mark.parametrize("setting", DECLARATIONS, ids=by_name)
def test_the_default_is_within_the_declared_bounds(setting: AppSetting[Any]) -> None:
    assert setting.type.accepts(setting.default)
    assert getattr(app_settings, setting.name) == setting.default
    with override_settings(SESSIONMGR={setting.name: setting.default}):
        assert our_ids() == []
        assert getattr(app_settings, setting.name) == setting.default


@pytest.mark.parametrize(
    ("setting", "bad"),
    [(setting, bad) for setting in DECLARATIONS for bad in BAD_VALUES[type(setting.type)]],
    ids=lambda value: value.name if isinstance(value, AppSetting) else repr(value),
)
def test_a_bad_value_of_each_setting_is_its_types_check_error(
    settings: Any, setting: AppSetting[Any], bad: Any
) -> None:
    settings.SESSIONMGR = {setting.name: bad}

    [message] = [m for m in run_checks() if m.id == type_check_id(setting)]
    assert our_ids() == [type_check_id(setting)]
    assert message.msg.startswith(f"SESSIONMGR[{setting.name!r}] is {bad!r}; it must be ")
    assert setting.name in message.hint


def test_the_messages_name_what_is_expected(settings: Any) -> None:
    settings.SESSIONMGR = {"RETENTION_DAYS": 0, "IP_ADDRESS_STORAGE": "partial"}

    messages = {m.id: m for m in run_checks()}
    assert messages["django_sessionmgr.E004"].msg == (
        "SESSIONMGR['RETENTION_DAYS'] is 0; it must be a whole number of days, 1 or more."
    )
    assert messages["django_sessionmgr.E004"].hint == (
        "Set SESSIONMGR['RETENTION_DAYS'] to a whole number of days, 1 or more, "
        "or remove it for the default (90)."
    )
    assert messages["django_sessionmgr.E007"].msg == (
        "SESSIONMGR['IP_ADDRESS_STORAGE'] is 'partial'; it must be 'full', 'truncated' or "
        "'none'. Until it is, no address is stored."
    )
    assert messages["django_sessionmgr.E007"].hint == (
        "Set SESSIONMGR['IP_ADDRESS_STORAGE'] to 'truncated' to keep only the network "
        "(IPv4 /24, IPv6 /48), to 'none' to keep no address, or remove it for the "
        "default ('full')."
    )


def settings_page_script() -> ModuleType:
    if not SCRIPT.exists():
        pytest.skip("scripts/ is not in this checkout (an sdist)")
    spec = importlib.util.spec_from_file_location("settings_page", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_settings_page_is_the_one_the_declarations_write() -> None:
    """Run ``python -m scripts.settings_page --write`` (``make docs``) after
    changing a declaration, and commit docs/settings.md."""
    written = settings_page_script().page()

    assert (ROOT / "docs" / "settings.md").read_text(encoding="utf-8") == written
    for setting in DECLARATIONS:
        assert f"| `{setting.name}` |" in written
        assert setting.doc in written


@pytest.mark.parametrize("name", [n for n in vars(DjangoSettings) if n.isupper()])
def test_each_django_setting_accessor_reads_the_setting(name: str) -> None:
    value = getattr(django_settings, name)
    assert value == getattr(project_settings, name, value)
    with override_settings(**{name: "changed"}):
        assert getattr(django_settings, name) == "changed"
    assert getattr(django_settings, name) == value


def test_the_package_reads_djangos_settings_only_through_conf() -> None:
    readers = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts
        and "from django.conf import settings" in path.read_text(encoding="utf-8")
    )
    assert readers == ["conf.py"]


@pytest.mark.parametrize(
    "module",
    ["conf.py", "setting_types.py", "checks.py", "stores.py", "keys.py", "bulk_delete.py"],
)
def test_no_import_inside_a_function(module: str) -> None:
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    nested = [
        f"{function.name}:{node.lineno}"
        for function in functions
        for node in ast.walk(function)
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert nested == []
