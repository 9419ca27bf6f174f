"""Settings, read live from ``settings.SESSIONMGR`` so ``override_settings`` works."""

from __future__ import annotations

from typing import Any

from django.conf import settings

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
}


class AppSettings:
    """Typed accessors over ``settings.SESSIONMGR``; every key is optional."""

    @property
    def user_settings(self) -> dict[str, Any]:
        value = getattr(settings, "SESSIONMGR", None)
        return value if isinstance(value, dict) else {}

    def get(self, name: str) -> Any:
        return self.user_settings.get(name, DEFAULTS[name])

    @property
    def ACTIVITY_UPDATE_INTERVAL(self) -> int:
        return int(self.get("ACTIVITY_UPDATE_INTERVAL"))

    @property
    def TRUSTED_PROXY_COUNT(self) -> int:
        return int(self.get("TRUSTED_PROXY_COUNT"))

    @property
    def REVOKE_ON_PASSWORD_CHANGE(self) -> bool:
        return bool(self.get("REVOKE_ON_PASSWORD_CHANGE"))

    @property
    def RETENTION_DAYS(self) -> int:
        return int(self.get("RETENTION_DAYS"))

    @property
    def USER_ADMIN_INTEGRATION(self) -> bool:
        return bool(self.get("USER_ADMIN_INTEGRATION"))

    @property
    def IP_ADDRESS_STORAGE(self) -> str:
        """``"full"``, ``"truncated"`` or ``"none"``; see ``network.stored_ip``."""
        return str(self.get("IP_ADDRESS_STORAGE"))

    @property
    def MAX_SESSIONS(self) -> Any:
        """An int, None, or a callable (or dotted path to one): see ``session_limit``."""
        return self.get("MAX_SESSIONS")

    @property
    def IDLE_TIMEOUT(self) -> int | None:
        value = self.get("IDLE_TIMEOUT")
        return None if value is None else int(value)

    @property
    def ABSOLUTE_TIMEOUT(self) -> int | None:
        value = self.get("ABSOLUTE_TIMEOUT")
        return None if value is None else int(value)

    @property
    def SHOW_IMPERSONATED_SESSIONS(self) -> bool:
        return bool(self.get("SHOW_IMPERSONATED_SESSIONS"))

    @property
    def NOTIFY_NEW_DEVICE(self) -> bool:
        return bool(self.get("NOTIFY_NEW_DEVICE"))


app_settings = AppSettings()
