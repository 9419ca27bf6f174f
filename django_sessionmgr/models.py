"""The ``UserSession`` row: one per login session, kept true by the middleware."""

from __future__ import annotations

import re
import uuid
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.db import connections, models, router, transaction
from django.db.models import Q
from django.db.models.signals import post_save, pre_save
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .conf import app_settings, django_settings
from .revocation import ACTORS_HINT, SPARE_HINT, revoke_sessions

if TYPE_CHECKING:
    from datetime import datetime

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
#: The longest status or device type code.
CODE_MAX_LENGTH = 16

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


class UserSessionQuerySet(models.QuerySet["UserSession"]):
    def of_owner(self, user: AbstractBaseUser) -> UserSessionQuerySet:
        """The sessions ``user`` sees as their own: all of them, unless the
        project hides those staff started while impersonating them."""
        mine = self.filter(user_id=user.pk)
        if not app_settings.SHOW_IMPERSONATED_SESSIONS:
            mine = mine.filter(impersonated_by__isnull=True)
        return mine

    def signed_in_as_or_by(self, users: Any) -> UserSessionQuerySet:
        """Every session of ``users`` (instances, primary keys or a query of
        them), and every active session in which one of them is the real
        actor: impersonating someone else (``impersonated_by``).

        "All sessions of user U" means this on every path (self-service,
        staff API, admin, commands, password change), so that a staff member's
        "sign out everywhere" also reaches the browser they impersonate from.
        A revoke of it also reaches an impersonation started while it runs
        (see ``with_impersonations_by``).
        """
        everywhere = self.filter(user__in=users) | self.impersonations_by(users)
        return everywhere.with_impersonations_by(users)

    def with_impersonations_by(self, users: Any) -> UserSessionQuerySet:
        """These rows, and for a revoke of them, every session in which one of
        ``users`` is the real actor as the revoke claims them.

        The revoke claims these rows first, then the impersonations: one
        started later comes from a session of theirs already claimed, and
        ends itself (``impersonation.start_impersonation``); one started
        before is claimed. Kept in the query's hints, which follow it through
        ``filter`` and ``exclude``.
        """
        clone = self.all()
        clone._hints = {**self._hints, ACTORS_HINT: users}  # type: ignore[attr-defined]
        return clone

    def sparing(self, row_id: str | None) -> UserSessionQuerySet:
        """These rows but ``row_id`` (the session making the request), which
        the revoke of the impersonations spares too."""
        if row_id is None:
            return self
        clone = self.exclude(pk=row_id)
        clone._hints = {**clone._hints, SPARE_HINT: row_id}  # type: ignore[attr-defined]
        return clone

    def impersonations_by(self, users: Any) -> UserSessionQuerySet:
        """The active sessions in which one of ``users`` is the real actor
        while signed in as someone else (django-hijack, ``start_impersonation``).

        Read now, through the ``impersonated_by`` index, and named by id: OR'ed
        with the user's own sessions, a condition on a second column would let
        a planner without statistics (SQLite as Django leaves it) read every
        active row instead of the user's. Usually there are none, and the
        query is then exactly the user's own.
        """
        acting = UserSession.objects.filter(
            impersonated_by__in=users, status=UserSession.Status.ACTIVE
        )
        return self.filter(pk__in=list(acting.order_by().values_list("pk", flat=True)))

    # "Expired" has one definition: a row marked expired, or an active row
    # whose expiry has passed (nothing marks it; sessionmgr_expire only tidies).
    # The filters below and UserSession.effective_status all follow it.

    def from_primary(self) -> UserSessionQuerySet:
        """Read these rows where they are written (``router.db_for_write``),
        never from a replica that may lag behind a revoke: for every read that
        decides whether a session may still be served."""
        return self.using(router.db_for_write(self.model))

    def active(self) -> UserSessionQuerySet:
        """Rows whose session is usable now: not ended, revoked, or past expiry."""
        return self.filter(_live())

    def finished(self) -> UserSessionQuerySet:
        """Rows whose session is over, however it ended: all but ``active()``."""
        return self.exclude(_live())

    def lapsed(self) -> UserSessionQuerySet:
        """Rows still marked active whose expiry has passed."""
        return self.filter(_lapsed())

    def expired(self) -> UserSessionQuerySet:
        """Rows marked expired, and active rows whose expiry has passed."""
        return self.filter(Q(status=UserSession.Status.EXPIRED) | _lapsed())

    def finished_before(self, cutoff: datetime) -> UserSessionQuerySet:
        """Rows whose session ended before ``cutoff``, dated by how it ended
        (a lapsed row by its expiry)."""
        status = UserSession.Status
        return self.filter(
            Q(status=status.ENDED, ended_at__lt=cutoff)
            | Q(status=status.REVOKED, revoked_at__lt=cutoff)
            | Q(status__in=[status.EXPIRED, status.ACTIVE], expires_at__lt=cutoff)
        )

    def with_status(self, status: str) -> UserSessionQuerySet:
        """Filter by the status a user sees (``all`` for no filter)."""
        if status == "all":
            return self.all()
        if status == UserSession.Status.ACTIVE:
            return self.active()
        if status == UserSession.Status.EXPIRED:
            return self.expired()
        return self.filter(status=status)

    def revoke(self, by: AbstractBaseUser | None = None, reason: str = "") -> int:
        """Revoke every active session here; return how many.

        Works in a fixed number of queries (and cache calls) whatever the count.
        """
        return revoke_sessions(self, by=by, reason=reason)


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
        if self.device_browser and self.device_os:
            return str(_("%(browser)s on %(os)s")) % {
                "browser": self.device_browser,
                "os": self.device_os,
            }
        return self.device_browser or self.device_os or str(_("Unknown device"))

    @property
    def revoke_reason_display(self) -> str | None:
        """Why the session is over, as a translated sentence; None while active."""
        status = self.effective_status
        if status == self.Status.ACTIVE:
            return None
        if status == self.Status.ENDED:
            return str(_("Signed out"))
        if status == self.Status.EXPIRED:
            if self._ended_by(app_settings.ABSOLUTE_TIMEOUT, self.created_at):
                return str(_("Signed out at the session time limit"))
            if self._ended_by(app_settings.IDLE_TIMEOUT, self.last_activity_at, idle=True):
                return str(_("Signed out after inactivity"))
            return str(_("Expired"))
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

    def _ended_by(self, timeout: int | None, since: datetime, idle: bool = False) -> bool:
        """Whether the recorded end is that of a timeout policy. The row keeps
        no cause, but a policy's end sits a fixed time after the login (or,
        for ``IDLE_TIMEOUT``, after the last write plus one interval)."""
        if timeout is None:
            return False
        if idle:
            timeout += app_settings.ACTIVITY_UPDATE_INTERVAL
        # The marker keeps whole seconds; the row's times are exact.
        return abs((self.expires_at - since).total_seconds() - timeout) < 2

    @staticmethod
    def storable_text(text: str, using: str) -> str:
        """``text`` as the table in database ``using`` can hold it: on MySQL's
        ``utf8mb3``, four-byte characters (an emoji) become U+FFFD, where they
        would fail the whole statement."""
        if text.isascii() or not _holds_only_bmp(using):
            return text
        return _BEYOND_BMP.sub("\ufffd", text)

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


def column(name: str) -> str:
    """A field's column, for the few raw queries on hot paths."""
    field = UserSession._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column
    return field.column


@lru_cache(maxsize=8)
def _insert_statement(alias: str) -> tuple[str, tuple[models.Field[Any, Any], ...]]:
    quote = connections[alias].ops.quote_name
    fields = tuple(UserSession._meta.concrete_fields)
    columns = ", ".join(quote(column(field.name)) for field in fields)
    values = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {quote(UserSession._meta.db_table)} ({columns}) VALUES ({values})", fields


#: Characters beyond the Basic Multilingual Plane: four bytes in UTF-8.
_BEYOND_BMP = re.compile("[\U00010000-\U0010ffff]")


@lru_cache(maxsize=8)
def _holds_only_bmp(alias: str) -> bool:
    """Whether the table's text columns are MySQL's ``utf8mb3`` (``utf8`` before
    MySQL 8 and MariaDB 10.6), where a four-byte character fails the whole
    INSERT. Asked once per database and process, and only for text that is
    not ASCII."""
    connection = connections[alias]
    if connection.vendor != "mysql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
            "AND TABLE_NAME = %s AND CHARACTER_SET_NAME IN ('utf8', 'utf8mb3') LIMIT 1",
            [UserSession._meta.db_table],
        )
        return cursor.fetchone() is not None


def _fit_to_charset(row: UserSession, alias: str) -> None:
    """Replace what a ``utf8mb3`` table cannot hold (an emoji in a user agent):
    a login whose row cannot be inserted could never be revoked."""
    for field in UserSession._meta.concrete_fields:
        value = getattr(row, field.attname)
        if isinstance(value, str):
            setattr(row, field.attname, UserSession.storable_text(value, alias))


def insert_row(row: UserSession) -> None:
    """``row.save(force_insert=True)``, for the one INSERT of every login.

    The statement is built once per database rather than compiled by the
    ORM on each login, which cost more than running it. Everything else that
    ``save()`` does for this model still happens: the values are prepared by
    each field, ``pre_save`` and ``post_save`` are sent, and the instance
    ends up saved in the database it was routed to. On a ``utf8mb3`` table,
    text the table cannot hold is replaced first (``_fit_to_charset``).
    """
    alias = router.db_for_write(UserSession, instance=row)
    connection = connections[alias]
    sql, fields = _insert_statement(alias)
    _fit_to_charset(row, alias)
    pre_save.send(sender=UserSession, instance=row, raw=False, using=alias, update_fields=None)
    params = [field.get_db_prep_save(field.pre_save(row, True), connection) for field in fields]
    with transaction.mark_for_rollback_on_error(using=alias), connection.cursor() as cursor:
        cursor.execute(sql, params)
    row._state.adding, row._state.db = False, alias
    post_save.send(
        sender=UserSession,
        instance=row,
        created=True,
        update_fields=None,
        raw=False,
        using=alias,
    )


def _live() -> Q:
    return Q(status=UserSession.Status.ACTIVE, expires_at__gt=timezone.now())


def _lapsed() -> Q:
    return Q(status=UserSession.Status.ACTIVE, expires_at__lte=timezone.now())


#: What ``with_status()`` accepts: every status, and ``all`` for no filter.
STATUS_FILTERS = [*UserSession.Status.values, "all"]
