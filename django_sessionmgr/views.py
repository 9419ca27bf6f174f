"""HTML pages where a signed-in user sees and revokes their sessions.

Mount with ``path("account/sessions/", include("django_sessionmgr.urls"))``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, resolve_url
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.generic import ListView, TemplateView, View

from . import reauth, services
from .conf import django_settings
from .exceptions import RevokeFailed
from .impersonation import acting_user
from .markers import current_row_id
from .models import RevokeReason, UserSession
from .queries import UserSessionQuerySet

if TYPE_CHECKING:
    SessionListBase = ListView[UserSession]
else:  # generic views are not subscriptable at run time
    SessionListBase = ListView


class SessionViewMixin(LoginRequiredMixin):
    """The signed-in user's sessions; override ``get_queryset`` to narrow them."""

    request: HttpRequest

    def get_queryset(self) -> UserSessionQuerySet:
        return services.sessions_of(self.get_user())

    def get_user(self) -> AbstractBaseUser:
        user = self.request.user
        assert isinstance(user, AbstractBaseUser)  # LoginRequiredMixin ran first
        return user

    def get_acting_user(self) -> AbstractBaseUser:
        """Who revokes: the staff member while they impersonate the user."""
        acting: AbstractBaseUser = acting_user(self.request)
        return acting


class SessionListView(SessionViewMixin, SessionListBase):
    """The user's active sessions: this device first, then the others by latest activity.

    ``?show=ended`` lists the sessions that have ended instead (signed out,
    revoked or expired), newest first, so that a user can see what a sign-out
    ended; any other ``show`` is a 400.
    """

    template_name = "django_sessionmgr/session_list.html"
    context_object_name = "sessions"
    #: Sessions shown per page; a user with more gets page links.
    paginate_by = 50
    show_ended = False

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        show = request.GET.get("show", "active")
        if show not in ("active", "ended"):
            return HttpResponseBadRequest(
                _("Unknown value for show: use active or ended."), content_type="text/plain"
            )
        self.show_ended = show == "ended"
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> UserSessionQuerySet:
        sessions = super().get_queryset()
        if self.show_ended:
            return sessions.finished().order_by("-last_activity_at")
        return sessions.active().order_by("-last_activity_at")

    def get_current_session(self) -> UserSession | None:
        current = current_row_id(self.request)
        if self.show_ended or not current:
            return None
        return self.get_queryset().filter(pk=current).first()

    def group_sessions(
        self, sessions: Iterable[UserSession], current: UserSession | None
    ) -> tuple[list[UserSession], list[UserSession]]:
        """The page's sessions as (browsers, apps and API tokens), each in list
        order, this device first in its group."""
        rows = [current] if current else []
        rows += [session for session in sessions if current is None or session.pk != current.pk]
        browsers = [row for row in rows if row.kind == UserSession.Kind.SESSION]
        return browsers, [row for row in rows if row.kind != UserSession.Kind.SESSION]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # The pages list every active session, this one included, so that
        # counting and paging stay on the index; the template skips it there
        # and shows it on top instead.
        context = super().get_context_data(**kwargs)
        current = self.get_current_session()
        context["current_session"] = current
        context["browser_sessions"], context["app_sessions"] = self.group_sessions(
            context["sessions"], current
        )
        context["show_ended"] = self.show_ended
        context["password_required"] = reauth.password_needed(self.request)
        context["other_count"] = context["paginator"].count - (1 if current else 0)
        context["has_other_sessions"] = not self.show_ended and context["other_count"] > 0
        return context


class SessionRevokeOthersConfirmView(SessionViewMixin, TemplateView):
    """GET: ask before signing out every other session, saying how many and which."""

    template_name = "django_sessionmgr/revoke_others_confirm.html"
    #: Sessions named on the page; the rest are counted.
    max_listed = 10

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # The user's own sessions; the revoke also ends any impersonation
        # they run themselves (``services.own_others``), which is not theirs to list.
        others = services.others(self.get_queryset().active(), current_row_id(self.request))
        listed = list(others.order_by("-last_activity_at")[: self.max_listed])
        count = len(listed) if len(listed) < self.max_listed else others.count()
        context.update(other_sessions=listed, other_count=count, more_count=count - len(listed))
        context["password_required"] = reauth.password_needed(self.request)
        return context


class SessionRevokeView(SessionViewMixin, View):
    """POST: revoke one of the user's other sessions, then back to the list."""

    http_method_names = ["post"]
    success_url: str | None = None

    def get_success_url(self) -> str:
        return self.success_url or reverse("sessionmgr:list")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return super().dispatch(request, *args, **kwargs)
        except RevokeFailed:
            messages.error(
                request,
                str(services.STORE_NOT_ANSWERING),
            )
            return HttpResponseRedirect(self.get_success_url())

    def refuse(self, request: HttpRequest) -> HttpResponse | None:
        """Back to the list when ``REAUTH_FOR_REVOKE_OTHERS`` wants the password
        and the POST lacks it: one at a time is "sign out all others" too."""
        if not reauth.password_needed(request):
            return None
        password = request.POST.get("password")
        if reauth.confirm_password(request, self.get_acting_user(), password):
            return None
        messages.error(
            request,
            str(services.WRONG_PASSWORD)
            if password
            else _("Enter your password to sign out another session."),
        )
        return HttpResponseRedirect(self.get_success_url())

    def post(self, request: HttpRequest, pk: Any) -> HttpResponse:
        session = get_object_or_404(self.get_queryset(), pk=pk)
        if str(session.pk) != current_row_id(request) and (refused := self.refuse(request)):
            return refused
        try:
            revoked = services.revoke_one(
                session, current=current_row_id(request), by=self.get_acting_user()
            )
        except services.CurrentSession:
            messages.error(
                request,
                _("This is the session you are using. To end it, sign out."),
            )
        else:
            if revoked:
                messages.success(
                    request, _("Signed out %(device)s.") % {"device": session.device_summary}
                )
            else:
                messages.info(request, _("That session had already ended."))
        return HttpResponseRedirect(self.get_success_url())


class SessionRevokeOthersView(SessionRevokeView):
    """POST: revoke all the user's sessions except this one, then back to the list.

    With ``REAUTH_FOR_REVOKE_OTHERS``, and no recent sign-in, the POST must
    carry the password; without it (or with a wrong one) the confirmation
    page asks for it, answering 403, and nothing is revoked.
    """

    confirm_view_class = SessionRevokeOthersConfirmView

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if reauth.password_needed(request):
            password = request.POST.get("password")
            if not reauth.confirm_password(request, self.get_acting_user(), password):
                return self.ask_for_password(request, wrong=bool(password))
        count = services.revoke_own_others(
            self.get_queryset(),
            current=current_row_id(request),
            by=self.get_acting_user(),
            owner=self.get_user(),
        )
        if count:
            message = ngettext(
                "Signed out %(count)d other session.",
                "Signed out %(count)d other sessions.",
                count,
            ) % {"count": count}
            messages.success(request, message)
        else:
            messages.info(request, _("There were no other sessions to sign out."))
        return HttpResponseRedirect(self.get_success_url())

    def ask_for_password(self, request: HttpRequest, *, wrong: bool) -> HttpResponse:
        confirm = self.confirm_view_class()
        confirm.setup(request)
        error = (
            str(services.WRONG_PASSWORD)
            if wrong
            else _("Enter your password to sign out your other sessions.")
        )
        context = confirm.get_context_data(password_error=error)
        return TemplateResponse(request, confirm.get_template_names(), context, status=403)


class SessionSignOutView(LoginRequiredMixin, View):
    """POST: sign out this device (Django's ``logout``), then to ``LOGOUT_REDIRECT_URL``
    or the site's root."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        logout(request)
        target = django_settings.LOGOUT_REDIRECT_URL
        return HttpResponseRedirect(resolve_url(target) if target else get_script_prefix())


class SessionNotMeView(SessionRevokeView):
    """POST: "This wasn't me": sign a flagged session out, then change the password.

    Another session is revoked (asking for the password first under
    ``REAUTH_FOR_REVOKE_OTHERS``, as any revoke of one does), then the
    password change page opens. When the flagged session is this one (one
    session used from two places: someone holds a copy of its cookie), it
    ends here and everywhere its cookie is, and the password change page
    opens after signing in again.
    """

    #: The URL name (or path) of the project's password change page.
    password_change_url = "password_change"

    def post(self, request: HttpRequest, pk: Any) -> HttpResponse:
        # Only a flagged session: an unflagged one has its plain "Sign out".
        flagged = self.get_queryset().exclude(flag_reason="")
        session = get_object_or_404(flagged, pk=pk)
        # "suspicious": a disowned session vouches for nothing (its country
        # is not one the user's sessions came from).
        suspicious, acting = RevokeReason.SUSPICIOUS, self.get_acting_user()
        impersonating = acting.pk != self.get_user().pk
        if str(session.pk) == current_row_id(request):
            session.revoke(by=acting, reason=suspicious)
            logout(request)
            return redirect_to_login(self.next_page(impersonating), self.get_login_url())
        if refused := self.refuse(request):
            return refused
        if not services.revoke_one(session, current=None, by=acting, reason=suspicious):
            messages.info(request, _("That session had already ended."))
            return HttpResponseRedirect(self.get_success_url())
        # The password is the user's to change, not the impersonating staff member's.
        done = (
            _("Signed out %(device)s.")
            if impersonating
            else _("Signed out %(device)s. Now change your password.")
        )
        messages.success(request, done % {"device": session.device_summary})
        return HttpResponseRedirect(self.next_page(impersonating))

    def next_page(self, impersonating: bool) -> str:
        """The password change page, else (or to staff impersonating the
        user: the password is the user's to change) the sessions list."""
        if impersonating:
            return self.get_success_url()
        try:
            return resolve_url(self.password_change_url)
        except NoReverseMatch:
            return self.get_success_url()
