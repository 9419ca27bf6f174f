"""Which session, if any, authenticated an API request."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request

from .. import impersonation
from ..markers import session_row_id


def authenticating_session_id(request: Request | HttpRequest) -> str | None:
    """The public id of the session that authenticated ``request``, or None.

    A DRF request counts only when ``SessionAuthentication`` (or a subclass)
    authenticated it: with a token or basic auth first in the list, the
    browser's cookie may belong to someone else, and then it is not "current".
    """
    if isinstance(request, Request):
        if not isinstance(request.successful_authenticator, SessionAuthentication):
            return None
        return session_row_id(request._request)
    return session_row_id(request)


def acting_user(request: Request) -> Any:
    """Who really acts on an API request: the staff member at the root of an
    impersonation when the impersonated session authenticated the request
    (``impersonation.acting_user``), else the user DRF authenticated."""
    if isinstance(request.successful_authenticator, SessionAuthentication):
        return impersonation.acting_user(request._request)
    return request.user
