"""The sessions admin: ``UserSessionAdmin`` (registered for ``UserSession``),
its status filter and its changelist.

Rows are read-only and cannot be deleted; staff revoke them.
"""

from __future__ import annotations

import ipaddress
import operator
from functools import reduce
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Field, Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import unescape_string_literal
from django.utils.translation import gettext_lazy as _

from ..conf import app_settings
from ..models import UserSession
from ..network import stored_ip
from ..queries import UserSessionQuerySet
from .cells import (
    SessionDisplayMixin,
    ip_cell,
    place_of,
    short_datetime,
    status_label,
    username_cell,
)
from .flags import FLAG_FIELDS, FlaggedListFilter, flag_note
from .lookups import NoSessionKeyLookupsMixin, capped_search_words
from .paging import LookaheadPaginator, requested_page
from .revoking import can_revoke, confirm_or_revoke, own_row_id

if TYPE_CHECKING:
    SessionModelAdmin = admin.ModelAdmin[UserSession]
else:  # the admin classes are not subscriptable at run time
    SessionModelAdmin = admin.ModelAdmin


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
        if value == UserSession.Status.EXPIRED:
            return sessions.expired_in_list_order()
        return sessions.with_status(value)


#: Columns that hold an IP address as it was stored, perhaps before
#: ``IP_ADDRESS_STORAGE`` was lowered.
IP_FIELDS = ("ip_address", "last_ip_address")

#: The query parameter of the user page's link to all of a user's sessions.
USER_PARAMETER = "user"


class SessionChangeList(ChangeList):
    """Marks the row of the staff member's own session, for the status column,
    and sorts by IP address only while full addresses are shown: an order of
    stored addresses would tell apart what a truncated one hides."""

    def get_ordering_field(self, field_name: Any) -> Any:
        field = super().get_ordering_field(field_name)
        if (
            isinstance(field, str)
            and field.lstrip("-") in IP_FIELDS
            and app_settings.IP_ADDRESS_STORAGE != "full"
        ):
            return None
        return field

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        own = own_row_id(request)
        rows = list(self.result_list)
        for row in rows:
            row.sessionmgr_own = own
        self.result_list = rows


DATE_FILTERS = ("created_at", "last_activity_at", "expires_at")

# One "ended at" for every way a session ends (signed out, revoked, expired),
# and the reason in words for staff rather than its stored code.
AUDIT_FIELDS = ("ended_because", "ended_moment", "revoked_by")


@admin.register(UserSession)
class UserSessionAdmin(NoSessionKeyLookupsMixin, SessionDisplayMixin, SessionModelAdmin):
    # Narrow enough for a 1280 px screen: status comes early, the place rides
    # under the IP address and times are short.
    list_display = ("user_column", "status_column", "device", "network", "times")
    list_filter = (StatusListFilter, FlaggedListFilter, "kind", *DATE_FILTERS)
    search_help_text = _("Username, email address, or an exact IP address.")
    # Users come in one extra query (prefetch) rather than a JOIN: with a JOIN,
    # the planner may start from the user table and sort a million sessions
    # instead of walking the (status,) created_at index for one page.
    list_select_related = ()
    # Newest first along the (created_at, id, ...) index; the admin adds the id
    # tie-break itself, and an index-backed order is what keeps a page of a
    # huge table from sorting all of it.
    ordering = ("-created_at",)
    # COUNT(*) over millions of rows is the slow part of a big changelist:
    # no total, and the list's own count stops a few pages ahead (get_paginator).
    show_full_result_count = False
    if hasattr(admin, "ShowFacets"):  # Django 5.0+
        # Facets cost a COUNT per filter choice, a dozen scans of a big table.
        show_facets = admin.ShowFacets.NEVER
    actions = ["revoke_sessions", "revoke_all_user_sessions"]

    class Media:
        css = {"all": ["django_sessionmgr/admin.css"]}

    # The session key and the decoded session data are deliberately absent.
    fieldsets = (
        (None, {"fields": ("id", "user", "effective_status", "kind", "name")}),
        (
            _("Device"),
            {
                "fields": (
                    "shown_ip_address",
                    "location",
                    "user_agent",
                    "device",
                    "device_type",
                )
            },
        ),
        (
            _("Times"),
            {"fields": ("created_at", "last_activity_at", "expires_at", "access_valid_until")},
        ),
        (_("Audit trail"), {"fields": (*AUDIT_FIELDS, *FLAG_FIELDS)}),
    )
    readonly_fields = (
        "id",
        "user",
        "effective_status",
        "kind",
        "name",
        "shown_ip_address",
        "location",
        "user_agent",
        "device",
        "device_type",
        "created_at",
        "last_activity_at",
        "expires_at",
        "access_valid_until",
        *AUDIT_FIELDS,
        *FLAG_FIELDS,
    )

    # The change page adds a "Revoke this session" button (object tools).
    change_form_template = "admin/django_sessionmgr/usersession/change_form.html"

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return SessionChangeList

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: QuerySet[UserSession],
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> LookaheadPaginator:
        return LookaheadPaginator(
            queryset, per_page, orphans, allow_empty_first_page, page=requested_page(request)
        )

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/revoke/",
                view(self.revoke_one_view),
                name="{}_{}_revoke".format(*info),
            ),
            path(
                "revoke-user/<path:user_id>/",
                view(self.revoke_user_view),
                name="{}_{}_revoke_user".format(*info),
            ),
            *super().get_urls(),
        ]

    def revoke_one_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The change page's "Revoke this session": the confirmation page, then back."""
        # The confirmation lists sessions: revoking them needs seeing them.
        if not (can_revoke(request) and self.has_view_permission(request)):
            raise PermissionDenied
        session = self.get_object(request, object_id)
        if session is None:
            raise Http404
        sessions = UserSession.objects.filter(pk=session.pk)
        response = confirm_or_revoke(self, request, sessions)
        if response is not None:
            return response
        return HttpResponseRedirect(
            reverse(
                "admin:django_sessionmgr_usersession_change",
                args=[session.pk],
                current_app=self.admin_site.name,
            )
        )

    def revoke_user_view(self, request: HttpRequest, user_id: str) -> HttpResponse:
        """The user page's "Revoke all of this user's sessions": confirm, then back."""
        # The confirmation lists sessions: revoking them needs seeing them.
        if not (can_revoke(request) and self.has_view_permission(request)):
            raise PermissionDenied
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get(pk=user_model._meta.pk.to_python(user_id))
        except (ValidationError, ValueError, user_model.DoesNotExist) as error:
            raise Http404 from error
        response = confirm_or_revoke(
            self, request, UserSession.objects.signed_in_as_or_by([user.pk])
        )
        if response is not None:
            return response
        try:
            back = reverse(
                f"admin:{user_model._meta.app_label}_{user_model._meta.model_name}_change",
                args=[user.pk],
                current_app=self.admin_site.name,
            )
        except NoReverseMatch:
            back = reverse(
                "admin:django_sessionmgr_usersession_changelist", current_app=self.admin_site.name
            )
        return HttpResponseRedirect(back)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: UserSession | None = None,
    ) -> HttpResponse:
        revocable = obj is not None and obj.is_active and str(obj.pk) != own_row_id(request)
        if revocable and can_revoke(request):
            assert obj is not None
            context["sessionmgr_revoke_url"] = reverse(
                "admin:django_sessionmgr_usersession_revoke",
                args=[obj.pk],
                current_app=self.admin_site.name,
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        """Only the parameters the changelist's own filters produce, and
        ``user`` (the user page's link to all of a user's sessions).

        Django allows any lookup on a model's own fields; here that would
        test what the admin never shows (full IP addresses under
        ``IP_ADDRESS_STORAGE``, user agents, places, the key digest). Anything
        else gets Django's answer to a disallowed lookup (400).
        """
        if not super().lookup_allowed(lookup, value, request):
            return False
        return lookup in self.filter_parameters(request)

    def filter_parameters(self, request: HttpRequest | None) -> set[str]:
        """The query parameters that ``list_filter`` produces."""
        allowed = {USER_PARAMETER}
        for item in self.get_list_filter(request) if request is not None else self.list_filter:
            if isinstance(item, type) and issubclass(item, admin.SimpleListFilter):
                allowed.add(str(item.parameter_name))
            elif isinstance(item, str) and request is not None:
                field = self.model._meta.get_field(item)
                assert isinstance(field, Field)  # list_filter names the model's own columns
                spec = admin.FieldListFilter.create(
                    field, request, {}, self.model, self, field_path=item
                )
                allowed.update(name for name in spec.expected_parameters() if name)
        return allowed

    @admin.display(description=_("status"), ordering="status")
    def status_column(self, obj: UserSession) -> SafeString:
        return status_label(obj, getattr(obj, "sessionmgr_own", None)) + flag_note(obj)

    @admin.display(description=_("user"), ordering="user")
    def user_column(self, obj: UserSession) -> SafeString:
        return username_cell(obj.user)

    @admin.display(description=_("IP address"), ordering="ip_address")
    def network(self, obj: UserSession) -> SafeString:
        ip, place = ip_cell(obj), place_of(obj)
        if not place:
            return ip
        return format_html('{}<br><span class="quiet">{}</span>', ip, place)

    @admin.display(description=_("created / last activity"), ordering="created_at")
    def times(self, obj: UserSession) -> SafeString:
        return format_html(
            '<span class="sessionmgr-date">{}</span><br>'
            '<span class="quiet sessionmgr-date">{}</span>',
            short_datetime(obj.created_at),
            short_datetime(obj.last_activity_at),
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
        """An IP address matches its stored form; other words match usernames and emails.

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
            # With truncated addresses an address finds its network's rows, and
            # with none nothing: never a full address the admin does not show.
            stored = stored_ip(str(ip))
            return queryset.filter(ip_address=stored) if stored else queryset.none(), False
        users = get_user_model()._default_manager.all()
        for bit in capped_search_words(request, term):
            if bit[0] in "\"'" and bit[-1] == bit[0]:
                bit = unescape_string_literal(bit)
            matches = [Q(**{f"{name}__icontains": bit}) for name in self.user_search_fields()]
            users = users.filter(reduce(operator.or_, matches))
        return queryset.filter(user__in=users.values("pk")), False

    def get_queryset(self, request: HttpRequest) -> QuerySet[UserSession]:
        # revoked_by for the staff wording of the status (staff_reason).
        return super().get_queryset(request).prefetch_related("user", "revoked_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return can_revoke(request)

    @admin.action(description=_("Revoke selected sessions"), permissions=["revoke"])
    def revoke_sessions(
        self, request: HttpRequest, queryset: UserSessionQuerySet
    ) -> TemplateResponse | None:
        return confirm_or_revoke(self, request, queryset)

    @admin.action(
        description=_("Revoke all sessions of the selected sessions' users"),
        permissions=["revoke"],
    )
    def revoke_all_user_sessions(
        self, request: HttpRequest, queryset: UserSessionQuerySet
    ) -> TemplateResponse | None:
        users = queryset.order_by().values("user_id")
        return confirm_or_revoke(self, request, UserSession.objects.signed_in_as_or_by(users))
