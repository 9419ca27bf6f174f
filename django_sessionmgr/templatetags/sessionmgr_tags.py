"""Template filters for the session pages."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django import template
from django.urls import get_script_prefix
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..conf import app_settings
from ..devices import device_name, session_title
from ..endings import duration, never_ends
from ..network import ip_markup, stored_ip

if TYPE_CHECKING:
    from ..models import UserSession

register = template.Library()

#: What a person calls the device (see ``devices.device_name``).
register.filter(device_name)
#: What the lists call a session: its name, else its device or kind (``devices.session_title``).
register.filter(session_title)


@register.filter
def shown_ip(ip: str | None) -> str:
    """``ip`` as ``IP_ADDRESS_STORAGE`` allows it shown now (older rows may hold more)."""
    return stored_ip(ip) or ""


@register.filter
def ip_html(ip: str | None) -> SafeString:
    """``shown_ip`` as markup for a page (see ``ip_markup``); empty when none is shown."""
    shown = stored_ip(ip)
    return ip_markup(shown) if shown else mark_safe("")


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
        # Not "now", which the page keeps for this device (the one in use).
        return _("less than a minute ago")
    if seconds < 3600:
        count = seconds // 60
        return ngettext("%(count)d minute ago", "%(count)d minutes ago", count) % {"count": count}
    if seconds < 86400:
        count = seconds // 3600
        return ngettext("%(count)d hour ago", "%(count)d hours ago", count) % {"count": count}
    count = seconds // 86400
    return ngettext("%(count)d day ago", "%(count)d days ago", count) % {"count": count}


@register.filter
def ends(session: UserSession) -> SafeString:
    """When the session signs out, in words: after inactivity, or at a date.

    The date is a ``<time>`` that never wraps inside itself; the words around
    it may.
    """
    moment = session.expires_at
    if never_ends(session.created_at, moment):
        return format_html("{}", _("No expiry"))
    local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    at = format_html(
        '<time class="sessionmgr-date" datetime="{}">{}</time>',
        local.isoformat(),
        date_format(local, "DATETIME_FORMAT"),
    )
    if (idle := app_settings.IDLE_TIMEOUT) is not None:
        sentence = _("After %(duration)s without activity, at the latest %(date)s")
        template = (
            str(conditional_escape(sentence))
            .replace("{", "{{")
            .replace("}", "}}")
            .replace("%(duration)s", "{duration}")
            .replace("%(date)s", "{date}")
        )
        return format_html(template, duration=duration(idle), date=at)
    return at
