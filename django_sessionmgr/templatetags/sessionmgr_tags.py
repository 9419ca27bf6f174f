"""Template filters for the session pages."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()


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
