"""How the admin draws a session: its columns and cells (status and why it
ended in staff's words, the IP address as it may be shown, the place, dates,
usernames), shared by the sessions changelist, the user page and the revoke
confirmation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.utils.formats import date_format
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import RevokeReason, UserSession
from ..network import ip_markup, stored_ip

if TYPE_CHECKING:
    from datetime import datetime


def short_datetime(value: datetime | None) -> str:
    return date_format(localtime(value), "SHORT_DATETIME_FORMAT") if value else ""


def staff_reason(obj: UserSession) -> str:
    """Why the session is over, written for staff; "" while active, or when it
    would only repeat the status ("Expired").

    ``UserSession.revoke_reason_display`` speaks to the user ("Signed out by you
    from another device"); the admin names who did it.
    """
    status = UserSession.Status
    current = obj.effective_status
    if current == status.ACTIVE:
        return ""
    if current == status.ENDED:
        return gettext("Signed out by the user")
    if current == status.EXPIRED:
        reason = obj.revoke_reason_display or ""
        return "" if reason == str(status.EXPIRED.label) else reason
    by = obj.revoked_by.get_username() if obj.revoked_by_id and obj.revoked_by else ""
    code = obj.revoke_reason
    if code == RevokeReason.USER:
        return gettext("Signed out by the user from another device")
    if code == RevokeReason.COMMAND:
        return gettext("Revoked by a management command")
    if code in (RevokeReason.ADMIN, RevokeReason.API):
        if not by:
            return gettext("Revoked by staff")
        if code == RevokeReason.API:
            return gettext("Revoked by %(name)s through the staff API") % {"name": by}
        return gettext("Revoked by %(name)s in the admin") % {"name": by}
    if code in RevokeReason.values:
        return obj.revoke_reason_display or ""
    if code:  # free text, given by staff (staff API reason, command --reason)
        if by:
            return gettext("Revoked by %(name)s: %(reason)s") % {"name": by, "reason": code}
        return gettext("Revoked: %(reason)s") % {"reason": code}
    return gettext("Revoked by %(name)s") % {"name": by} if by else gettext("Revoked")


def status_label(obj: UserSession, own: str | None) -> SafeString:
    label = str(UserSession.Status(obj.effective_status).label)
    if own is not None and str(obj.pk) == own:
        return format_html(
            '{} <strong class="sessionmgr-you">({})</strong>', label, gettext("this is you")
        )
    if reason := staff_reason(obj):
        return format_html('{}<br><span class="quiet">{}</span>', label, reason)
    return format_html("{}", label)


def ip_cell(obj: UserSession) -> SafeString:
    """The address as the admin may show it, never broken inside a number."""
    shown = stored_ip(obj.ip_address)
    return ip_markup(shown) if shown else format_html("{}", gettext("Unknown"))


def device_cell(obj: UserSession) -> SafeString:
    """What the session is, over its device: a browser's device ("Firefox on
    Ubuntu") under the name its user gave it, if one; a token's kind ("API
    token") and name. Never the token or anything that identifies it."""
    summary = obj.device_summary
    if obj.kind == UserSession.Kind.SESSION:
        title = format_html("{}", obj.name) if obj.name else None
    elif obj.name:
        title = format_html("{} · {}", obj.get_kind_display(), obj.name)
    else:
        title = format_html("{}", obj.get_kind_display())
    if title is None:
        return format_html("{}", summary)
    return format_html('{}<br><span class="quiet">{}</span>', title, summary)


def place_of(obj: UserSession) -> str:
    return ", ".join(p for p in (obj.location_city, obj.location_country) if p)


def username_cell(user: Any) -> SafeString:
    """A username that wraps only after its punctuation (".", "@", "_", "-"),
    never inside a word ("adm/in")."""
    name = str(user)
    parts: list[Any] = []
    for char in name:
        parts.append(char)
        if char in ".@_-+":
            parts.append(SafeString("<wbr>"))
    return format_html(
        '<span class="sessionmgr-username">{}</span>',
        SafeString("".join(str(conditional_escape(part)) for part in parts)),
    )


class SessionDisplayMixin:
    """Columns shared by the session changelist and the user page inline."""

    @admin.display(description=_("device"))
    def device(self, obj: UserSession) -> SafeString:
        return device_cell(obj)

    @admin.display(description=_("IP address"), ordering="ip_address")
    def shown_ip_address(self, obj: UserSession) -> SafeString:
        # Rows written before IP_ADDRESS_STORAGE was lowered may hold more.
        return ip_cell(obj)

    @admin.display(description=_("location"))
    def location(self, obj: UserSession) -> str:
        # Never blank: a row with no place says so.
        return place_of(obj) or gettext("Unknown")

    @admin.display(description=_("status"), ordering="status")
    def effective_status(self, obj: UserSession) -> str:
        return str(UserSession.Status(obj.effective_status).label)

    @admin.display(description=_("why it ended"))
    def ended_because(self, obj: UserSession) -> str:
        # For staff, and never the raw code ("admin"): staff_reason.
        return staff_reason(obj) or (obj.revoke_reason_display or "-")

    @admin.display(description=_("ended at"))
    def ended_moment(self, obj: UserSession) -> str:
        """When it ended, however it ended: signed out, revoked or expired."""
        status = UserSession.Status
        moment = {
            status.ENDED: obj.ended_at,
            status.REVOKED: obj.revoked_at,
            status.EXPIRED: obj.expires_at,
        }.get(UserSession.Status(obj.effective_status))
        return date_format(localtime(moment), "DATETIME_FORMAT") if moment else "-"
