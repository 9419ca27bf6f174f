"""System checks: ``manage.py check`` explains a misconfiguration before it bites."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.checks import CheckMessage, Error, Warning
from django.utils.module_loading import import_string

from .conf import DEFAULTS
from .models import UserSession
from .network import IP_ADDRESS_STORAGE_MODES

MIDDLEWARE_PATH = "django_sessionmgr.middleware.UserSessionMiddleware"
AUTH_MIDDLEWARE_PATH = "django.contrib.auth.middleware.AuthenticationMiddleware"


def _index_of(middleware: list[str], base_path: str) -> int | None:
    """Position of ``base_path`` or a subclass of it in ``middleware``."""
    base = import_string(base_path)
    for index, path in enumerate(middleware):
        if path == base_path:
            return index
        try:
            candidate = import_string(path)
        except ImportError:
            continue
        if isinstance(candidate, type) and issubclass(candidate, base):
            return index
    return None


def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    ours = _index_of(middleware, MIDDLEWARE_PATH)
    if ours is None:
        return [
            Error(
                "UserSessionMiddleware is not in MIDDLEWARE.",
                hint=f"Add '{MIDDLEWARE_PATH}' to MIDDLEWARE, after '{AUTH_MIDDLEWARE_PATH}'.",
                id="django_sessionmgr.E001",
            )
        ]
    auth = _index_of(middleware, AUTH_MIDDLEWARE_PATH)
    if auth is None or auth > ours:
        return [
            Error(
                "UserSessionMiddleware must come after AuthenticationMiddleware.",
                hint=f"Move '{MIDDLEWARE_PATH}' below '{AUTH_MIDDLEWARE_PATH}' in MIDDLEWARE.",
                id="django_sessionmgr.E002",
            )
        ]
    return []


def _is_int(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    value = getattr(settings, "SESSIONMGR", {})
    if not isinstance(value, dict):
        return [
            Error(
                "SESSIONMGR must be a dict.",
                hint="Set SESSIONMGR = {...} with the keys in the settings reference.",
                id="django_sessionmgr.E003",
            )
        ]
    errors: list[CheckMessage] = []
    rules = [
        ("ACTIVITY_UPDATE_INTERVAL", 0, "a whole number of seconds, 0 or more"),
        ("TRUSTED_PROXY_COUNT", 0, "a whole number of proxies, 0 or more"),
        ("RETENTION_DAYS", 1, "a whole number of days, 1 or more"),
    ]
    for name, minimum, expected in rules:
        if name in value and not _is_int(value[name], minimum):
            errors.append(
                Error(
                    f"SESSIONMGR[{name!r}] is {value[name]!r}; it must be {expected}.",
                    hint=f"Set SESSIONMGR[{name!r}] to {expected}, or remove it "
                    f"for the default ({DEFAULTS[name]}).",
                    id="django_sessionmgr.E004",
                )
            )
    for name in (
        "REVOKE_ON_PASSWORD_CHANGE",
        "USER_ADMIN_INTEGRATION",
        "NOTIFY_NEW_DEVICE",
        "SHOW_IMPERSONATED_SESSIONS",
        "NOTICE_SHOWS_FREE_TEXT_REASON",
    ):
        if name in value and not isinstance(value[name], bool):
            errors.append(
                Error(
                    f"SESSIONMGR[{name!r}] is {value[name]!r}; it must be True or False.",
                    hint=f"Set SESSIONMGR[{name!r}] to True or False.",
                    id="django_sessionmgr.E005",
                )
            )
    storage = value.get("IP_ADDRESS_STORAGE", DEFAULTS["IP_ADDRESS_STORAGE"])
    if storage not in IP_ADDRESS_STORAGE_MODES:
        errors.append(
            Error(
                f"SESSIONMGR['IP_ADDRESS_STORAGE'] is {storage!r}; it must be "
                "'full', 'truncated' or 'none'. Until it is, no address is stored.",
                hint="Set SESSIONMGR['IP_ADDRESS_STORAGE'] to 'truncated' to keep only the "
                "network (IPv4 /24, IPv6 /48), to 'none' to keep no address, or remove it "
                "for the default ('full').",
                id="django_sessionmgr.E007",
            )
        )
    errors.extend(_policy_errors(value))
    errors.extend(_site_url_checks(value))
    unknown = sorted(set(value) - set(DEFAULTS))
    if unknown:
        errors.append(
            Warning(
                f"SESSIONMGR has unknown keys: {', '.join(map(str, unknown))}.",
                hint=f"Known keys: {', '.join(DEFAULTS)}. Check for typos.",
                id="django_sessionmgr.W001",
            )
        )
    return errors


def _policy_errors(value: dict[str, Any]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    limit = value.get("MAX_SESSIONS")
    if limit is not None and not _is_int(limit, 1) and not callable(limit):
        try:
            importable = isinstance(limit, str) and callable(import_string(limit))
        except ImportError:
            importable = False
        if not importable:
            errors.append(
                Error(
                    f"SESSIONMGR['MAX_SESSIONS'] is {limit!r}; it must be a whole number of "
                    "sessions, 1 or more, or a callable (or its dotted path) taking the user.",
                    hint="Set SESSIONMGR['MAX_SESSIONS'] to e.g. 5, to "
                    "'myproject.policies.max_sessions', or to None for no limit.",
                    id="django_sessionmgr.E008",
                )
            )
    for name in ("IDLE_TIMEOUT", "ABSOLUTE_TIMEOUT", "REAUTH_FOR_REVOKE_OTHERS"):
        timeout = value.get(name)
        if timeout is not None and not _is_int(timeout, 1):
            errors.append(
                Error(
                    f"SESSIONMGR[{name!r}] is {timeout!r}; it must be a whole number of "
                    "seconds, 1 or more.",
                    hint=f"Set SESSIONMGR[{name!r}] to e.g. 1800 (30 minutes), or to None "
                    "to turn it off.",
                    id="django_sessionmgr.E009",
                )
            )
    idle = value.get("IDLE_TIMEOUT")
    interval = value.get("ACTIVITY_UPDATE_INTERVAL", DEFAULTS["ACTIVITY_UPDATE_INTERVAL"])
    if _is_int(idle, 1) and _is_int(interval, 0) and idle < interval:
        errors.append(
            Error(
                f"SESSIONMGR['IDLE_TIMEOUT'] ({idle}s) is shorter than "
                f"ACTIVITY_UPDATE_INTERVAL ({interval}s): activity is recorded only that "
                "often, so the idle timeout could not be honoured.",
                hint=f"Raise IDLE_TIMEOUT to {interval} or more, or lower "
                "ACTIVITY_UPDATE_INTERVAL.",
                id="django_sessionmgr.E010",
            )
        )
    return errors


def _site_url_checks(value: dict[str, Any]) -> list[CheckMessage]:
    """``SITE_URL`` is an absolute http(s) URL; with ``NOTIFY_NEW_DEVICE`` on,
    emails need it or the sites framework (never the request's ``Host``)."""
    from django.apps import apps

    site_url = value.get("SITE_URL")
    if site_url is not None and not is_base_url(site_url):
        return [
            Error(
                f"SESSIONMGR['SITE_URL'] is {site_url!r}; it must be the site's origin: an "
                "http or https URL with a host and no path, such as 'https://example.com'.",
                hint="Set SESSIONMGR['SITE_URL'] to the address users reach the site at, or "
                "to None to use the sites framework.",
                id="django_sessionmgr.E013",
            )
        ]
    if (
        value.get("NOTIFY_NEW_DEVICE") is True
        and site_url is None
        and not apps.is_installed("django.contrib.sites")
    ):
        return [
            Warning(
                "NOTIFY_NEW_DEVICE is on, but the emails have no base URL for their "
                "links: SESSIONMGR['SITE_URL'] is not set and django.contrib.sites is not "
                "installed. The emails go out without the link to the sessions page.",
                hint="Set SESSIONMGR['SITE_URL'] = 'https://your.site', or install "
                "django.contrib.sites with the right domain. The request's Host header is "
                "never used: whoever signs in chooses it.",
                id="django_sessionmgr.W003",
            )
        ]
    return []


def is_base_url(value: Any) -> bool:
    from urllib.parse import urlsplit

    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.path in ("", "/")
        and not parts.query
        and not parts.fragment
    )


def check_session_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A revoke deletes the session from the cache of the process that runs it:
    with a process-local cache the other processes keep serving it."""
    from django.contrib.sessions.backends.cache import SessionStore as CacheStore
    from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore

    from .stores import PROCESS_LOCAL_CACHES, store_class

    try:
        store = store_class()
    except ImportError:
        return []  # Django's own checks report a broken SESSION_ENGINE
    if not issubclass(store, CacheStore | CachedDBStore):
        return []
    alias = getattr(settings, "SESSION_CACHE_ALIAS", "default")
    try:
        cache = caches[alias]
    except Exception:
        return []  # Django's own checks report a broken CACHES
    if not isinstance(cache, PROCESS_LOCAL_CACHES):
        return []
    backend = type(cache).__name__
    return [
        Warning(
            f"SESSION_ENGINE {settings.SESSION_ENGINE!r} keeps sessions in the cache "
            f"{alias!r}, which is {backend}: local to each process. "
            "A revoke in one process cannot reach a session cached in another.",
            hint="Use a shared cache (Redis, Memcached) for SESSION_CACHE_ALIAS, or the "
            "'db' session engine.",
            id="django_sessionmgr.W002",
        )
    ]


def check_database_routing(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Rows point at users: both tables must live in one database."""
    from django.contrib.auth import get_user_model
    from django.db import router

    ours, users = router.db_for_write(UserSession), router.db_for_write(get_user_model())
    if ours == users:
        return []
    return [
        Error(
            f"Database routers send django_sessionmgr's table to {ours!r} and the user "
            f"table to {users!r}; a UserSession row must live beside its user.",
            hint="Route the 'django_sessionmgr' app to the same database as "
            f"{settings.AUTH_USER_MODEL}.",
            id="django_sessionmgr.E006",
        )
    ]


def check_session_reads(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A revoke deletes the stored session; a read from a replica that has not
    replayed the delete yet would load it again."""
    from django.contrib.sessions.backends.db import SessionStore as DBStore
    from django.db import router

    from .stores import store_class

    try:
        store = store_class()
    except ImportError:
        return []  # Django's own checks report a broken SESSION_ENGINE
    errors: list[CheckMessage] = []
    if issubclass(store, DBStore):
        model = store.get_model_class()
        read, write = router.db_for_read(model), router.db_for_write(model)
        if read != write:
            errors.append(
                Error(
                    f"Database routers send reads of {model._meta.label} to {read!r} and its "
                    f"writes to {write!r}. SESSION_ENGINE {settings.SESSION_ENGINE!r} loads "
                    "each request's session with a read: from a replica that lags, a revoked "
                    "(deleted) session still loads.",
                    hint=f"Make db_for_read return {write!r} for {model._meta.label} "
                    "(the session engine's model); other models may still read from a replica.",
                    id="django_sessionmgr.E011",
                )
            )
    if (replicas := _cache_replicas(store)) is not None:
        alias, count = replicas
        errors.append(
            Error(
                f"SESSION_CACHE_ALIAS {alias!r} is a RedisCache with {count} LOCATION entries: it "
                "writes to the first and reads from the others. SESSION_ENGINE "
                f"{settings.SESSION_ENGINE!r} reads sessions (or sign-out marks) from that "
                "cache, so a replica that lags still serves a revoked session.",
                hint=f"Give CACHES[{alias!r}] one LOCATION (the primary), or point "
                "SESSION_CACHE_ALIAS at a cache that has one; keep read replicas for "
                "other caches.",
                id="django_sessionmgr.E012",
            )
        )
    return errors


#: Cache backends, besides Django's RedisCache, that write to their first
#: LOCATION and read from the others.
REPLICATED_CACHE_BACKENDS = ("django_redis.cache.RedisCache",)


def _cache_replicas(store: type[Any]) -> tuple[str, int] | None:
    """``(alias, LOCATION count)`` when the engine reads sessions or sign-out
    marks from a cache that reads from replicas; else None."""
    from django.contrib.sessions.backends.cache import SessionStore as CacheStore
    from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore

    from .stores import is_server_side

    if is_server_side(store) and not issubclass(store, CacheStore | CachedDBStore):
        return None  # sessions and marks are read from the database or files
    alias = getattr(settings, "SESSION_CACHE_ALIAS", "default")
    config = getattr(settings, "CACHES", {}).get(alias) or {}
    if config.get("BACKEND") not in REPLICATED_CACHE_BACKENDS:
        try:
            if not isinstance(caches[alias], RedisCache):
                return None
        except Exception:
            return None  # Django's own checks report a broken CACHES
    location = config.get("LOCATION") or []
    servers = re.split("[;,]", location) if isinstance(location, str) else list(location)
    count = len([server for server in servers if server])
    return (alias, count) if count > 1 else None
