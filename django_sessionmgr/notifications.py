"""New-device sign-ins: recognise the browser, send ``new_device_signed_in``,
and (with ``NOTIFY_NEW_DEVICE``) email the user.

A browser is recognised by a long-lived signed cookie listing a short keyed
tag per account that signed in with it: no username, email or user id, and
useless without ``SECRET_KEY``. A browser without the cookie (cleared, or
from before the app sent it) is known only if one of the account's earlier
sign-ins (not staff impersonating the user) had both its fingerprint (browser
family, operating system and device) and its address, as stored: a user agent
alone is whatever the client claims, so a new address is a new device. The
address is where that session signed in, never where it was last seen, which
anyone holding a stolen cookie moves.

Links in the email start from a configured base URL (``SITE_URL``, else the
sites framework), never from the request's ``Host``, which whoever signs in
chooses. Names the client reports (user agent, client hints) never reach the
Subject.

A sign-in from a new country (``anomalies``) is looked for first, so that
the one email names it too.

All of it runs at login only; no other request pays for it.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.apps import apps
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives
from django.db import connections, router, transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .anomalies import check_new_country
from .conf import app_settings, django_settings
from .devices import device_name
from .models import FlagReason, UserSession, column
from .network import stored_ip
from .safety import contained
from .signals import new_device_signed_in
from .state import request_state

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest, HttpResponseBase


logger = logging.getLogger("django_sessionmgr")

#: The cookie that remembers which accounts signed in with this browser.
DEVICE_COOKIE = "sessionmgr_device"
DEVICE_COOKIE_SALT = "django_sessionmgr.device"
#: Long enough to recognise a browser used a few times a year.
DEVICE_COOKIE_MAX_AGE = 2 * 365 * 24 * 60 * 60
#: Accounts one browser remembers; the oldest go first.
MAX_ACCOUNTS_PER_DEVICE = 20

TEMPLATE_SUBJECT = "django_sessionmgr/email/new_device_subject.txt"
TEMPLATE_TEXT = "django_sessionmgr/email/new_device.txt"
TEMPLATE_HTML = "django_sessionmgr/email/new_device.html"

_VERSION = re.compile(r"\s+\d[\w.]*$")


def account_tag(user_pk: Any) -> str:
    """A keyed tag of the account: the same for one user, and says nothing about them."""
    return salted_hmac(DEVICE_COOKIE_SALT, str(user_pk), algorithm="sha256").hexdigest()[:20]


def known_tags(request: HttpRequest) -> list[str] | None:
    """The tags in the request's device cookie; None when it has no valid one."""
    raw = request.COOKIES.get(DEVICE_COOKIE) if hasattr(request, "COOKIES") else None
    if not raw:
        return None
    try:
        value = signing.loads(raw, salt=DEVICE_COOKIE_SALT, max_age=DEVICE_COOKIE_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(value, list):
        return None
    return [tag for tag in value if isinstance(tag, str)][-MAX_ACCOUNTS_PER_DEVICE:]


def fingerprint(browser: str, os: str, device: str) -> tuple[str, str, str]:
    """What stays the same across a browser's updates: its family, the OS and the device."""
    return _VERSION.sub("", browser), os, device


def is_new_device(request: HttpRequest, user: AbstractBaseUser, row: UserSession) -> bool:
    """Whether ``row``'s login came from a browser this account never signed in with.

    A user's very first sign-in is not a new device: there is nothing to compare with.
    """
    tags = known_tags(request)
    if tags is not None and account_tag(user.pk) in tags:
        return False
    signed_in_before, seen = _earlier_logins(user, row)
    if not signed_in_before and not _joined_long_ago(user):
        return False  # the first sign-in
    if tags is not None:
        return True  # the browser keeps the cookie, and this account is not in it
    return not seen  # known only from the same fingerprint and a known address


def _joined_long_ago(user: AbstractBaseUser) -> bool:
    """Whether the account is older than ``RETENTION_DAYS``: its earlier
    sign-ins may have been pruned, so a sign-in with no rows left (a dormant
    account's) is not taken for its first. A younger account's rows are all
    still there."""
    joined = getattr(user, "date_joined", None)
    retention = timedelta(days=app_settings.RETENTION_DAYS)
    return isinstance(joined, datetime) and joined < timezone.now() - retention


@lru_cache(maxsize=8)
def _earlier_logins_sql(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    table = quote(UserSession._meta.db_table)
    pk, user = quote(column("id")), quote(column("user"))
    os, device, browser = (quote(column(f"device_{name}")) for name in ("os", "family", "browser"))
    ip = quote(column("ip_address"))
    digits = ", ".join(f"'{digit}'" for digit in range(10))
    # The user's own sign-ins: staff impersonating them are not their devices.
    impersonator = quote(column("impersonated_by"))
    earlier = f"SELECT 1 FROM {table} WHERE {user} = %s AND {pk} <> %s AND {impersonator} IS NULL"
    # The browser's name alone, or the name, a space and a version: a digit
    # first and no space after it (see ``fingerprint``).
    same_browser = (
        f"({browser} = %s OR ({browser} LIKE %s ESCAPE '!' AND {browser} NOT LIKE %s ESCAPE '!'"
        f" AND SUBSTR({browser}, %s, 1) IN ({digits})))"
    )
    # Where the user signed in, not where a session was last seen: anyone
    # holding a stolen cookie moves that.
    known_address = f"{ip} = %s"
    same = f"{earlier} AND {os} = %s AND {device} = %s AND {same_browser} AND {known_address}"
    return f"SELECT EXISTS({earlier}), EXISTS({same})"


def _earlier_logins(user: AbstractBaseUser, row: UserSession) -> tuple[bool, bool]:
    """Whether the account has other rows, and whether one has ``row``'s
    fingerprint and was seen from its address (as stored: the network with
    truncated addresses; never, with none).

    One query of two ``EXISTS``, each stopping at the first row it finds, over
    all of the account's rows. Raw SQL: building it with the ORM cost more
    than running it, and reading the account's fingerprints into Python to
    compare them there cost more than the login's own INSERT.
    """

    alias = router.db_for_read(UserSession)
    connection = connections[alias]
    user_pk = UserSession._meta.get_field("user").target_field.get_db_prep_value(
        user.pk, connection
    )
    row_pk = UserSession._meta.pk.get_db_prep_value(row.pk, connection)
    browser, os, device = fingerprint(row.device_browser, row.device_os, row.device_family)
    prefix = re.sub(r"([!%_])", r"!\1", browser) + " "
    params = [user_pk, row_pk, user_pk, row_pk, os, device]
    params += [browser, prefix + "%", prefix + "% %", len(prefix) + 1]
    # No address (IP_ADDRESS_STORAGE "none") is None here: "= NULL" matches nothing.
    address = UserSession._meta.get_field("ip_address").get_db_prep_value(
        row.ip_address, connection
    )
    params += [address]
    with connection.cursor() as cursor:
        cursor.execute(_earlier_logins_sql(alias), params)
        signed_in_before, seen = cursor.fetchone()
    return bool(signed_in_before), bool(seen)


def notify_if_new_device(request: HttpRequest, user: AbstractBaseUser, row: UserSession) -> None:
    """Look for a sign-in from a new country (see ``anomalies``), then send
    ``new_device_signed_in`` for a new row if its browser is new to the
    account: its email names the new country too, never in a second email.

    A failure to decide is logged and never fails the login.
    """

    def new_country() -> bool:
        return check_new_country(request, row)

    contained(new_country, default=False, what="look for a sign-in from a new country")
    if not anyone_listens(type(row)):
        return  # the check's query would tell no one anything

    def decide() -> bool:
        return is_new_device(request, user, row)

    if contained(decide, default=False, what="recognise the device of a login", writes=False):
        new_device_signed_in.send(sender=type(row), session=row, request=request)


#: The app's own receiver of ``new_device_signed_in`` (the email).
EMAIL_RECEIVER_UID = "django_sessionmgr.email_on_new_device"


def anyone_listens(sender: type[UserSession]) -> bool:
    """Whether a ``new_device_signed_in`` would reach a receiver that acts:
    the project's own, or the app's email with ``NOTIFY_NEW_DEVICE`` on."""
    if app_settings.NOTIFY_NEW_DEVICE:
        return new_device_signed_in.has_listeners(sender)
    # Each entry is ((dispatch uid or receiver id, sender id), receiver, is_async).
    return any(key[0] != EMAIL_RECEIVER_UID for key, *_ in new_device_signed_in.receivers)


def remember_device(request: HttpRequest, response: HttpResponseBase) -> None:
    """Add the account that logged in during ``request`` to the browser's device cookie.

    A no-op on every request that logged nobody in, and while no one listens
    for new devices: then the app sets no cookie of its own.
    """
    state = request_state(request)
    pk = getattr(state, "logged_in_user_pk", None)
    if pk is None or getattr(state, "ended", False) or not anyone_listens(UserSession):
        return
    tag = account_tag(pk)
    tags = [known for known in known_tags(request) or [] if known != tag]
    tags = [*tags, tag][-MAX_ACCOUNTS_PER_DEVICE:]
    response.set_cookie(
        DEVICE_COOKIE,
        signing.dumps(tags, salt=DEVICE_COOKIE_SALT, compress=True),
        max_age=DEVICE_COOKIE_MAX_AGE,
        domain=django_settings.SESSION_COOKIE_DOMAIN,
        path=django_settings.SESSION_COOKIE_PATH,
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )


def site_root() -> tuple[str, str] | None:
    """``(origin, name)`` of the site for links in emails: ``SITE_URL``, else
    the current ``Site`` (https, with ``SITE_ID``). Never the request's
    ``Host``: whoever signs in chooses it (a permissive ``ALLOWED_HOSTS``
    behind a load balancer lets through any). None when neither is set
    (check W003)."""
    if isinstance(url := app_settings.SITE_URL, str):
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}", parts.hostname or ""
    if not apps.is_installed("django.contrib.sites"):
        return None
    from django.contrib.sites.models import Site

    try:
        site = Site.objects.get_current()  # no request: SITE_ID, never the Host
    except (ImproperlyConfigured, Site.DoesNotExist):
        return None
    return f"https://{site.domain}", site.name


def sessions_page_url() -> str | None:
    """The absolute address of the user's sessions page, if the project mounts
    it and a base URL is configured (``site_root``)."""
    root = site_root()
    if root is None:
        return None
    try:
        return root[0] + reverse("sessionmgr:list")
    except NoReverseMatch:
        return None


def new_device_email(session: UserSession, request: HttpRequest) -> EmailMultiAlternatives | None:
    """The email about ``session``'s sign-in, in the language active now; None
    when the user has no email address."""
    user = session.user
    address = getattr(user, user.get_email_field_name(), "") or ""
    if not address:
        return None
    place = ", ".join(part for part in (session.location_city, session.location_country) if part)
    context: dict[str, Any] = {
        "user": user,
        "session": session,
        "device": device_name(session),
        "device_summary": session.device_summary,
        "place": place,
        "ip_address": stored_ip(session.ip_address),
        "signed_in_at": session.created_at,
        "new_country": session.flag_reason == FlagReason.NEW_COUNTRY,
        "new_country_days": app_settings.NEW_COUNTRY_DAYS,
        "sessions_url": sessions_page_url(),
        "site_name": root[1] if (root := site_root()) else "",
    }
    subject = " ".join(render_to_string(TEMPLATE_SUBJECT, context, request=request).split())
    message = EmailMultiAlternatives(
        subject, render_to_string(TEMPLATE_TEXT, context, request=request), to=[address]
    )
    message.attach_alternative(
        render_to_string(TEMPLATE_HTML, context, request=request), "text/html"
    )
    return message


def send_new_device_email(session: UserSession, request: HttpRequest) -> None:
    """Email the user about ``session`` once the login's transaction commits.

    The message is built now (in the request's language); a failure to send
    it is logged at WARNING and never reaches the login.
    """

    message = new_device_email(session, request)
    if message is None:
        return

    def deliver() -> None:
        try:
            message.send()
        except Exception as error:
            logger.warning(
                "django-sessionmgr could not send the new-device email (%s)", type(error).__name__
            )

    transaction.on_commit(deliver, using=router.db_for_write(UserSession))


def email_on_new_device(
    sender: Any, session: UserSession, request: HttpRequest, **kwargs: Any
) -> None:
    """The receiver of ``new_device_signed_in`` that sends the email, with ``NOTIFY_NEW_DEVICE``."""
    if not app_settings.NOTIFY_NEW_DEVICE:
        return
    try:
        send_new_device_email(session, request)
    except Exception as error:
        logger.warning(
            "django-sessionmgr could not prepare the new-device email (%s)", type(error).__name__
        )
