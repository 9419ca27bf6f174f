"""Self-service endpoints: a signed-in user lists and revokes their own sessions."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.translation import gettext as _
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle

from .. import reauth, services
from ..models import NAME_MAX_LENGTH, STATUS_FILTERS, UserSession
from ..queries import UserSessionQuerySet
from .authentication import acting_user, authenticating_session_id, by_session
from .errors import ReauthenticationRequired, SessionErrorsMixin
from .filters import SessionFilterSerializer
from .pagination import UserSessionPagination
from .schema import (
    OpenApiParameter,
    OpenApiResponse,
    OpenApiTypes,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from .serializers import SessionNameSerializer, UserSessionSerializer


class OptionalScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, switched off until the project sets a rate for the scope.

    Stock ``ScopedRateThrottle`` raises ``ImproperlyConfigured`` for a scope
    without a rate, and reads the rates once at import.
    """

    def allow_request(self, request: Request, view: Any) -> bool:
        # Read live so that settings changes (and override_settings) apply.
        self.THROTTLE_RATES = cast("dict[str, str | None]", api_settings.DEFAULT_THROTTLE_RATES)
        scope = getattr(view, self.scope_attr, None)
        if not scope or not self.THROTTLE_RATES.get(scope):
            return True
        return super().allow_request(request, view)


class RevokeRateThrottle(OptionalScopedRateThrottle):
    """The stricter scope for requests that revoke sessions."""

    scope_attr = "revoke_throttle_scope"


_ERROR = inline_serializer(
    name="SessionError",
    fields={
        "detail": serializers.CharField(),
        "code": serializers.CharField(required=False),
    },
)
_BAD_QUERY = inline_serializer(
    name="SessionListQueryError",
    fields={
        name: serializers.ListField(child=serializers.CharField(), required=False)
        for name in ("status", "limit", "offset")
    },
)
_NOT_AUTHENTICATED = OpenApiResponse(
    _ERROR,
    description="Not signed in. The first request after the session ended says how, "
    "in `code`: `session_revoked` (signed out from another device, by staff, or by a "
    "policy), `session_expired` (its time ran out) or `session_ended` (signed out), "
    "with `detail` saying when, in the user's language.",
)
_NOT_FOUND = OpenApiResponse(
    _ERROR, description="No such session of yours: unknown, malformed or another user's id."
)
_NOT_AUTHENTICATED_OR_NO_PASSWORD = OpenApiResponse(
    _ERROR,
    description='Not signed in, or `"code": "reauthentication_required"`: send the password.',
)
_BAD_NAME = inline_serializer(
    name="SessionNameError",
    fields={
        "name": serializers.ListField(child=serializers.CharField(), required=False),
        "non_field_errors": serializers.ListField(child=serializers.CharField(), required=False),
    },
)
NAME_BODY = {
    "type": "object",
    "properties": {
        "name": {
            "type": "string",
            "maxLength": NAME_MAX_LENGTH,
            "description": "Printable characters (no line breaks, tabs or other control "
            "characters), the spaces around them removed; empty to clear the name (the "
            "device's name shows instead).",
        }
    },
    "required": ["name"],
    "additionalProperties": False,
}
_ID = OpenApiParameter(
    "id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The session's public id."
)


@extend_schema_view(
    list=extend_schema(
        summary="List your sessions",
        description="Your sessions, newest activity first, filtered by status.",
        parameters=[
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                enum=STATUS_FILTERS,
                default="active",
                description="Which sessions to list; `all` for every status.",
            ),
        ],
        responses={
            200: UserSessionSerializer(many=True),
            400: OpenApiResponse(
                _BAD_QUERY,
                description="An unknown `status`, or a `limit` (1 to 500) or `offset` "
                "out of range; the body maps the parameter to its messages.",
            ),
            401: _NOT_AUTHENTICATED,
            403: _NOT_AUTHENTICATED,
        },
    ),
    retrieve=extend_schema(
        summary="One of your sessions",
        description="Any of your sessions, whatever its status.",
        parameters=[_ID],
        responses={
            200: UserSessionSerializer,
            401: _NOT_AUTHENTICATED,
            403: _NOT_AUTHENTICATED,
            404: _NOT_FOUND,
        },
    ),
    destroy=extend_schema(
        summary="Revoke one of your sessions",
        description="Signs that session out everywhere. The session making the request "
        "cannot be revoked this way: log out instead. With `REAUTH_FOR_REVOKE_OTHERS` set, "
        'it needs the password as "sign out all others" does (`{"password": "..."}` in the '
        'body); until then the answer is 403 `"code": "reauthentication_required"`.',
        parameters=[_ID],
        request=inline_serializer(
            name="RevokeOne",
            fields={"password": serializers.CharField(required=False, write_only=True)},
        ),
        responses={
            204: OpenApiResponse(description="Revoked (or had already ended)."),
            400: OpenApiResponse(
                _ERROR, description='It is the current session (`"code": "current_session"`).'
            ),
            401: _NOT_AUTHENTICATED,
            403: _NOT_AUTHENTICATED_OR_NO_PASSWORD,
            404: _NOT_FOUND,
        },
    ),
    partial_update=extend_schema(
        summary="Name one of your sessions",
        description="Gives any of your sessions, whatever its status, a name shown in "
        "place of the device's; an empty name clears it. The body holds `name` and "
        "nothing else; anything else answers 400 and changes nothing.",
        parameters=[_ID],
        # A plain schema: drf-spectacular makes every PATCH serializer's
        # fields optional, and here the name is required and alone.
        request={"application/json": NAME_BODY},
        responses={
            200: UserSessionSerializer,
            400: OpenApiResponse(
                _BAD_NAME,
                description='A body other than `{"name": "..."}`: a missing, non-text, '
                "too long or unprintable name, or another field (named, with its message).",
            ),
            401: _NOT_AUTHENTICATED,
            403: _NOT_AUTHENTICATED,
            404: _NOT_FOUND,
        },
    ),
)
class UserSessionViewSet(
    SessionErrorsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[UserSession],
):
    """The places where you are signed in. You can sign out any of them except this one."""

    # The docstring above is what the browsable API shows every user; notes
    # for developers go here. Override ``serializer_class`` to change the JSON
    # and ``get_queryset`` to narrow what users see. Authentication is
    # whatever the project configures.

    serializer_class = UserSessionSerializer
    pagination_class = UserSessionPagination
    # No generic filter backends, whatever DEFAULT_FILTER_BACKENDS says: a
    # search or ordering on any field could be an oracle. The filters are
    # the explicit ones below; other query parameters are ignored.
    filter_backends: list[Any] = []
    #: The query parameters the list reads (besides the paginator's).
    filter_params = ("status",)
    permission_classes = [IsAuthenticated]
    throttle_scope = "sessionmgr"
    revoke_throttle_scope = "sessionmgr_revoke"
    #: Actions that also count against ``revoke_throttle_scope``: the writes.
    revoke_actions = frozenset({"destroy", "revoke_others", "partial_update"})

    def get_queryset(self) -> UserSessionQuerySet:
        """Every session of the requesting user, whatever its status."""
        user = self.request.user
        if not isinstance(user, AbstractBaseUser):  # schema generation runs anonymous
            return UserSession.objects.none()
        return services.sessions_of(user)

    def get_object(self) -> UserSession:
        # One answer for another user's, unknown and malformed ids, so the
        # response tells nothing about which sessions exist.
        not_found = NotFound(_("No such session."))
        try:
            pk = uuid.UUID(str(self.kwargs[self.lookup_field]))
        except ValueError:
            raise not_found from None
        session = self.get_queryset().filter(pk=pk).first()
        if session is None:
            raise not_found
        self.check_object_permissions(self.request, session)
        return session

    def filter_queryset(self, queryset: Any) -> Any:
        """The list's ``?status=`` filter (single sessions are looked up unfiltered)."""
        return super().filter_queryset(queryset.with_status(self.get_status_filter()))

    def get_status_filter(self) -> str:
        # A plain dict, where a blank ``?status=`` is a bad value; DRF reads a
        # blank HTML-form value as absent (as the staff list always has).
        params = SessionFilterSerializer(data=self.request.query_params.dict())
        params.is_valid(raise_exception=True)
        status: str = params.validated_data["status"]
        return status

    def get_throttles(self) -> list[BaseThrottle]:
        # The project's own throttles keep applying. Its ScopedRateThrottle, if
        # any, is left out: ours reads the same scope and would count twice.
        throttles = [t for t in super().get_throttles() if not isinstance(t, ScopedRateThrottle)]
        throttles.append(OptionalScopedRateThrottle())
        if self.action in self.revoke_actions:
            throttles.append(RevokeRateThrottle())
        return throttles

    def _user(self) -> AbstractBaseUser:
        """Who revokes: the staff member while they impersonate the user."""
        user: AbstractBaseUser = acting_user(self.request)
        return user

    @extend_schema(
        summary="The session making this request",
        description="Only for requests authenticated by one of your sessions: a browser's "
        "session, or a token session's own token.",
        responses={
            200: UserSessionSerializer,
            401: _NOT_AUTHENTICATED,
            403: _NOT_AUTHENTICATED,
            404: OpenApiResponse(
                _ERROR,
                description="The request is not authenticated by a tracked session "
                "(basic auth, or a token without one).",
            ),
        },
    )
    @action(detail=False)
    def current(self, request: Request) -> Response:
        row_id = authenticating_session_id(request)
        session = self.get_queryset().filter(pk=row_id).first() if row_id else None
        if session is None:
            raise NotFound(_("This request was not authenticated by one of your sessions."))
        return Response(self.get_serializer(session).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        session = self.get_object()
        current = authenticating_session_id(request)
        if str(session.pk) != current:
            # One at a time is "sign out all others" too: the same password first.
            self._reauthenticate(request)
        services.revoke_one(session, current=current, by=self._user())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        session = self.get_object()
        body = SessionNameSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.rename(session, body.validated_data["name"])
        return Response(self.get_serializer(session).data)

    def _reauthenticate(self, request: Request) -> None:
        """With ``REAUTH_FOR_REVOKE_OTHERS``, the password, unless the session
        signed in recently; ``ReauthenticationRequired`` (403) until then."""
        if reauth.password_needed(request._request, by_session=by_session(request)):
            password = request.data.get("password") if hasattr(request.data, "get") else None
            if not reauth.confirm_password(request._request, self._user(), password):
                raise ReauthenticationRequired(wrong=bool(password))

    @extend_schema(
        summary="Revoke all your other sessions",
        description="Signs out every active session of yours except the one making the "
        "request. With `REAUTH_FOR_REVOKE_OTHERS` set, a session signed in longer ago than "
        'that (or a token) must send `{"password": "..."}`; until then the answer is 403 '
        '`"code": "reauthentication_required"` and nothing is revoked.',
        request=inline_serializer(
            name="RevokeOthers",
            fields={"password": serializers.CharField(required=False, write_only=True)},
        ),
        responses={
            200: inline_serializer(
                name="RevokedCount", fields={"revoked": serializers.IntegerField(min_value=0)}
            ),
            401: _NOT_AUTHENTICATED,
            403: _NOT_AUTHENTICATED_OR_NO_PASSWORD,
        },
    )
    @action(detail=False, methods=["post"], url_path="revoke-others")
    def revoke_others(self, request: Request) -> Response:
        current = authenticating_session_id(request)
        self._reauthenticate(request)
        # "Others" are all but the session that authenticated this request (a
        # token session by its own token): under basic auth, or a token
        # without a row, every session is another one.
        count = services.revoke_own_others(
            self.get_queryset(),
            current=current,
            by=self._user(),
            owner=request.user,  # type: ignore[arg-type]
        )
        return Response({"revoked": count})
