"""The ``UserSession`` row: one per login session, kept true by the middleware."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.db import models, router
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .charset import fit_text
from .conf import app_settings, django_settings
from .endings import EndingPolicy, ended_words, ending_policy
from .queries import UserSessionQuerySet

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.utils.functional import _StrPromise

# Column widths, named once: the fields below and the code that fills them
# (devices.py, network.py, tracking.py, the staff API and commands) use these.
#: Longest revoke reason kept.
REASON_MAX_LENGTH = 255
#: Longest user agent stored or parsed; real ones are far shorter.
USER_AGENT_MAX_LENGTH = 512
#: Browser, operating system and device names ("Chrome 120", "macOS 14").
DEVICE_NAME_MAX_LENGTH = 64
CITY_MAX_LENGTH = 128
#: ISO 3166-1 alpha-2.
COUNTRY_CODE_LENGTH = 2
#: A session key as any engine makes it (Django's are 32 characters), or sealed.
SESSION_KEY_MAX_LENGTH = 128
#: Hex SHA-256 (``tracking.key_digest``).
KEY_DIGEST_LENGTH = 64
#: The longest status, kind or device type code.
CODE_MAX_LENGTH = 16
#: The longest name a user gives a session.
NAME_MAX_LENGTH = 64

#: The permissions staff need, as ``has_perm`` takes them: ``view_usersession``
#: is Django's own, ``revoke_usersession`` the app's (``UserSession.Meta``).
VIEW_PERMISSION = "django_sessionmgr.view_usersession"
REVOKE_CODENAME = "revoke_usersession"
REVOKE_PERMISSION = f"django_sessionmgr.{REVOKE_CODENAME}"


class RevokeReason(models.TextChoices):
    """The ``revoke_reason`` codes the app records, each with its sentence.

    Staff may record free text instead (staff API ``reason``, command
    ``--reason``): staff see it as given; users read "Ended by an administrator"
    unless ``NOTICE_SHOWS_FREE_TEXT_REASON``.
    """

    USER = "user", _("Signed out by you from another device")
    ADMIN = "admin", _("Ended by an administrator")
    API = "api", _("Ended by an administrator")
    COMMAND = "command", _("Ended by an administrator")
    PASSWORD_CHANGE = "password_change", _("Password changed")
    SESSION_LIMIT = "session_limit", _("Session limit reached")
    SUSPICIOUS = "suspicious", _("Used from places too far apart to be one person")


class FlagReason(models.TextChoices):
    """Why a session was flagged as possibly stolen."""

    IMPOSSIBLE_TRAVEL = "impossible_travel", _("Used from two places too far apart")
    NEW_COUNTRY = "new_country", _("Signed in from a new country")


def _staff_member(verbose_name: _StrPromise) -> models.ForeignKey[AbstractBaseUser | None]:
    """A user who acted on a session: kept as a name, not a reverse accessor,
    and cleared (not cascaded) when that user is deleted."""
    return models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=verbose_name,
    )


class UserSession(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")

    class DeviceType(models.TextChoices):
        DESKTOP = "desktop", _("Desktop")
        MOBILE = "mobile", _("Mobile")
        TABLET = "tablet", _("Tablet")
        BOT = "bot", _("Bot")
        OTHER = "other", _("Other")

    class Kind(models.TextChoices):
        """How the user is signed in: a browser's Django session, or a token."""

        SESSION = "session", _("Browser")
        DRF_TOKEN = "drf_token", _("API token")
        KNOX = "knox", _("API token")
        JWT = "jwt", _("App")
        APP_SESSION = "app_session", _("Mobile app")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="user_sessions",
        verbose_name=_("user"),
        # The per-user indexes below all start with the user: a separate one
        # would cost every login's INSERT and every revoke's UPDATE its upkeep
        # and serve no query they do not.
        db_index=False,
    )
    status = models.CharField(
        _("status"), max_length=CODE_MAX_LENGTH, choices=Status.choices, default=Status.ACTIVE
    )
    # Needed to delete the stored session on revoke. Never shown, filtered or
    # ordered on anywhere; sealed under the cache and file engines (keys.py);
    # empty for engines that keep no server-side store (signed cookies).
    session_key = models.CharField(
        max_length=SESSION_KEY_MAX_LENGTH, blank=True, default="", editable=False
    )
    kind = models.CharField(
        _("kind"), max_length=CODE_MAX_LENGTH, choices=Kind.choices, default=Kind.SESSION
    )
    # A label the user gives the session; blank shows the device's name.
    name = models.CharField(_("name"), max_length=NAME_MAX_LENGTH, blank=True, default="")
    # A token session's token, as a keyed digest (HMAC under SECRET_KEY) of what
    # identifies it: how a request's token finds its row. Like the session
    # key, never shown, filtered, searched or ordered on; blank for browsers.
    token_digest = models.CharField(
        max_length=KEY_DIGEST_LENGTH, blank=True, default="", editable=False
    )
    # A simplejwt session: until when an access token issued before a revoke
    # is still accepted by simplejwt's stock authentication class.
    access_valid_until = models.DateTimeField(_("access valid until"), null=True, blank=True)

    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(
        _("user agent"), max_length=USER_AGENT_MAX_LENGTH, blank=True, default=""
    )
    device_browser = models.CharField(
        _("browser"), max_length=DEVICE_NAME_MAX_LENGTH, blank=True, default=""
    )
    device_os = models.CharField(
        _("operating system"), max_length=DEVICE_NAME_MAX_LENGTH, blank=True, default=""
    )
    device_family = models.CharField(
        _("device"), max_length=DEVICE_NAME_MAX_LENGTH, blank=True, default=""
    )
    device_type = models.CharField(
        _("device type"),
        max_length=CODE_MAX_LENGTH,
        choices=DeviceType.choices,
        default=DeviceType.OTHER,
    )
    location_city = models.CharField(_("city"), max_length=CITY_MAX_LENGTH, blank=True, default="")
    location_country = models.CharField(
        _("country"), max_length=COUNTRY_CODE_LENGTH, blank=True, default=""
    )
    # Where the session was last seen: written with the activity write only.
    last_ip_address = models.GenericIPAddressField(_("last IP address"), null=True, blank=True)
    last_location_city = models.CharField(
        _("last city"), max_length=CITY_MAX_LENGTH, blank=True, default=""
    )
    last_location_country = models.CharField(
        _("last country"), max_length=COUNTRY_CODE_LENGTH, blank=True, default=""
    )
    # The point GeoIP gave for the last place it could place, to a tenth of a
    # degree (the city's, no finer), and when: what impossible travel
    # measures from. A request from an address it cannot place keeps them.
    last_location_latitude = models.FloatField(null=True, blank=True, editable=False)
    last_location_longitude = models.FloatField(null=True, blank=True, editable=False)
    last_located_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Something looked like a stolen session (see ``anomalies``).
    flagged_at = models.DateTimeField(_("flagged at"), null=True, blank=True)
    flag_reason = models.CharField(
        _("flag reason"),
        max_length=CODE_MAX_LENGTH * 2,
        choices=FlagReason,
        blank=True,
        default="",
    )
    # Keyed digests of the pairs of places already reported, so that each is
    # reported once; useless without SECRET_KEY.
    flagged_pairs = models.CharField(max_length=80, blank=True, default="", editable=False)
    # Staff acting as the user (django-hijack, or the documented hook).
    impersonated_by = _staff_member(_("started by"))
    # A keyed digest of the session key, so the request that comes back with a
    # dead cookie can be told why it ended. Useless without SECRET_KEY; like
    # the key itself, never filtered or shown (the admin refuses session_key*).
    session_key_digest = models.CharField(
        max_length=KEY_DIGEST_LENGTH, blank=True, default="", editable=False
    )

    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_activity_at = models.DateTimeField(_("last activity at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = _staff_member(_("revoked by"))
    revoke_reason = models.CharField(
        _("revoke reason"), max_length=REASON_MAX_LENGTH, blank=True, default=""
    )
    # Tags the rows of one revoke call, so its store cleanup and signal can
    # address exactly them without carrying their ids around.
    revoke_batch = models.UUIDField(null=True, blank=True, editable=False)
    # The row was made for a session that carried no marker (from before the
    # install, or a login whose row could not be written): see tracking.adopt_session.
    adopted = models.BooleanField(default=False, editable=False)

    objects = UserSessionQuerySet.as_manager()

    class Meta:
        verbose_name = _("user session")
        verbose_name_plural = _("user sessions")
        ordering = ["-last_activity_at"]
        permissions = [(REVOKE_CODENAME, _("Can revoke user session"))]
        indexes = [
            # A user's list, newest first, by status; expires_at rides along so
            # counting and filtering active rows never has to read the table.
            # The list across every status (?status=all) starts from it too and
            # sorts that user's few rows: an index of its own would cost each
            # login's INSERT and each revoke's UPDATE its upkeep, for a sort of
            # tens of rows.
            models.Index(
                fields=["user", "status", "-last_activity_at", "expires_at"],
                name="sessionmgr_user_status_expiry",
            ),
            models.Index(fields=["-last_activity_at"], name="sessionmgr_activity"),
            # The staff API's list of one user's sessions by status (?user=&status=),
            # in its cursor's order: without it, SQLite would read every row of
            # the status through sessionmgr_status_created to skip a sort.
            models.Index(
                fields=["user", "status", "created_at", "id"],
                name="sessionmgr_user_status_created",
            ),
            # Every staff list newest first (admin changelist, staff API cursor).
            # status and expires_at ride along: the admin's expired filter (a
            # CASE no index serves) and its count test them while walking this
            # index in order, without reading the rows they skip.
            models.Index(
                fields=["created_at", "id", "status", "expires_at"],
                name="sessionmgr_created_status",
            ),
            # Expiry first, not status: without planner statistics (SQLite
            # before ANALYZE), "status = active AND expires_at > now" would
            # read every active row from a (status, expires_at) index rather
            # than the user's own from the per-user ones above.
            models.Index(fields=["expires_at", "status"], name="sessionmgr_expiry_status"),
            # Staff lists (admin changelist, staff API) filtered by status, newest first.
            models.Index(fields=["status", "created_at", "id"], name="sessionmgr_status_created"),
            models.Index(fields=["ip_address"], name="sessionmgr_ip"),
            models.Index(fields=["session_key_digest"], name="sessionmgr_key_digest"),
            models.Index(fields=["token_digest"], name="sessionmgr_token_digest"),
            # Plain, not partial: MariaDB has no conditional indexes (models.W037).
            models.Index(fields=["revoke_batch"], name="sessionmgr_revoke_batch"),
        ]

    def __str__(self) -> str:
        return f"{self.device_summary} ({self.get_status_display()})"

    @property
    def effective_status(self) -> str:
        """The status a user sees: an active row past its expiry is expired
        (the rule ``UserSessionQuerySet.expired()`` filters by)."""
        if self.status == self.Status.ACTIVE and self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.status

    @property
    def impersonated(self) -> bool:
        return self.impersonated_by_id is not None

    @property
    def is_active(self) -> bool:
        return self.effective_status == self.Status.ACTIVE

    @property
    def device_summary(self) -> str:
        # "Other" is what the parser calls an operating system it does not know.
        os = "" if self.device_os == "Other" else self.device_os
        if self.device_browser and os:
            return str(_("%(browser)s on %(os)s")) % {"browser": self.device_browser, "os": os}
        return self.device_browser or os or str(_("Unknown device"))

    @property
    def revoke_reason_display(self) -> str | None:
        """Why the session is over, as a translated sentence; None while active."""
        status = self.effective_status
        if status == self.Status.ACTIVE:
            return None
        if status == self.Status.ENDED:
            return str(_("Signed out"))
        if status == self.Status.EXPIRED:
            policy = self.ending_policy
            return str(_("Expired")) if policy is None else ended_words(policy)
        if self.revoke_reason in RevokeReason.values:
            return str(RevokeReason(self.revoke_reason).label)
        if self.revoke_reason and app_settings.NOTICE_SHOWS_FREE_TEXT_REASON:
            return str(_("Ended by an administrator: %(reason)s")) % {"reason": self.revoke_reason}
        if self.revoke_reason:
            # Staff's own words are for staff (the admin, the staff API): whoever
            # holds the user's password or a stolen cookie reads this.
            return str(RevokeReason.ADMIN.label)
        return str(self.get_status_display())

    @property
    def ending_policy(self) -> EndingPolicy | None:
        """The timeout policy whose end the row records, if one: the row keeps
        no cause, so it is read from where its end sits (``endings``)."""
        return ending_policy(
            (self.expires_at - self.created_at).total_seconds(),
            (self.expires_at - self.last_activity_at).total_seconds(),
        )

    @property
    def flag_reason_code(self) -> str | None:
        """``flag_reason``, or None while nothing looked wrong."""
        return self.flag_reason or None

    @property
    def revoke_reason_code(self) -> str | None:
        """The reason's code as users see it: staff's free text reads ``admin``
        (unless ``NOTICE_SHOWS_FREE_TEXT_REASON``); None while active."""
        if self.is_active:
            return None
        code = self.revoke_reason
        if (
            code
            and code not in RevokeReason.values
            and not app_settings.NOTICE_SHOWS_FREE_TEXT_REASON
        ):
            return RevokeReason.ADMIN.value
        return code

    @staticmethod
    def storable_text(text: str, using: str) -> str:
        """``text`` as the table in database ``using`` can hold it: on MySQL's
        ``utf8mb3``, four-byte characters (an emoji) become U+FFFD, where they
        would fail the whole statement."""
        return fit_text(text, using, UserSession._meta.db_table)

    def revoke(self, by: AbstractBaseUser | None = None, reason: str = "") -> bool:
        """Revoke this session; return whether it was active."""
        revoked = UserSession.objects.filter(pk=self.pk).revoke(by=by, reason=reason)
        if revoked:
            self.refresh_from_db(
                using=router.db_for_write(UserSession, instance=self),  # not a replica
                fields=["status", "revoked_at", "revoked_by", "revoke_reason", "revoke_batch"],
            )
        return bool(revoked)


class PendingRevoke(models.Model):
    """A revoke whose rows are claimed but whose sessions may still be stored:
    finished by the next revoke if the process running it died (``revocation``)."""

    batch = models.UUIDField(primary_key=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "pending revoke"
        verbose_name_plural = "pending revokes"

    def __str__(self) -> str:
        return str(self.batch)


#: What ``with_status()`` accepts: every status, and ``all`` for no filter.
STATUS_FILTERS = [*UserSession.Status.values, "all"]


def column(name: str) -> str:
    """A ``UserSession`` field's column, for the few raw queries on hot paths."""
    field = UserSession._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column
    return field.column
