"""The admin's revoke flow: who may revoke, which row is the staff member's
own, the confirmation page (Django's ``delete_selected`` pattern), then the
revoke through the one staff path, with a message that counts.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext

from .. import services
from ..exceptions import RevokeFailed
from ..impersonation import acting_user
from ..markers import current_row_id
from ..models import REVOKE_PERMISSION, RevokeReason, UserSession
from ..queries import UserSessionQuerySet
from ..receivers import logging_admin_revokes
from .cells import device_cell, ip_cell, short_datetime

#: How many users a revoke confirmation page names; it counts the rest.
CONFIRMATION_USERS = 20

#: How many sessions a revoke confirmation page lists (device, IP, last
#: activity), as Django's delete confirmation lists its objects; it counts the rest.
CONFIRMATION_SESSIONS = 20


def can_revoke(request: HttpRequest) -> bool:
    return request.user.has_perm(REVOKE_PERMISSION)


def own_row_id(request: HttpRequest) -> str | None:
    """The id of the row behind the staff member's own session, if it has one
    (``markers.current_row_id``, as the API and the pages ask)."""
    row_id = current_row_id(request)
    try:
        return str(UserSession._meta.pk.to_python(row_id)) if row_id else None
    except ValidationError:
        return None


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
            str(services.STORE_NOT_ANSWERING),
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
                "device": device_cell(session),
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
