"""The sessions on the User admin: ``UserSessionsAdminMixin`` (a read-only
table of the user's recent sessions and a bulk revoke action),
``integrate_user_admin`` (which puts it on the stock ``UserAdmin``), and the
older ``UserSessionInline``.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..conf import app_settings
from ..models import VIEW_PERMISSION, UserSession
from ..queries import UserSessionQuerySet
from .cells import SessionDisplayMixin, device_cell, ip_cell, short_datetime, status_label
from .lookups import NoSessionKeyLookupsMixin, capped_search_words
from .revoking import can_revoke, confirm_or_revoke, own_row_id
from .sessions import USER_PARAMETER

if TYPE_CHECKING:
    SessionTabularInline = admin.TabularInline[UserSession, Any]
else:  # the admin classes are not subscriptable at run time
    SessionTabularInline = admin.TabularInline


#: How many of a user's sessions the User change page lists; the filtered
#: sessions changelist has the rest.
USER_PAGE_SESSIONS = 20

#: The app's admin section and the user page's sessions fieldset. With a
#: context, so that django.contrib.sessions' own "Sessions" (which its German
#: catalog leaves as "Sessions") cannot win over this app's "Sitzungen".
SESSIONS_SECTION = pgettext_lazy("admin section", "Sessions")


class UserSessionInline(SessionDisplayMixin, SessionTabularInline):
    """The user's active sessions, read-only, as an inline formset.

    Not used by default (``UserSessionsAdminMixin`` draws a plain table): an
    inline is a formset, so every POST to a page that has it must carry its
    management form, which stock scripts and tests posting to the user admin
    do not send. Only active sessions are listed.
    """

    model = UserSession
    fk_name = "user"
    verbose_name = _("active session")
    verbose_name_plural = _("active sessions")
    fields = ("device", "location", "shown_ip_address", "created_at", "last_activity_at")
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


class UserSessionsAdminMixin(NoSessionKeyLookupsMixin):
    """Add to a ``UserAdmin``: the user's recent sessions and a bulk revoke action.

    The sessions are drawn as a read-only table (no formset), so the user
    admin's forms accept exactly what they accept without this mixin.

    ::

        @admin.register(User)
        class MyUserAdmin(UserSessionsAdminMixin, UserAdmin):
            ...
    """

    sessions_field = "recent_sessions"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        base: Any = self
        if base.actions is not None:  # None means the project turned actions off
            base.actions = [*base.actions, "revoke_user_sessions"]

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        obj = super().get_object(request, object_id, from_field)  # type: ignore[misc]
        if obj is not None:
            # The sessions table is a read-only field, drawn from the object
            # alone; this is how it learns which row is the viewer's own, and
            # whether to offer "Revoke all of this user's sessions".
            obj.sessionmgr_own = own_row_id(request)
            obj.sessionmgr_can_revoke = can_revoke(request)
        return obj

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))  # type: ignore[misc]
        if obj is None or not request.user.has_perm(VIEW_PERMISSION):
            return fieldsets
        return [*fieldsets, (SESSIONS_SECTION, {"fields": [self.sessions_field]})]

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        return fields if obj is None else [*fields, self.sessions_field]

    @admin.display(description=_("Most recent sessions"))
    def recent_sessions(self, obj: Model) -> str:
        site = self.admin_site  # type: ignore[attr-defined]
        sessions = (
            UserSession.objects.filter(user_id=obj.pk)
            .select_related("revoked_by")
            .order_by("-last_activity_at")
        )
        own = getattr(obj, "sessionmgr_own", None)
        rows = []
        for session in sessions[:USER_PAGE_SESSIONS]:
            try:
                url = reverse(
                    "admin:django_sessionmgr_usersession_change",
                    args=[session.pk],
                    current_app=site.name,
                )
            except NoReverseMatch:
                url = ""
            rows.append(
                {
                    "session": session,
                    "device": device_cell(session),
                    "ip_address": ip_cell(session),
                    "url": url,
                    "status": status_label(session, own),
                    "last_active": short_datetime(session.last_activity_at),
                    "created": short_datetime(session.created_at),
                }
            )
        try:
            changelist = reverse(
                "admin:django_sessionmgr_usersession_changelist", current_app=site.name
            )
        except NoReverseMatch:
            changelist = ""
        revoke_all = ""
        if getattr(obj, "sessionmgr_can_revoke", False):
            others = UserSession.objects.filter(user_id=obj.pk).active()
            if own is not None:
                others = others.exclude(pk=own)
            if others.exists():
                with contextlib.suppress(NoReverseMatch):
                    revoke_all = reverse(
                        "admin:django_sessionmgr_usersession_revoke_user",
                        args=[obj.pk],
                        current_app=site.name,
                    )
        return render_to_string(
            "admin/django_sessionmgr/user_sessions.html",
            {
                "rows": rows,
                "revoke_all_url": revoke_all,
                "limit": USER_PAGE_SESSIONS,
                "all_url": f"{changelist}?{USER_PARAMETER}={obj.pk}" if changelist else "",
            },
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = " ".join(capped_search_words(request, search_term))
        return super().get_search_results(request, queryset, term)  # type: ignore[misc,no-any-return]

    def has_revoke_sessions_permission(self, request: HttpRequest) -> bool:
        return can_revoke(request)

    @admin.action(
        description=_("Revoke all sessions of selected users"), permissions=["revoke_sessions"]
    )
    def revoke_user_sessions(
        self, request: HttpRequest, queryset: QuerySet[Any]
    ) -> TemplateResponse | None:
        sessions = UserSession.objects.signed_in_as_or_by(queryset.order_by().values("pk"))
        return confirm_or_revoke(self, request, sessions)  # type: ignore[arg-type]


def integrate_user_admin(site: admin.AdminSite) -> bool:
    """Swap the stock ``UserAdmin`` on ``site`` for one with the sessions mixin.

    Returns whether it did. A project with its own ``UserAdmin`` is left alone;
    it can add ``UserSessionsAdminMixin`` itself.
    """
    if not app_settings.USER_ADMIN_INTEGRATION or not apps.is_installed("django.contrib.auth"):
        return False
    # Imported here, not at the top, because importing it is app loading: it
    # registers the stock User and Group admins on the default site, which only
    # integrating may do (not a project that turned this off, nor one without
    # django.contrib.auth). Doing it now, if autodiscover has not reached auth
    # yet, is what makes INSTALLED_APPS order not matter.
    from django.contrib.auth.admin import UserAdmin

    user_model = get_user_model()
    if (
        not site.is_registered(user_model)
        or type(site.get_model_admin(user_model)) is not UserAdmin
    ):
        return False

    base: Any = UserAdmin  # UserAdmin[...] only for the type checker

    class SessionsUserAdmin(UserSessionsAdminMixin, base):  # type: ignore[misc]
        pass

    site.unregister(user_model)
    site.register(user_model, SessionsUserAdmin)
    return True
