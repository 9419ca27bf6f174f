"""Django admin: staff find any user's sessions and revoke them.

Rows are read-only: the app writes them, and the admin only revokes. There is
no delete either: deleting a row would erase its audit trail and leave its
session signed in until the middleware next checks the row, while a revoke
ends the session at once and keeps the record.

``UserSessionsAdminMixin`` puts a user's most recent sessions (a read-only
table, no formset) and a "Revoke all sessions of selected users" action on a
project's own ``UserAdmin``. With ``SESSIONMGR["USER_ADMIN_INTEGRATION"]``
(default on), a project that uses the stock ``django.contrib.auth.admin.UserAdmin``
gets both without a line of code.

Every revoke goes through a confirmation page and spares the staff member's
own session. No query parameter can name the session key (see
``NoSessionKeyLookupsMixin``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import operator
from functools import reduce
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import DatabaseError, router, transaction
from django.db.models import BooleanField, Case, Field, Model, Q, QuerySet, When
from django.db.models.constants import LOOKUP_SEP
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString
from django.utils.text import smart_split, unescape_string_literal
from django.utils.timezone import localtime
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from . import services
from .conf import app_settings
from .exceptions import RevokeFailed
from .impersonation import acting_user
from .models import (
    REVOKE_PERMISSION,
    VIEW_PERMISSION,
    RevokeReason,
    UserSession,
    UserSessionQuerySet,
)
from .network import stored_ip
from .receivers import logging_admin_revokes
from .tracking import session_row_id

if TYPE_CHECKING:
    from datetime import datetime

    SessionModelAdmin = admin.ModelAdmin[UserSession]
    SessionTabularInline = admin.TabularInline[UserSession, Any]
    SessionPaginator = Paginator[UserSession]
else:  # the admin classes and Paginator are not subscriptable at run time
    SessionModelAdmin = admin.ModelAdmin
    SessionTabularInline = admin.TabularInline
    SessionPaginator = Paginator


#: The field that holds the session key, in whatever form it is stored. No
#: admin query parameter may name it (or a field named after it), or a right
#: guess and a wrong one would get different answers.
SECRET_FIELD = "session_key"

#: More words than this in an admin search are ignored (with a message): each
#: word adds OR'd lookups, and a few hundred overflow SQLite's expression depth.
MAX_SEARCH_WORDS = 10

#: How many of a user's sessions the User change page lists; the filtered
#: sessions changelist has the rest.
USER_PAGE_SESSIONS = 20

#: The app's admin section and the user page's sessions fieldset. With a
#: context, so that django.contrib.sessions' own "Sessions" (which its German
#: catalog leaves as "Sessions") cannot win over this app's "Sitzungen".
SESSIONS_SECTION = pgettext_lazy("admin section", "Sessions")

#: How many users a revoke confirmation page names; it counts the rest.
CONFIRMATION_USERS = 20

#: How many sessions a revoke confirmation page lists (device, IP, last
#: activity), as Django's delete confirmation lists its objects; it counts the rest.
CONFIRMATION_SESSIONS = 20


def can_revoke(request: HttpRequest) -> bool:
    return request.user.has_perm(REVOKE_PERMISSION)


def names_secret_field(lookup: str) -> bool:
    """Whether a lookup path (``user__user_sessions__session_key__regex``) reaches the key."""
    return any(part.startswith(SECRET_FIELD) for part in lookup.split(LOOKUP_SEP))


def reaches_sessions(lookup: str) -> bool:
    """Whether a lookup of another model's admin (the user admin's
    ``user_sessions__isnull``, ``user_sessions__id``) reaches the sessions:
    staff who may not view sessions could test them through it."""
    related = UserSession._meta.get_field("user").remote_field.related_name
    return related in lookup.split(LOOKUP_SEP)


def own_row_id(request: HttpRequest) -> str | None:
    """The id of the row behind the staff member's own session, if it has one."""
    row_id = session_row_id(request)
    try:
        return str(UserSession._meta.pk.to_python(row_id)) if row_id else None
    except ValidationError:
        return None


def capped_search_words(request: HttpRequest, search_term: str) -> list[str]:
    """The search's words, at most ``MAX_SEARCH_WORDS``; says so when it drops some."""
    words = list(smart_split(search_term))
    if len(words) > MAX_SEARCH_WORDS:
        messages.warning(
            request,
            ngettext(
                "Search uses at most %(count)d word; the rest were ignored.",
                "Search uses at most %(count)d words; the rest were ignored.",
                MAX_SEARCH_WORDS,
            )
            % {"count": MAX_SEARCH_WORDS},
        )
    return words[:MAX_SEARCH_WORDS]


class NoSessionKeyLookupsMixin:
    """Refuse every query parameter that names the session key, whatever the operator.

    Such a request gets the admin's own answer to an unknown field (the
    ``?e=1`` redirect), the same for a right guess as for a wrong one. It also
    refuses malformed selections in action POSTs instead of failing on them.
    """

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        if any(names_secret_field(name) for name in request.GET):
            raise IncorrectLookupParameters(SECRET_FIELD)
        # A value the database cannot take (an integer past 64 bits, year
        # 99999) fails only when the count runs: answer it as the admin answers
        # any other bad lookup. The savepoint keeps a failed query from
        # poisoning the request's transaction (ATOMIC_REQUESTS, PostgreSQL).
        model: type[Model] = self.model  # type: ignore[attr-defined]
        try:
            with transaction.atomic(using=router.db_for_read(model)):
                return super().get_changelist_instance(request)  # type: ignore[misc,no-any-return]
        except (DatabaseError, OverflowError, ValueError) as error:
            raise IncorrectLookupParameters(error) from error

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if names_secret_field(lookup) or reaches_sessions(lookup):
            return False
        return super().lookup_allowed(lookup, value, request)  # type: ignore[misc,no-any-return]

    def to_field_allowed(self, request: HttpRequest, to_field: str) -> bool:
        if names_secret_field(to_field):
            return False
        return super().to_field_allowed(request, to_field)  # type: ignore[misc,no-any-return]

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any
    ) -> HttpResponse | None:
        model_admin: Any = self
        pk_field = model_admin.model._meta.pk
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                pk_field.to_python(value)
        except ValidationError:
            model_admin.message_user(
                request,
                gettext("Unknown items were selected. Nothing was changed."),
                messages.ERROR,
            )
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset, *args, **kwargs)  # type: ignore[misc,no-any-return]


def revoke_and_report(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, sessions: UserSessionQuerySet
) -> None:
    """Revoke ``sessions`` through the one bulk path, sparing the staff member's
    own session; each revoked row gets an entry in the admin's history, under
    the real staff member (the one behind an impersonation)."""
    try:
        with logging_admin_revokes():
            count, own_left_out = services.revoke_as_staff(
                sessions,
                current=own_row_id(request),
                by=acting_user(request),
                reason=RevokeReason.ADMIN,
            )
    except RevokeFailed:
        model_admin.message_user(
            request,
            gettext(
                "Signing out failed: the session store is not answering, so nothing "
                "was changed. Please try again in a moment."
            ),
            messages.ERROR,
        )
        return
    message = ngettext("Revoked %(count)d session.", "Revoked %(count)d sessions.", count) % {
        "count": count
    }
    if own_left_out:
        message += " " + gettext("Your own session was left out.")
    model_admin.message_user(request, message, messages.SUCCESS if count else messages.WARNING)


def confirm_or_revoke(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, sessions: UserSessionQuerySet
) -> TemplateResponse | None:
    """Django's ``delete_selected`` pattern: a confirmation page, then ``post=yes`` revokes."""
    if request.POST.get("post") == "yes":
        revoke_and_report(model_admin, request, sessions)
        return None
    own = own_row_id(request)
    ending = sessions.active()
    if own is not None:
        ending = ending.exclude(pk=own)
    users = get_user_model()._default_manager.filter(pk__in=ending.order_by().values("user_id"))
    user_count = users.count()
    by_name = users.order_by(get_user_model().USERNAME_FIELD)
    shown_users = [str(u) for u in by_name[:CONFIRMATION_USERS]] if user_count else []
    session_count = ending.count()
    listed: list[UserSession] = (
        list(ending.select_related("user").order_by("-last_activity_at")[:CONFIRMATION_SESSIONS])
        if session_count
        else []
    )
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": gettext("Are you sure?"),
        "subtitle": None,
        "opts": opts,
        "app_label": opts.app_label,
        "session_count": session_count,
        "sessions": [
            {
                "user": str(session.user),
                "device": session.device_summary,
                "ip_address": ip_cell(session),
                "last_active": short_datetime(session.last_activity_at),
            }
            for session in listed
        ],
        "more_sessions": session_count - len(listed),
        "users": shown_users,
        "more_users": user_count - len(shown_users),
        "action": request.POST.get("action", ""),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across") == "1",
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": model_admin.media,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/django_sessionmgr/revoke_confirmation.html", context)


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
    from .templatetags.sessionmgr_tags import ip_markup

    shown = stored_ip(obj.ip_address)
    return ip_markup(shown) if shown else format_html("{}", gettext("Unknown"))


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
    def device(self, obj: UserSession) -> str:
        return obj.device_summary

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
        if value == UserSession.Status.EXPIRED:
            return queryset.filter(expired_case())
        sessions: UserSessionQuerySet = queryset  # type: ignore[assignment]
        return sessions.with_status(value)


def expired_case() -> Case:
    """``UserSessionQuerySet.expired()`` as one CASE: a row marked expired, or
    an active one past its expiry.

    As an OR of two conditions on ``status``, a planner without
    statistics (SQLite as Django leaves it) reads both statuses through the
    status index and sorts them all for one page. No index serves a CASE, so
    the list walks its own order index (``sessionmgr_created_status``, which
    holds both columns the CASE tests) and stops at the page.
    """
    status = UserSession.Status
    return Case(
        When(status=status.ACTIVE, then=Q(expires_at__lte=timezone.now())),
        default=Q(status=status.EXPIRED),
        output_field=BooleanField(),
    )


#: Columns that hold an IP address as it was stored, perhaps before
#: ``IP_ADDRESS_STORAGE`` was lowered.
IP_FIELDS = ("ip_address", "last_ip_address")

#: The query parameter of the user page's link to all of a user's sessions.
USER_PARAMETER = "user"


#: How many pages past the one shown the changelist counts; beyond them it
#: counts no further (see ``LookaheadPaginator``).
PAGES_AHEAD = 4

#: No count goes past this many rows, whatever page a URL asks for: a
#: LIMIT every database takes (a 64-bit integer).
MAX_COUNTED_ROWS = 2**62


class LookaheadPaginator(SessionPaginator):
    """Counts the rows of the list only up to ``PAGES_AHEAD`` pages past ``page``.

    A COUNT of every row of a status reads all of them, however the page
    itself is found: at a million rows that count was most of the time a
    filtered changelist took. This one counts the first rows in the list's
    own order (the page's plan, stopped after so many rows), so it costs
    what the next few pages cost, whatever the table's size. When more rows
    follow, ``count`` is that bound, the page links end with an ellipsis, and
    each later page counts further on. A lighter list gets its exact count.
    """

    def __init__(
        self, object_list: QuerySet[UserSession], per_page: int, *args: Any, page: int = 1
    ) -> None:
        super().__init__(object_list, per_page, *args)
        self.rows = object_list
        self.counted_rows = min(int(per_page) * (max(page, 1) + PAGES_AHEAD), MAX_COUNTED_ROWS)

    @cached_property
    def count(self) -> int:
        return min(self._found, self.counted_rows)

    @cached_property
    def has_more(self) -> bool:
        """Whether rows follow those counted."""
        return self._found > self.counted_rows

    @cached_property
    def _found(self) -> int:
        return self.rows[: self.counted_rows + 1].count()

    def get_elided_page_range(self, *args: Any, **kwargs: Any) -> Any:
        yield from super().get_elided_page_range(*args, **kwargs)
        if self.has_more:
            yield self.ELLIPSIS


def requested_page(request: HttpRequest) -> int:
    """The changelist's page number, read as ``ChangeList`` reads it."""
    try:
        return int(request.GET.get(PAGE_VAR, 1))
    except ValueError:
        return 1


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


# One "ended at" for every way a session ends (signed out, revoked, expired),
# and the reason in words for staff rather than its stored code.
AUDIT_FIELDS = ("ended_because", "ended_moment", "revoked_by")


@admin.register(UserSession)
class UserSessionAdmin(NoSessionKeyLookupsMixin, SessionDisplayMixin, SessionModelAdmin):
    # Narrow enough for a 1280 px screen: status comes early, the place rides
    # under the IP address and times are short.
    list_display = ("user_column", "status_column", "device", "network", "times")
    list_filter = (StatusListFilter, "created_at", "last_activity_at", "expires_at")
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
        (None, {"fields": ("id", "user", "effective_status")}),
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
        (_("Times"), {"fields": ("created_at", "last_activity_at", "expires_at")}),
        (_("Audit trail"), {"fields": AUDIT_FIELDS}),
    )
    readonly_fields = (
        "id",
        "user",
        "effective_status",
        "shown_ip_address",
        "location",
        "user_agent",
        "device",
        "device_type",
        "created_at",
        "last_activity_at",
        "expires_at",
        *AUDIT_FIELDS,
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
        return status_label(obj, getattr(obj, "sessionmgr_own", None))

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
    # Registers the stock UserAdmin now if autodiscover has not reached auth yet,
    # so INSTALLED_APPS order does not matter.
    from django.contrib.auth.admin import UserAdmin

    user_model = get_user_model()
    if type(site._registry.get(user_model)) is not UserAdmin:
        return False

    base: Any = UserAdmin  # UserAdmin[...] only for the type checker

    class SessionsUserAdmin(UserSessionsAdminMixin, base):  # type: ignore[misc]
        pass

    site.unregister(user_model)
    site.register(user_model, SessionsUserAdmin)
    return True


integrate_user_admin(admin.site)
