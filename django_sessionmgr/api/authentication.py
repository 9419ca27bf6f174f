"""Which session, if any, authenticated an API request."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request

from .. import impersonation
from ..markers import current_row_id


def by_session(request: Request) -> bool:
    """Whether ``SessionAuthentication`` (or a subclass) authenticated ``request``
    (reading it authenticates the request, if DRF has not yet)."""
    return isinstance(request.successful_authenticator, SessionAuthentication)


def authenticating_session_id(request: Request | HttpRequest) -> str | None:
    """The public id of the session that authenticated ``request``, or None
    (``markers.current_row_id``).

    On a DRF request the browser's session counts only when
    ``SessionAuthentication`` authenticated it: with a token or basic auth
    first in the list, the browser's cookie may belong to someone else, and
    then it is not "current". A token session is current when its own token
    authenticated the request.
    """
    if isinstance(request, Request):
        return current_row_id(request._request, by_session=by_session(request))
    return current_row_id(request)


def acting_user(request: Request) -> Any:
    """Who really acts on an API request: the staff member at the root of an
    impersonation when the impersonated session authenticated the request
    (``impersonation.acting_user``), else the user DRF authenticated."""
    if by_session(request):
        return impersonation.acting_user(request._request)
    return request.user
