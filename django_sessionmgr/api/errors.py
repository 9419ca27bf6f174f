"""How the API answers the app's own conditions: a store that cannot be
cleared, a revoke of the session making the request, and a request whose
session has just ended."""

from __future__ import annotations

from typing import Any, NoReturn

from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from ..exceptions import RevokeFailed
from ..services import STORE_NOT_ANSWERING_API, WRONG_PASSWORD, CurrentSession
from ..state import request_state


class ReauthenticationRequired(Exception):
    """``REAUTH_FOR_REVOKE_OTHERS``: the password is needed first (``wrong``
    when one was sent and did not match)."""

    def __init__(self, wrong: bool = False) -> None:
        super().__init__()
        self.wrong = wrong


class SessionEnded(NotAuthenticated):
    """The session that came with the request was revoked or ended."""


class SessionErrorsMixin:
    """- A store that cannot be cleared is a 503 with a code, never a bare 500:
      nothing was revoked (the rows stay active), so the client may retry.
    - A revoke of the session making the request is a 400 with the code
      ``current_session``: log out instead.
    - "Sign out all others" without a recent sign-in, under
      ``REAUTH_FOR_REVOKE_OTHERS``, is a 403 with the code
      ``reauthentication_required``: send the password.
    - The first request of a session that was revoked or ended by a policy
      gets, instead of DRF's generic "not authenticated", the reason and a
      code (``session_revoked``, ``session_expired``, ``session_ended``).
    """

    def permission_denied(
        self, request: Request, message: str | None = None, code: str | None = None
    ) -> NoReturn:
        state = request_state(getattr(request, "_request", None))
        if not request.successful_authenticator and state and state.end_notice:
            notice_code, words = state.end_notice
            raise SessionEnded(detail=words, code=notice_code)
        super().permission_denied(request, message=message, code=code)  # type: ignore[misc]
        raise AssertionError("permission_denied always raises")  # pragma: no cover

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, RevokeFailed):
            return Response(
                {
                    "code": "store_unavailable",
                    "detail": str(STORE_NOT_ANSWERING_API),
                },
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": "5"},
            )
        if isinstance(exc, ReauthenticationRequired):
            return Response(
                {
                    "code": "reauthentication_required",
                    "detail": str(WRONG_PASSWORD)
                    if exc.wrong
                    else _('Send your password as "password" to sign out your other sessions.'),
                },
                status=status.HTTP_403_FORBIDDEN,
            )
        if isinstance(exc, CurrentSession):
            return Response(
                {
                    "code": "current_session",
                    "detail": _("This is the session you are using; log out instead."),
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        response: Response = super().handle_exception(exc)  # type: ignore[misc]
        if isinstance(exc, SessionEnded):
            codes: Any = exc.get_codes()
            response.data = {"code": codes, "detail": exc.detail}
        return response
