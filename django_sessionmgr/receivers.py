"""Signal receivers, connected in ``SessionMgrConfig.ready()``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any

from django.apps import apps
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from .conf import app_settings
from .exceptions import RevokeFailed
from .internals import password_changed_in_save
from .markers import session_row_id
from .models import RevokeReason, UserSession
from .notifications import EMAIL_RECEIVER_UID, email_on_new_device
from .safety import contained
from .signals import new_device_signed_in, session_revoked
from .state import current_state
from .tracking import end_session, start_session

logger = logging.getLogger("django_sessionmgr")


def record_login(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: Any
) -> None:
    if request is not None and signed_into_session(request, user):
        start_session(request, user, login_kind(request))


def login_kind(request: HttpRequest) -> str:
    """``app_session`` for a login through allauth headless' app client, else ``session``."""
    if apps.is_installed("allauth.headless"):
        from .tokens import allauth_headless  # imports allauth: only once it is installed

        if allauth_headless.app_login(request):
            return allauth_headless.KIND
    return UserSession.Kind.SESSION


def signed_into_session(request: HttpRequest, user: AbstractBaseUser) -> bool:
    """Whether ``user_logged_in`` follows a login into the request's session.

    ``login()`` and ``alogin()`` write the user's key under ``SESSION_KEY``, in
    this request, before they send it. A token login that sends the signal by
    itself (django-rest-knox's ``LoginView``) leaves the session as it was:
    the app neither reads nor saves it, and records no row.
    """
    session = getattr(request, "session", None)
    if session is None or not session.modified:
        return False
    return bool(session.get(SESSION_KEY) == user._meta.pk.value_to_string(user))


def record_logout(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    if request is not None and not token_logout(request):
        contained(partial(end_session, request), default=None, what="record a logout")


def token_logout(request: HttpRequest) -> bool:
    """Whether ``user_logged_out`` comes from a token's logout (knox's
    ``logout/`` and ``logoutall/`` send it with the DRF request their token
    authenticated): the browser session the request may also carry goes on,
    and the token's own row is ended by its adapter."""
    return getattr(request, "auth", None) is not None


def revoke_on_password_change(
    sender: Any,
    instance: AbstractBaseUser,
    created: bool,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    """After ``set_password()`` and save, revoke the user's other sessions.

    ``AbstractBaseUser.save`` clears ``_password`` only after ``post_save``, so
    a non-None value here means the password changed in this save. The session
    serving the current request (if it is this user's) stays active.
    """
    if created or not password_changed_in_save(instance):
        return
    if update_fields is not None and "password" not in update_fields:
        return  # the new hash was not written
    if not app_settings.REVOKE_ON_PASSWORD_CHANGE:
        return

    current = changing_session_id()

    def revoke_others() -> int:
        # Read inside ``contained``: finding the sessions queries too.
        others = UserSession.objects.signed_in_as_or_by([instance.pk]).sparing(current)
        return others.revoke(reason=RevokeReason.PASSWORD_CHANGE.value)

    try:
        contained(
            revoke_others,
            default=0,
            what="revoke the other sessions after a password change",
        )
    except RevokeFailed:
        # Django itself signs those sessions out at their next request (the
        # session auth hash no longer matches); the password change stands.
        logger.error("After a password change, the other sessions could not be revoked")


def changing_session_id() -> str | None:
    """The row of the session serving the request being served: a token
    session when its own token authenticated the request (the app's token
    authentication classes), else the browser session's."""
    state = current_state.get()
    if state is not None and not state.ended and state.token_row_id is not None:
        return state.token_row_id
    return session_row_id()


#: Set while the admin revokes, so the revoked rows get ``LogEntry`` rows.
_admin_revoke: ContextVar[bool] = ContextVar("sessionmgr_admin_revoke", default=False)


@contextmanager
def logging_admin_revokes() -> Iterator[None]:
    token = _admin_revoke.set(True)
    try:
        yield
    finally:
        _admin_revoke.reset(token)


def log_admin_revoke(
    sender: Any, sessions: Any, revoked_by: AbstractBaseUser | None, **kwargs: Any
) -> None:
    """An admin history entry per session revoked in the admin, under ``revoked_by``:
    the real staff member, whoever they were impersonating."""
    if not _admin_revoke.get() or revoked_by is None:
        return
    from django.contrib.admin.models import CHANGE, LogEntry

    LogEntry.objects.log_actions(
        user_id=revoked_by.pk,
        queryset=sessions,
        action_flag=CHANGE,
        change_message=[{"changed": {"fields": ["status"]}}],
    )


def connect() -> None:
    from django.contrib.auth.signals import user_logged_in, user_logged_out
    from django.db.models.signals import post_save

    user_logged_in.connect(record_login, dispatch_uid="django_sessionmgr.record_login")
    user_logged_out.connect(record_logout, dispatch_uid="django_sessionmgr.record_logout")
    new_device_signed_in.connect(email_on_new_device, dispatch_uid=EMAIL_RECEIVER_UID)
    post_save.connect(
        revoke_on_password_change,
        sender=get_user_model(),
        dispatch_uid="django_sessionmgr.revoke_on_password_change",
    )
    if apps.is_installed("django.contrib.admin"):
        session_revoked.connect(
            log_admin_revoke, sender=UserSession, dispatch_uid="django_sessionmgr.log_admin_revoke"
        )
    if apps.is_installed("rest_framework.authtoken"):
        from .tokens import drf  # imports DRF's Token model: only once it is installed

        drf.connect()
    if apps.is_installed("knox"):
        from .tokens import knox  # imports knox's models: only once it is installed

        knox.connect()
    if apps.is_installed("rest_framework_simplejwt.token_blacklist"):
        from .tokens import jwt  # imports simplejwt's models: only once they are installed

        jwt.connect()
    if apps.is_installed("hijack"):
        from hijack.signals import hijack_started

        from .impersonation import hijack_started as record_hijack

        hijack_started.connect(record_hijack, dispatch_uid="django_sessionmgr.hijack_started")
