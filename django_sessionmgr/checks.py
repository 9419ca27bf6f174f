"""System checks: ``manage.py check`` explains a misconfiguration before it bites.

``AppConfig.ready`` imports this module, once the models are loaded; the bad
values of each setting are found from its declaration in ``conf``.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.cache import SessionStore as CacheStore
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.checks import CheckMessage, Error, Warning
from django.db import router
from django.utils.module_loading import import_string

from .conf import DECLARATIONS, DEFAULTS, AppSetting, django_settings
from .models import UserSession
from .setting_types import (
    Choice,
    ChoiceOrCallable,
    Origin,
    Seconds,
    SessionLimit,
    SettingType,
    Switch,
    WholeNumber,
    is_whole_number,
)
from .stores import PROCESS_LOCAL_CACHES, is_server_side, store_class

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
    middleware = list(django_settings.MIDDLEWARE or [])
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


class TypeCheck(NamedTuple):
    """The check that reports a value its declared type does not accept."""

    type: type[SettingType[Any]]
    id: str


TYPE_CHECKS = (
    TypeCheck(WholeNumber, id="django_sessionmgr.E004"),
    TypeCheck(Switch, id="django_sessionmgr.E005"),
    TypeCheck(Choice, id="django_sessionmgr.E007"),
    TypeCheck(SessionLimit, id="django_sessionmgr.E008"),
    TypeCheck(Seconds, id="django_sessionmgr.E009"),
    TypeCheck(Origin, id="django_sessionmgr.E013"),
    TypeCheck(ChoiceOrCallable, id="django_sessionmgr.E015"),
)


def type_check_id(setting: AppSetting[Any]) -> str:
    """The id of the check that reports a bad value of ``setting``."""
    [check_id] = [check.id for check in TYPE_CHECKS if isinstance(setting.type, check.type)]
    return check_id


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    value = django_settings.SESSIONMGR
    if not isinstance(value, dict):
        return [
            Error(
                "SESSIONMGR must be a dict.",
                hint="Set SESSIONMGR = {...} with the keys in the settings reference.",
                id="django_sessionmgr.E003",
            )
        ]
    errors: list[CheckMessage] = [
        _type_error(setting, value[setting.name])
        for setting in DECLARATIONS
        if setting.name in value and not setting.type.accepts(value[setting.name])
    ]
    errors.extend(_idle_shorter_than_interval(value))
    errors.extend(_no_base_url(value))
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


def _type_error(setting: AppSetting[Any], bad: Any) -> Error:
    """The error for a value its declaration's type does not accept."""
    key = f"SESSIONMGR[{setting.name!r}]"
    message = f"{key} is {bad!r}; it must be {setting.type.must_be}."
    return Error(
        f"{message} {setting.when_invalid}" if setting.when_invalid else message,
        hint=setting.type.hint(key, setting.default),
        id=type_check_id(setting),
    )


def _idle_shorter_than_interval(value: dict[str, Any]) -> list[CheckMessage]:
    idle = value.get("IDLE_TIMEOUT")
    interval = value.get("ACTIVITY_UPDATE_INTERVAL", DEFAULTS["ACTIVITY_UPDATE_INTERVAL"])
    if is_whole_number(idle, 1) and is_whole_number(interval, 0) and idle < interval:
        return [
            Error(
                f"SESSIONMGR['IDLE_TIMEOUT'] ({idle}s) is shorter than "
                f"ACTIVITY_UPDATE_INTERVAL ({interval}s): activity is recorded only that "
                "often, so the idle timeout could not be honoured.",
                hint=f"Raise IDLE_TIMEOUT to {interval} or more, or lower "
                "ACTIVITY_UPDATE_INTERVAL.",
                id="django_sessionmgr.E010",
            )
        ]
    return []


def _no_base_url(value: dict[str, Any]) -> list[CheckMessage]:
    """With ``NOTIFY_NEW_DEVICE`` on, emails need ``SITE_URL`` or the sites
    framework (never the request's ``Host``)."""
    if (
        value.get("NOTIFY_NEW_DEVICE") is True
        and value.get("SITE_URL") is None
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


def check_session_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A revoke deletes the session from the cache of the process that runs it:
    with a process-local cache the other processes keep serving it."""
    try:
        store = store_class()
    except ImportError:
        return []  # Django's own checks report a broken SESSION_ENGINE
    if not issubclass(store, CacheStore | CachedDBStore):
        return []
    alias = django_settings.SESSION_CACHE_ALIAS
    try:
        cache = caches[alias]
    except Exception:
        return []  # Django's own checks report a broken CACHES
    if not isinstance(cache, PROCESS_LOCAL_CACHES):
        return []
    backend = type(cache).__name__
    return [
        Warning(
            f"SESSION_ENGINE {django_settings.SESSION_ENGINE!r} keeps sessions in the cache "
            f"{alias!r}, which is {backend}: local to each process. "
            "A revoke in one process cannot reach a session cached in another.",
            hint="Use a shared cache (Redis, Memcached) for SESSION_CACHE_ALIAS, or the "
            "'db' session engine.",
            id="django_sessionmgr.W002",
        )
    ]


def check_database_routing(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Rows point at users: both tables must live in one database."""
    ours, users = router.db_for_write(UserSession), router.db_for_write(get_user_model())
    if ours == users:
        return []
    return [
        Error(
            f"Database routers send django_sessionmgr's table to {ours!r} and the user "
            f"table to {users!r}; a UserSession row must live beside its user.",
            hint="Route the 'django_sessionmgr' app to the same database as "
            f"{django_settings.AUTH_USER_MODEL}.",
            id="django_sessionmgr.E006",
        )
    ]


def check_session_reads(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A revoke deletes the stored session; a read from a replica that has not
    replayed the delete yet would load it again."""
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
                    f"writes to {write!r}. SESSION_ENGINE {django_settings.SESSION_ENGINE!r} loads "
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
                f"{django_settings.SESSION_ENGINE!r} reads sessions (or sign-out marks) from that "
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
    if is_server_side(store) and not issubclass(store, CacheStore | CachedDBStore):
        return None  # sessions and marks are read from the database or files
    alias = django_settings.SESSION_CACHE_ALIAS
    config = django_settings.CACHES.get(alias) or {}
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


#: Where the simplejwt pieces live (named, not imported: simplejwt is optional).
JWT_MODULE = "django_sessionmgr.tokens.jwt"
JWT_SERIALIZERS = {
    "TOKEN_OBTAIN_SERIALIZER": f"{JWT_MODULE}.SessionmgrTokenObtainPairSerializer",
    "TOKEN_REFRESH_SERIALIZER": f"{JWT_MODULE}.SessionmgrTokenRefreshSerializer",
    "TOKEN_BLACKLIST_SERIALIZER": f"{JWT_MODULE}.SessionmgrTokenBlacklistSerializer",
}
TOKEN_BLACKLIST_APP = "rest_framework_simplejwt.token_blacklist"


def _is_ours(name: str, configured: Any) -> bool:
    """Whether the serializer ``SIMPLE_JWT[name]`` is the app's, or a subclass of it."""
    if not configured:
        return False
    try:
        serializer = import_string(configured) if isinstance(configured, str) else configured
        return isinstance(serializer, type) and issubclass(
            serializer, import_string(JWT_SERIALIZERS[name])
        )
    except ImportError:
        return False  # simplejwt's own import of the setting reports it


def check_jwt(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """simplejwt token sessions need its blacklist (a revoke blacklists the
    family's refresh tokens) and all three serializers (one family, one row)."""
    simple_jwt, rest_framework = django_settings.SIMPLE_JWT, django_settings.REST_FRAMEWORK
    simple_jwt = simple_jwt if isinstance(simple_jwt, dict) else {}
    rest_framework = rest_framework if isinstance(rest_framework, dict) else {}
    classes = rest_framework.get("DEFAULT_AUTHENTICATION_CLASSES") or []
    ours = {name for name in JWT_SERIALIZERS if _is_ours(name, simple_jwt.get(name))}
    in_use = bool(ours) or any(str(path).startswith(f"{JWT_MODULE}.") for path in classes)
    if not in_use:
        return []
    if not apps.is_installed(TOKEN_BLACKLIST_APP):
        return [
            Error(
                f"simplejwt token sessions are set up ({JWT_MODULE}), but "
                f"{TOKEN_BLACKLIST_APP!r} is not installed: a revoke could not stop the "
                "family's refresh tokens.",
                hint=f"Add {TOKEN_BLACKLIST_APP!r} to INSTALLED_APPS and run migrate.",
                id="django_sessionmgr.E014",
            )
        ]
    if missing := sorted(set(JWT_SERIALIZERS) - ours):
        return [
            Warning(
                f"simplejwt token sessions are set up, but SIMPLE_JWT does not name the app's "
                f"{', '.join(missing)}: without the obtain one a login makes no row (its "
                "session is never listed), without the refresh one a refresh past a timeout "
                "is not refused, without the blacklist one simplejwt's logout does not end "
                "the row.",
                hint=" ".join(
                    f"Set SIMPLE_JWT[{name!r}] = {JWT_SERIALIZERS[name]!r}." for name in missing
                ),
                id="django_sessionmgr.W004",
            )
        ]
    return []


#: The app's allauth headless strategy (named, not imported: allauth is optional).
HEADLESS_STRATEGY = "django_sessionmgr.tokens.allauth_headless.SessionTokenStrategy"
ALLAUTH_SESSION_STRATEGY = "allauth.headless.tokens.strategies.sessions.SessionTokenStrategy"


def check_headless(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """allauth headless' app sessions get the timeouts and activity writes
    only through the app's session-token strategy."""
    if not apps.is_installed("allauth.headless"):
        return []
    clients = django_settings.HEADLESS_CLIENTS
    if not isinstance(clients, (list, tuple)) or "app" not in clients:
        return []
    path = django_settings.HEADLESS_TOKEN_STRATEGY or ALLAUTH_SESSION_STRATEGY
    try:
        strategy = import_string(path)
        allauths, ours = import_string(ALLAUTH_SESSION_STRATEGY), import_string(HEADLESS_STRATEGY)
    except (ImportError, TypeError, ValueError):
        return []  # allauth's own import of the setting reports it
    if not isinstance(strategy, type) or not issubclass(strategy, allauths):
        return []  # another kind of token (allauth's JWT strategy): not a session's
    if issubclass(strategy, ours):
        return []
    return [
        Warning(
            "allauth headless serves app clients with its session-token strategy: the apps' "
            "sessions are listed and revoked, but their activity is never written and "
            "IDLE_TIMEOUT and ABSOLUTE_TIMEOUT do not reach them.",
            hint=f"Set HEADLESS_TOKEN_STRATEGY = {HEADLESS_STRATEGY!r}.",
            id="django_sessionmgr.W005",
        )
    ]
