"""Settings are converted once and kept until ``setting_changed``; never stale after it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.test import override_settings

from django_sessionmgr import conf
from django_sessionmgr.conf import app_settings, django_settings


def test_a_kept_setting_follows_override_settings() -> None:
    assert app_settings.IDLE_TIMEOUT is None
    with override_settings(SESSIONMGR={"IDLE_TIMEOUT": 600}):
        assert app_settings.IDLE_TIMEOUT == 600
    assert app_settings.IDLE_TIMEOUT is None
    with override_settings(SESSION_SAVE_EVERY_REQUEST=True):
        assert django_settings.SESSION_SAVE_EVERY_REQUEST is True
    assert django_settings.SESSION_SAVE_EVERY_REQUEST is False


@pytest.mark.parametrize(
    ("read", "override"),
    [
        (lambda: app_settings.IDLE_TIMEOUT, {"SESSIONMGR": {"IDLE_TIMEOUT": 600}}),
        (lambda: django_settings.SESSION_COOKIE_AGE, {"SESSION_COOKIE_AGE": 600}),
    ],
    ids=["SESSIONMGR", "SESSION_COOKIE_AGE"],
)
def test_a_value_read_while_another_thread_overrides_is_not_kept(
    monkeypatch: Any, read: Any, override: dict[str, Any]
) -> None:
    """A request thread reads the old value; a test thread overrides the setting
    before the read is kept: the old value must not outlive the override."""
    app_settings.__dict__.clear()
    conf.django_settings.__dict__.clear()
    have_read, go_on = threading.Event(), threading.Event()
    settings_dict, django_settings = conf.settings_dict, conf.settings

    class PausingSettings:
        """Django's settings, but the request thread waits after reading one."""

        def __getattr__(self, name: str) -> Any:
            value = getattr(django_settings, name)
            if threading.current_thread().name == "request":
                have_read.set()
                go_on.wait(5)
            return value

    def pausing_settings_dict() -> dict[str, Any]:
        value = settings_dict()
        if threading.current_thread().name == "request":
            have_read.set()
            go_on.wait(5)
        return value

    monkeypatch.setattr(conf, "settings_dict", pausing_settings_dict)
    monkeypatch.setattr(conf, "settings", PausingSettings())
    request = threading.Thread(target=read, name="request")
    request.start()
    assert have_read.wait(5)
    with override_settings(**override):
        go_on.set()
        request.join(5)
        assert read() == 600
