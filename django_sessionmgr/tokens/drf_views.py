"""DRF's obtain view, recording the token's row with the device of the
request that obtained it, and never handing out a key whose session is over
(``tokens.drf`` exports it: DRF's views cannot be imported where an
authentication class is defined)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from rest_framework.authtoken import views
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import UserSession
from ..safety import contained
from .core import end_token_session, start_token_session
from .drf import KIND, obtaining
from .lookup import token_digests, token_rows


@sensitive_variables()
def session_over(key: str) -> bool:
    """Whether the key's session is over: it has rows, and none goes on
    (active and before its end: ``IDLE_TIMEOUT`` or ``ABSOLUTE_TIMEOUT`` may
    have ended it while the key went unused)."""
    rows = token_rows(KIND, token_digests(KIND, key)).values_list("status", "expires_at")
    now, found = timezone.now(), list(rows)
    live = [end for status, end in found if status == UserSession.Status.ACTIVE and end > now]
    return bool(found) and not live


class ObtainAuthToken(views.ObtainAuthToken):
    """DRF's view: a token for a username and password, recorded with the
    device of this request (DRF's ``post``, which hands out the user's
    existing key if there is one)."""

    # Not in the frame's variables of an error report: the key.
    @sensitive_variables("token", "over")
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        flag = obtaining.set(True)
        try:
            token, created = Token.objects.get_or_create(user=user)
            over = partial(session_over, token.key)
            if not created and contained(
                over, default=False, what="read a key's session", writes=False
            ):
                # Never hand out a key whose session is over: a new one.
                end_token_session(KIND, token.key, UserSession.Status.EXPIRED)
                token.delete()
                token, _created = Token.objects.get_or_create(user=user)
        finally:
            obtaining.reset(flag)
        # New, or the user's existing key: its active row, else one for this
        # request (a key from before the install).
        start_token_session(request, user, KIND, token.key)
        return Response({"token": token.key})


obtain_auth_token = ObtainAuthToken.as_view()
