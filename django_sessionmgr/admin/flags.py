"""Theft signals in the admin: the "flagged" filter and the flag shown in the
status column."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import FlagReason, UserSession

#: The row's flag, shown read-only with the audit trail.
FLAG_FIELDS = ("flagged_at", "flag_reason")


class FlaggedListFilter(admin.SimpleListFilter):
    """Sessions that looked stolen, by what looked wrong, or none at all."""

    title = _("flagged")
    parameter_name = "flagged"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), *FlagReason.choices, ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        value = self.value()
        if value == "yes":
            return queryset.exclude(flag_reason="")
        if value == "no":
            return queryset.filter(flag_reason="")
        if value in FlagReason.values:
            return queryset.filter(flag_reason=value)
        return None


def flag_note(obj: UserSession) -> SafeString:
    """The flag, for the status column; empty while nothing looked wrong."""
    if not obj.flag_reason:
        return mark_safe("")
    return format_html(
        '<br><strong class="sessionmgr-flag">{}</strong>',
        gettext("Flagged: %(reason)s") % {"reason": FlagReason(obj.flag_reason).label},
    )
