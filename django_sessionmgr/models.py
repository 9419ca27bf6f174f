"""The ``UserSession`` row: one per login session, kept true by the middleware."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

#: Longest revoke reason kept.
REASON_MAX_LENGTH = 255


class UserSessionQuerySet(models.QuerySet["UserSession"]):
    def active(self) -> UserSessionQuerySet:
        """Rows whose session is usable now: not ended, revoked, or past expiry."""
        return self.filter(status=UserSession.Status.ACTIVE, expires_at__gt=timezone.now())

    def expired(self) -> UserSessionQuerySet:
        """Rows marked expired, and active rows whose expiry has passed."""
        return self.filter(
            Q(status=UserSession.Status.EXPIRED)
            | Q(status=UserSession.Status.ACTIVE, expires_at__lte=timezone.now())
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
        from .revocation import revoke_sessions

        return revoke_sessions(self, by=by, reason=reason)


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
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="user_sessions",
        verbose_name=_("user"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    # Needed to delete the stored session on revoke. Never shown, filtered or
    # ordered on anywhere; sealed under the cache and file engines (keys.py);
    # empty for engines that keep no server-side store (signed cookies).
    session_key = models.CharField(max_length=128, blank=True, default="", editable=False)

    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True, default="")
    device_browser = models.CharField(_("browser"), max_length=64, blank=True, default="")
    device_os = models.CharField(_("operating system"), max_length=64, blank=True, default="")
    device_family = models.CharField(_("device"), max_length=64, blank=True, default="")
    device_type = models.CharField(
        _("device type"), max_length=16, choices=DeviceType.choices, default=DeviceType.OTHER
    )
    location_city = models.CharField(_("city"), max_length=128, blank=True, default="")
    location_country = models.CharField(_("country"), max_length=2, blank=True, default="")

    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_activity_at = models.DateTimeField(_("last activity at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    revoke_reason = models.CharField(
        _("revoke reason"), max_length=REASON_MAX_LENGTH, blank=True, default=""
    )
    # Tags the rows of one revoke call, so its store cleanup and signal can
    # address exactly them without carrying their ids around.
    revoke_batch = models.UUIDField(null=True, blank=True, editable=False)

    objects = UserSessionQuerySet.as_manager()

    class Meta:
        verbose_name = _("user session")
        verbose_name_plural = _("user sessions")
        ordering = ["-last_activity_at"]
        permissions = [("revoke_usersession", _("Can revoke user session"))]
        indexes = [
            # A user's list, newest first, by status; expires_at rides along so
            # counting and filtering active rows never has to read the table.
            models.Index(
                fields=["user", "status", "-last_activity_at", "expires_at"],
                name="sessionmgr_user_status_expiry",
            ),
            # A user's list across every status (?status=all), newest first.
            models.Index(fields=["user", "-last_activity_at"], name="sessionmgr_user_activity"),
            models.Index(fields=["-last_activity_at"], name="sessionmgr_activity"),
            # The staff API's list of one user's sessions by status (?user=&status=).
            models.Index(
                fields=["user", "status", "created_at", "id"],
                name="sessionmgr_user_status_created",
            ),
            models.Index(fields=["created_at", "id"], name="sessionmgr_created"),
            # Expiry first, not status: without planner statistics (SQLite
            # before ANALYZE), "status = active AND expires_at > now" would
            # read every active row from a (status, expires_at) index rather
            # than the user's own from the per-user ones above.
            models.Index(fields=["expires_at", "status"], name="sessionmgr_expiry_status"),
            # Staff lists (admin changelist, staff API) filtered by status, newest first.
            models.Index(fields=["status", "created_at", "id"], name="sessionmgr_status_created"),
            models.Index(fields=["ip_address"], name="sessionmgr_ip"),
            # Plain, not partial: MariaDB has no conditional indexes (models.W037).
            models.Index(fields=["revoke_batch"], name="sessionmgr_revoke_batch"),
        ]

    def __str__(self) -> str:
        return f"{self.device_summary} ({self.get_status_display()})"

    @property
    def effective_status(self) -> str:
        """The status a user sees: an active row past its expiry is expired."""
        if self.status == self.Status.ACTIVE and self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.status

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

    def revoke(self, by: AbstractBaseUser | None = None, reason: str = "") -> bool:
        """Revoke this session; return whether it was active."""
        revoked = UserSession.objects.filter(pk=self.pk).revoke(by=by, reason=reason)
        if revoked:
            self.refresh_from_db(
                fields=["status", "revoked_at", "revoked_by", "revoke_reason", "revoke_batch"]
            )
        return bool(revoked)


#: What ``with_status()`` accepts: every status, and ``all`` for no filter.
STATUS_FILTERS = [*UserSession.Status.values, "all"]
