"""Django admin: staff find any user's sessions and revoke them.

Rows are read-only: the app writes them, and the admin only revokes. There is
no delete either: deleting a row would erase its audit trail and leave its
session signed in until the middleware next checks the row, while a revoke
ends the session at once and keeps the record.

``UserSessionInline`` and ``UserSessionsAdminMixin`` put a user's sessions and a
"Revoke all sessions of selected users" action on a project's own ``UserAdmin``.
With ``SESSIONMGR["USER_ADMIN_INTEGRATION"]`` (default on), a project that uses
the stock ``django.contrib.auth.admin.UserAdmin`` gets both without a line of code.
"""

from __future__ import annotations

import ipaddress
import operator
from functools import reduce
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .conf import app_settings
from .models import UserSession, UserSessionQuerySet

if TYPE_CHECKING:
    from django.contrib.admin.options import InlineModelAdmin

    SessionModelAdmin = admin.ModelAdmin[UserSession]
    SessionTabularInline = admin.TabularInline[UserSession, Any]
else:  # the admin classes are not subscriptable at run time
    SessionModelAdmin = admin.ModelAdmin
    SessionTabularInline = admin.TabularInline

#: ``revoke_reason`` of sessions revoked from the admin.
ADMIN_REVOKE_REASON = "admin"

REVOKE_PERMISSION = "django_sessionmgr.revoke_usersession"


def can_revoke(request: HttpRequest) -> bool:
    return request.user.has_perm(REVOKE_PERMISSION)


def revoke_and_report(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, sessions: UserSessionQuerySet
) -> None:
    """Revoke ``sessions`` through the one bulk path and tell the staff user how many."""
    count = sessions.revoke(by=request.user, reason=ADMIN_REVOKE_REASON)  # type: ignore[arg-type]
    message = ngettext("Revoked %(count)d session.", "Revoked %(count)d sessions.", count) % {
        "count": count
    }
    model_admin.message_user(request, message, messages.SUCCESS if count else messages.WARNING)


class SessionDisplayMixin:
    """Columns shared by the session changelist and the user page inline."""

    @admin.display(description=_("device"))
    def device(self, obj: UserSession) -> str:
        return obj.device_summary

    @admin.display(description=_("location"))
    def location(self, obj: UserSession) -> str:
        return ", ".join(p for p in (obj.location_city, obj.location_country) if p)

    @admin.display(description=_("status"), ordering="status")
    def effective_status(self, obj: UserSession) -> str:
        return str(UserSession.Status(obj.effective_status).label)


class StatusListFilter(admin.SimpleListFilter):
    """Filter by the status a user sees: an active row past its expiry is expired."""

    title = _("status")
    parameter_name = "status"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, Any]]:
        return list(UserSession.Status.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        value = self.value()
        if value not in UserSession.Status.values:
            return None
        sessions: UserSessionQuerySet = queryset  # type: ignore[assignment]
        return sessions.with_status(value)


AUDIT_FIELDS = ("revoked_at", "revoked_by", "revoke_reason", "ended_at")


@admin.register(UserSession)
class UserSessionAdmin(SessionDisplayMixin, SessionModelAdmin):
    list_display = (
        "user",
        "device",
        "location",
        "ip_address",
        "created_at",
        "last_activity_at",
        "effective_status",
    )
    list_filter = (StatusListFilter, "created_at", "last_activity_at", "expires_at")
    search_help_text = _("Username, email address, or an exact IP address.")
    # Users come in one extra query (prefetch) rather than a JOIN: with a JOIN,
    # the planner may start from the user table and sort a million sessions
    # instead of walking the (status,) created_at index for one page.
    list_select_related = ()
    # Newest first along the (created_at, id) index; the admin adds the id
    # tie-break itself, and an index-backed order is what keeps a page of a
    # huge table from sorting all of it.
    ordering = ("-created_at",)
    # COUNT(*) over millions of rows is the slow part of a big changelist.
    show_full_result_count = False
    if hasattr(admin, "ShowFacets"):  # Django 5.0+
        # Facets cost a COUNT per filter choice, a dozen scans of a big table.
        show_facets = admin.ShowFacets.NEVER
    actions = ["revoke_sessions", "revoke_all_user_sessions"]
    # The session key and the decoded session data are deliberately absent.
    fieldsets = (
        (None, {"fields": ("id", "user", "effective_status")}),
        (
            _("Device"),
            {"fields": ("ip_address", "location", "user_agent", "device", "device_type")},
        ),
        (_("Times"), {"fields": ("created_at", "last_activity_at", "expires_at")}),
        (_("Audit trail"), {"fields": AUDIT_FIELDS}),
    )
    readonly_fields = (
        "id",
        "user",
        "effective_status",
        "ip_address",
        "location",
        "user_agent",
        "device",
        "device_type",
        "created_at",
        "last_activity_at",
        "expires_at",
        *AUDIT_FIELDS,
    )

    @staticmethod
    def user_search_fields() -> list[str]:
        user_model = get_user_model()
        return [user_model.USERNAME_FIELD, user_model.get_email_field_name()]

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return [f"user__{name}" for name in self.user_search_fields()]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[UserSession], search_term: str
    ) -> tuple[QuerySet[UserSession], bool]:
        """An IP address matches exactly; other words match usernames and emails.

        Both shapes let the database start from an index (the IP, or the few
        matching users) instead of walking a huge table in list order.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            ip = ipaddress.ip_address(term)
        except ValueError:
            pass
        else:
            return queryset.filter(ip_address=str(ip)), False
        users = get_user_model()._default_manager.all()
        for bit in smart_split(term):
            if bit[0] in "\"'" and bit[-1] == bit[0]:
                bit = unescape_string_literal(bit)
            matches = [Q(**{f"{name}__icontains": bit}) for name in self.user_search_fields()]
            users = users.filter(reduce(operator.or_, matches))
        return queryset.filter(user__in=users.values("pk")), False

    def get_queryset(self, request: HttpRequest) -> QuerySet[UserSession]:
        return super().get_queryset(request).prefetch_related("user")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return can_revoke(request)

    @admin.action(description=_("Revoke selected sessions"), permissions=["revoke"])
    def revoke_sessions(self, request: HttpRequest, queryset: UserSessionQuerySet) -> None:
        revoke_and_report(self, request, queryset)

    @admin.action(
        description=_("Revoke all sessions of the selected sessions' users"),
        permissions=["revoke"],
    )
    def revoke_all_user_sessions(self, request: HttpRequest, queryset: UserSessionQuerySet) -> None:
        users = queryset.order_by().values("user_id")
        revoke_and_report(self, request, UserSession.objects.filter(user__in=users))


class UserSessionInline(SessionDisplayMixin, SessionTabularInline):
    """The user's active sessions, read-only, for the User change page.

    Only active sessions are listed, so a user with a long history still gets
    a short page; the sessions changelist has the rest.
    """

    model = UserSession
    fk_name = "user"
    verbose_name = _("active session")
    verbose_name_plural = _("active sessions")
    fields = ("device", "location", "ip_address", "created_at", "last_activity_at")
    readonly_fields = fields
    ordering = ("-last_activity_at",)
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[UserSession]:
        sessions: UserSessionQuerySet = super().get_queryset(request)  # type: ignore[assignment]
        return sessions.active()

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class UserSessionsAdminMixin:
    """Add to a ``UserAdmin``: the sessions inline and a bulk revoke action.

    ::

        @admin.register(User)
        class MyUserAdmin(UserSessionsAdminMixin, UserAdmin):
            ...
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        base: Any = self
        if base.actions is not None:  # None means the project turned actions off
            base.actions = [*base.actions, "revoke_user_sessions"]

    def get_inlines(self, request: HttpRequest, obj: Model | None) -> list[type[InlineModelAdmin]]:
        inlines = list(super().get_inlines(request, obj))  # type: ignore[misc]
        return [*inlines, UserSessionInline]

    def has_revoke_sessions_permission(self, request: HttpRequest) -> bool:
        return can_revoke(request)

    @admin.action(
        description=_("Revoke all sessions of selected users"), permissions=["revoke_sessions"]
    )
    def revoke_user_sessions(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        sessions = UserSession.objects.filter(user__in=queryset.order_by().values("pk"))
        revoke_and_report(self, request, sessions)  # type: ignore[arg-type]


def integrate_user_admin(site: admin.AdminSite) -> bool:
    """Swap the stock ``UserAdmin`` on ``site`` for one with the sessions mixin.

    Returns whether it did. A project with its own ``UserAdmin`` is left alone;
    it can add ``UserSessionsAdminMixin`` itself.
    """
    if not app_settings.USER_ADMIN_INTEGRATION or not apps.is_installed("django.contrib.auth"):
        return False
    # Registers the stock UserAdmin now if autodiscover has not reached auth yet,
    # so INSTALLED_APPS order does not matter.
    from django.contrib.auth.admin import UserAdmin

    user_model = get_user_model()
    if type(site._registry.get(user_model)) is not UserAdmin:
        return False

    class SessionsUserAdmin(UserSessionsAdminMixin, UserAdmin):
        pass

    site.unregister(user_model)
    site.register(user_model, SessionsUserAdmin)
    return True


integrate_user_admin(admin.site)
