"""Template filters for the session pages."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django import template
from django.urls import get_script_prefix
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..network import stored_ip

if TYPE_CHECKING:
    from ..models import UserSession

register = template.Library()

# Device families that name no device a person would know.
_NAMELESS_DEVICES = {"", "Other", "Spider"}


@register.filter
def device_name(session: UserSession) -> str:
    """What a person calls the device: "iPhone", "Pixel 8", "Mac", else the OS ("Windows")."""
    if session.device_type == "bot":
        return session.device_browser or _("Bot")
    if session.device_family not in _NAMELESS_DEVICES:
        return session.device_family
    if session.device_os and session.device_os != "Other":
        return session.device_os
    return session.device_browser or _("Unknown device")


@register.filter
def shown_ip(ip: str | None) -> str:
    """``ip`` as ``IP_ADDRESS_STORAGE`` allows it shown now (older rows may hold more)."""
    return stored_ip(ip) or ""


@register.simple_tag
def sessionmgr_site_root() -> str:
    """The site's home: the root the project is mounted at."""
    return get_script_prefix()


@register.filter
def time_ago(value: datetime | None) -> str:
    """``value`` as "5 minutes ago", in the largest whole unit.

    Django's ``naturaltime`` needs ``django.contrib.humanize`` installed for its
    translations, and ``timesince`` can't be phrased as "ago" in every language.
    """
    if value is None:
        return ""
    seconds = int((timezone.now() - value).total_seconds())
    if seconds < 60:
        return _("just now")
    if seconds < 3600:
        count = seconds // 60
        return ngettext("%(count)d minute ago", "%(count)d minutes ago", count) % {"count": count}
    if seconds < 86400:
        count = seconds // 3600
        return ngettext("%(count)d hour ago", "%(count)d hours ago", count) % {"count": count}
    count = seconds // 86400
    return ngettext("%(count)d day ago", "%(count)d days ago", count) % {"count": count}


@register.filter
def ends(session: UserSession) -> str:
    """When the session signs out, in words: after inactivity, or at a date."""
    from django.utils.formats import date_format

    from ..conf import app_settings
    from ..policies import duration

    moment = session.expires_at
    at = date_format(
        timezone.localtime(moment) if timezone.is_aware(moment) else moment, "DATETIME_FORMAT"
    )
    if (idle := app_settings.IDLE_TIMEOUT) is not None:
        return _("After %(duration)s without activity, at the latest %(date)s") % {
            "duration": duration(idle),
            "date": at,
        }
    return at
