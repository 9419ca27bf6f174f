"""How the API answers when a revoke cannot be completed."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response

from ..exceptions import RevokeFailed


class RevokeFailedMixin:
    """A store that cannot be cleared is a 503 with a code, never a bare 500.

    Nothing was revoked (the rows stay active), so the client may retry.
    """

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, RevokeFailed):
            return Response(
                {
                    "code": "store_unavailable",
                    "detail": _(
                        "The session store is not answering, so nothing was signed out. "
                        "Try again in a moment."
                    ),
                },
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": "5"},
            )
        response: Response = super().handle_exception(exc)  # type: ignore[misc]
        return response
