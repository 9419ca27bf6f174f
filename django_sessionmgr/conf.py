"""The app's settings: one declaration per key of ``settings.SESSIONMGR``, and
one accessor per Django setting the app reads.

Each ``SESSIONMGR`` key is declared once, in ``AppSettings``: its type (with
its bounds or choices), its default and its doc. From those declarations come
``DEFAULTS``, the converted values ``app_settings`` serves, the type checks of
``checks.check_settings`` and the settings page (``scripts/settings_page.py``
writes docs/settings.md).

A value is converted once and cached until Django's ``setting_changed`` signal
says the setting changed (``override_settings``, pytest-django's ``settings``
fixture): the middleware reads some on every request. A change that sends no
signal (the dict edited in place) is not seen, as with DRF's ``api_settings``;
docs/settings.md says so.
"""

from __future__ import annotations

from typing import Any, Generic, Self, TypeVar, overload

from django.conf import settings
from django.core.signals import setting_changed

from .setting_types import (
    Choice,
    ChoiceOrCallable,
    Origin,
    Seconds,
    SessionLimit,
    SettingType,
    Switch,
    WholeNumber,
)

T = TypeVar("T")

#: Marks a Django setting that has no default in ``django.conf.global_settings``.
_REQUIRED: Any = object()


class SettingChanges:
    """How many times a cached setting has changed, so that a value read before
    a change is never cached after it (a thread may read while another overrides)."""

    count = 0


changes = SettingChanges()


class CachedSetting(Generic[T]):
    """A setting read once and then cached on the instance that holds it, where
    later reads find it as a plain attribute (no ``__set__`` here), until
    ``_forget_changed`` drops it."""

    name: str

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def read(self) -> T:
        raise NotImplementedError

    @overload
    def __get__(self, instance: None, owner: type) -> Self: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object | None, owner: type) -> Self | T:
        if instance is None:
            return self
        seen = changes.count
        value = self.read()
        if changes.count == seen:
            instance.__dict__[self.name] = value
            if changes.count != seen:  # changed while it was being cached
                instance.__dict__.pop(self.name, None)
        return value


class AppSetting(CachedSetting[T]):
    """The declaration of one key of ``settings.SESSIONMGR``, and its cached value."""

    def __init__(
        self, type: SettingType[T], *, default: T, doc: str, when_invalid: str = ""
    ) -> None:
        self.type = type
        self.default = default
        self.doc = self.__doc__ = doc
        #: Appended to the check's message: what the app does meanwhile.
        self.when_invalid = when_invalid

    def read(self) -> T:
        return self.type.convert(settings_dict().get(self.name, self.default))


class AppSettings:
    """The keys of ``settings.SESSIONMGR``, in the settings page's order; every
    key is optional. Each ``doc`` is the page's "Meaning" (Markdown)."""

    ACTIVITY_UPDATE_INTERVAL = AppSetting(
        WholeNumber("seconds", minimum=0),
        default=60,
        doc=(
            "Seconds; a session's `last_activity_at` (and the recorded expiry) is written at most "
            "this often. Between two writes, an authenticated request costs no query on the "
            "server-side engines."
        ),
    )
    TRUSTED_PROXY_COUNT = AppSetting(
        WholeNumber("proxies", minimum=0),
        default=0,
        doc=(
            "Number of reverse proxies in front of Django. With `0`, `X-Forwarded-For` is "
            "ignored. Otherwise the client IP is the n-th entry from the right of that header "
            "(the one the outermost trusted proxy wrote); anything further left could come from "
            "the client and is ignored. A malformed header falls back to `REMOTE_ADDR`."
        ),
    )
    REVOKE_ON_PASSWORD_CHANGE = AppSetting(
        Switch(),
        default=True,
        doc=(
            "When a user's password changes (`set_password()` then `save()`, from any view, the "
            'admin or a script), revoke their other sessions with reason `"password_change"`, '
            "token sessions included. The session that made the change stays signed in (a token "
            "session, when its own token authenticated the request). Off, Django still signs the "
            "other browser sessions out (their session auth hash no longer matches), but API "
            "tokens go on working: they carry no password hash."
        ),
    )
    RETENTION_DAYS = AppSetting(
        WholeNumber("days", minimum=1),
        default=90,
        doc=(
            "Ended, expired and revoked rows older than this are deleted by "
            "[`sessionmgr_prune`](commands.md#sessionmgr_prune)."
        ),
    )
    USER_ADMIN_INTEGRATION = AppSetting(
        Switch(),
        default=True,
        doc=(
            "Add a read-only table of the user's 20 most recent sessions and a \"Revoke all "
            'sessions of selected users" action to the stock `UserAdmin`. Read once, when the '
            "admin is imported; see [Django admin](admin.md#the-users-page)."
        ),
    )
    IP_ADDRESS_STORAGE = AppSetting(
        Choice(
            full="to keep the whole address",
            truncated="to keep only the network (IPv4 /24, IPv6 /48)",
            none="to keep no address",
        ),
        default="full",
        when_invalid="Until it is, no address is stored.",
        doc=(
            'How much of a session\'s IP address is stored and shown: `"full"`, `"truncated"` '
            '(IPv4 /24, IPv6 /48; an IPv4-mapped IPv6 address as IPv4) or `"none"`. GeoIP still '
            "uses the full address at login. See "
            "[policies](policies.md#privacy-ip-address-storage)."
        ),
    )
    MAX_SESSIONS = AppSetting(
        SessionLimit(),
        default=None,
        doc=(
            "An int, or a callable (or its dotted path) taking the user and returning an int or "
            "`None`. A login past it revokes the user's least recently active other sessions, "
            'reason `"session_limit"`. See [policies](policies.md).'
        ),
    )
    TOKENS_COUNT_TOWARD_MAX_SESSIONS = AppSetting(
        Switch(),
        default=True,
        doc=(
            "Whether token sessions (API tokens, app logins: see [token sessions](tokens.md)) "
            "count toward `MAX_SESSIONS`. On, a login of any kind past the limit revokes the "
            "user's least recently active other sessions, tokens included. Off, only browser "
            "sessions count and are revoked, and obtaining a token applies no limit."
        ),
    )
    IDLE_TIMEOUT = AppSetting(
        Seconds(),
        default=None,
        doc=(
            "Seconds without a request after which a session ends (honoured to within "
            "`ACTIVITY_UPDATE_INTERVAL`, never sooner). See [policies](policies.md)."
        ),
    )
    ABSOLUTE_TIMEOUT = AppSetting(
        Seconds(),
        default=None,
        doc=(
            "Seconds after login after which a session ends, however active. See "
            "[policies](policies.md)."
        ),
    )
    NOTIFY_NEW_DEVICE = AppSetting(
        Switch(),
        default=False,
        doc=(
            "Email the user when they sign in from a browser their account has not used before "
            "(their first sign-in excepted); see [New-device email](notifications.md). The "
            "`new_device_signed_in` signal is sent either way."
        ),
    )
    SHOW_IMPERSONATED_SESSIONS = AppSetting(
        Switch(),
        default=True,
        doc=(
            "Whether a user's own list (pages and API) shows the sessions staff started while "
            "acting as them (django-hijack, or [the hook](security.md#impersonation)). Shown by "
            "default: the user's right to know wins."
        ),
    )
    SITE_URL = AppSetting(
        Origin(),
        default=None,
        doc=(
            'The site\'s origin, such as `"https://example.com"` (scheme and host, no path), that '
            "links in emails start from. Unset, the current `Site` of `django.contrib.sites` is "
            "used (`https://` + its domain, from `SITE_ID`). Never the request's `Host` header, "
            "which whoever signs in chooses. With `NOTIFY_NEW_DEVICE` on and neither set, check "
            "`W003` warns and the emails carry no link."
        ),
    )
    REAUTH_FOR_REVOKE_OTHERS = AppSetting(
        Seconds(),
        default=None,
        doc=(
            'Seconds. When set, "sign out all other sessions" (page and API) first asks for the '
            "password unless the user signed in (or re-entered it) within this many seconds "
            "(OWASP ASVS 3.7.1). See "
            "[security](security.md#re-authentication-before-signing-out-everywhere-else)."
        ),
    )
    NOTICE_SHOWS_FREE_TEXT_REASON = AppSetting(
        Switch(),
        default=False,
        doc=(
            'Whether users see staff\'s free-text revoke reason: in the "you were signed out" '
            "notice (page message, API error), their own session lists (`revoke_reason`, "
            '`revoke_reason_display`) and pages. Off, they read "Ended by an administrator" (code '
            "`admin`): whoever presents the dead cookie reads the notice, often the thief whose "
            "stolen cookie was revoked, and anyone with the password reads the lists. Staff "
            "always see the text (admin, staff API). Staff cannot record one of the app's own "
            "codes (`user`, `password_change`, …) as their reason: that is a 400, or a command "
            "error."
        ),
    )

    ANOMALY_DETECTION = AppSetting(
        Switch(),
        default=True,
        doc=(
            "Look for signs of a stolen session: impossible travel (one session used from two "
            "places too far apart for the time between them) and a sign-in from a new country. "
            "Needs GeoIP (`GEOIP_PATH`); without it nothing is found. See "
            "[theft signals](anomalies.md)."
        ),
    )
    MAX_TRAVEL_SPEED_KMH = AppSetting(
        WholeNumber("km/h", minimum=1),
        default=1000,
        doc=(
            "Kilometres per hour (a plane's speed). A session seen in two places farther apart "
            "than this speed allows for the time between them (less GeoIP's error radius) is "
            'flagged `"impossible_travel"`.'
        ),
    )
    NEW_COUNTRY_DAYS = AppSetting(
        WholeNumber("days", minimum=1),
        default=90,
        doc=(
            "A sign-in from a country that none of the user's sessions of this many days came "
            'from is flagged `"new_country"` (a user\'s first sign-in excepted).'
        ),
    )
    ANOMALY_ACTION = AppSetting(
        ChoiceOrCallable(
            "myproject.risk.decide",
            flag="to only flag the session",
            revoke='to revoke an impossible-travel session (reason `"suspicious"`)',
        ),
        default="flag",
        doc=(
            'What happens to a session flagged `"impossible_travel"`: `"flag"` records it and '
            'sends `session_anomaly`; `"revoke"` also revokes it (reason `"suspicious"`). Or a '
            "callable (or its dotted path) taking `(session, kind, request)` and returning "
            '`"flag"` or `"revoke"`: your own risk engine. See [theft signals](anomalies.md).'
        ),
    )


app_settings = AppSettings()

#: Every declaration, in order.
DECLARATIONS: tuple[AppSetting[Any], ...] = tuple(
    value for value in vars(AppSettings).values() if isinstance(value, AppSetting)
)
DEFAULTS: dict[str, Any] = {setting.name: setting.default for setting in DECLARATIONS}


class CachedDjangoSetting(CachedSetting[T]):
    """One of Django's own settings that the middleware reads on every request
    (``LazySettings`` costs a Python-level lookup per read)."""

    def read(self) -> T:
        value: T = getattr(settings, self.name)
        return value


class DjangoSetting(Generic[T]):
    """One of Django's settings (or the project's), read afresh every time."""

    name: str

    def __init__(self, default: Any = _REQUIRED) -> None:
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: object | None, owner: type) -> T:
        value: T = (
            getattr(settings, self.name)
            if self.default is _REQUIRED
            else getattr(settings, self.name, self.default)
        )
        return value


class DjangoSettings:
    """The settings outside ``SESSIONMGR`` that the app reads, one accessor each."""

    SESSION_COOKIE_AGE = CachedDjangoSetting[int]()
    SESSION_SAVE_EVERY_REQUEST = CachedDjangoSetting[bool]()
    SESSION_ENGINE = DjangoSetting[str]()
    SESSION_CACHE_ALIAS = DjangoSetting[str]()
    SESSION_COOKIE_DOMAIN = DjangoSetting[str | None]()
    SESSION_COOKIE_PATH = DjangoSetting[str]()
    SECRET_KEY = DjangoSetting[str]()
    SECRET_KEY_FALLBACKS = DjangoSetting[list[str]]()
    AUTH_USER_MODEL = DjangoSetting[str]()
    USE_TZ = DjangoSetting[bool]()
    LOGOUT_REDIRECT_URL = DjangoSetting[str | None]()
    MIDDLEWARE = DjangoSetting[list[str] | None]()
    CACHES = DjangoSetting[dict[str, Any]]()
    GEOIP_PATH = DjangoSetting[Any](default=None)
    GEOIP_CITY = DjangoSetting[str | None](default=None)
    GEOIP_COUNTRY = DjangoSetting[str | None](default=None)
    #: As the project wrote it (``check_settings`` reports one that is not a dict).
    SESSIONMGR = DjangoSetting[Any](default={})
    #: DRF's and simplejwt's, as the project wrote them (``checks.check_jwt``).
    REST_FRAMEWORK = DjangoSetting[Any](default=None)
    SIMPLE_JWT = DjangoSetting[Any](default=None)
    #: allauth headless', as the project wrote them (``checks.check_headless``).
    HEADLESS_CLIENTS = DjangoSetting[Any](default=("app", "browser"))
    HEADLESS_TOKEN_STRATEGY = DjangoSetting[Any](default=None)


django_settings = DjangoSettings()


def settings_dict() -> dict[str, Any]:
    """``settings.SESSIONMGR``, or no keys when it is not a dict."""
    value = django_settings.SESSIONMGR
    return value if isinstance(value, dict) else {}


def _forget_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "SESSIONMGR":
        changes.count += 1
        app_settings.__dict__.clear()
    elif isinstance(vars(DjangoSettings).get(setting), CachedDjangoSetting):
        changes.count += 1
        django_settings.__dict__.pop(setting, None)


setting_changed.connect(_forget_changed, dispatch_uid="django_sessionmgr.conf")
