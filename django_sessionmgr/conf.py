"""Settings, read from ``settings.SESSIONMGR``.

Each value is converted once and kept until Django's ``setting_changed``
signal says ``SESSIONMGR`` changed (``override_settings``, pytest-django's
``settings`` fixture): the middleware reads some on every request. A change
that sends no signal (the dict edited in place) is not seen, as with DRF's
``api_settings``; docs/settings.md says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    "ACTIVITY_UPDATE_INTERVAL": 60,
    "TRUSTED_PROXY_COUNT": 0,
    "REVOKE_ON_PASSWORD_CHANGE": True,
    "RETENTION_DAYS": 90,
    "USER_ADMIN_INTEGRATION": True,
    "IP_ADDRESS_STORAGE": "full",
    "MAX_SESSIONS": None,
    "IDLE_TIMEOUT": None,
    "ABSOLUTE_TIMEOUT": None,
    "NOTIFY_NEW_DEVICE": False,
    "SHOW_IMPERSONATED_SESSIONS": True,
    "SITE_URL": None,
    "REAUTH_FOR_REVOKE_OTHERS": None,
    "NOTICE_SHOWS_FREE_TEXT_REASON": False,
}


T = TypeVar("T")


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _as_is(value: Any) -> Any:
    return value


class Kept(Generic[T]):
    """A setting read once and kept on the instance that holds it, where later
    reads find it as a plain attribute (no ``__set__`` here), until ``_forget``."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def read(self) -> T:
        raise NotImplementedError

    def __get__(self, instance: Any, owner: type) -> T:
        generation = _generation[0]
        value = self.read()
        if instance is not None and _generation[0] == generation:
            instance.__dict__[self.name] = value
            if _generation[0] != generation:  # changed while it was being kept
                instance.__dict__.pop(self.name, None)
        return value


#: Bumped by every change of a kept setting, so a value read before the
#: change is never kept after it (a thread may read while another overrides).
_generation = [0]


class Setting(Kept[T]):
    """One key of ``settings.SESSIONMGR``, converted to its type."""

    def __init__(self, convert: Callable[[Any], T], doc: str = "") -> None:
        self.convert = convert
        self.__doc__ = doc

    def read(self) -> T:
        return self.convert(settings_dict().get(self.name, DEFAULTS[self.name]))


class DjangoSetting(Kept[Any]):
    """One of Django's own settings that the middleware reads on every request
    (``LazySettings`` costs a Python-level lookup per read)."""

    def read(self) -> Any:
        return getattr(settings, self.name)


class PerRequestSettings:
    SESSION_COOKIE_AGE = DjangoSetting()
    SESSION_SAVE_EVERY_REQUEST = DjangoSetting()


#: Django's settings the middleware reads on every request.
per_request = PerRequestSettings()


def _forget(*, setting: str, **kwargs: Any) -> None:
    if setting == "SESSIONMGR":
        _generation[0] += 1
        app_settings.__dict__.clear()
    elif isinstance(vars(PerRequestSettings).get(setting), DjangoSetting):
        _generation[0] += 1
        per_request.__dict__.pop(setting, None)


setting_changed.connect(_forget, dispatch_uid="django_sessionmgr.conf")


def settings_dict() -> dict[str, Any]:
    value = getattr(settings, "SESSIONMGR", None)
    return value if isinstance(value, dict) else {}


class AppSettings:
    """Typed accessors over ``settings.SESSIONMGR``; every key is optional."""

    ACTIVITY_UPDATE_INTERVAL = Setting(int)
    TRUSTED_PROXY_COUNT = Setting(int)
    REVOKE_ON_PASSWORD_CHANGE = Setting(bool)
    RETENTION_DAYS = Setting(int)
    USER_ADMIN_INTEGRATION = Setting(bool)
    IP_ADDRESS_STORAGE = Setting(
        str, '``"full"``, ``"truncated"`` or ``"none"``; see ``network.stored_ip``.'
    )
    MAX_SESSIONS = Setting(
        _as_is, "An int, None, or a callable (or dotted path to one): see ``session_limit``."
    )
    IDLE_TIMEOUT = Setting(_optional_int)
    ABSOLUTE_TIMEOUT = Setting(_optional_int)
    SHOW_IMPERSONATED_SESSIONS = Setting(bool)
    NOTIFY_NEW_DEVICE = Setting(bool)
    SITE_URL = Setting(_as_is, "The base URL for links in emails, or None: see ``notifications``.")
    REAUTH_FOR_REVOKE_OTHERS = Setting(_optional_int)
    NOTICE_SHOWS_FREE_TEXT_REASON = Setting(bool)


app_settings = AppSettings()
