"""DRF's obtain view, recording the token's row with the device of the
request that obtained it (``tokens.drf`` exports it: DRF's views cannot be
imported where an authentication class is defined)."""

from __future__ import annotations

from typing import Any

from django.views.decorators.debug import sensitive_variables
from rest_framework.authtoken import views
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response

from .core import start_token_session
from .drf import KIND, obtaining


class ObtainAuthToken(views.ObtainAuthToken):
    """DRF's view: a token for a username and password, recorded with the
    device of this request (DRF's ``post``, which hands out the user's
    existing key if there is one)."""

    # Not in the frame's variables of an error report: the key.
    @sensitive_variables("token")
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        flag = obtaining.set(True)
        try:
            token, _created = Token.objects.get_or_create(user=user)
        finally:
            obtaining.reset(flag)
        # New, or the user's existing key: its active row, else one for this
        # request (a key from before the install, or whose row has ended).
        start_token_session(request, user, KIND, token.key)
        return Response({"token": token.key})


obtain_auth_token = ObtainAuthToken.as_view()
