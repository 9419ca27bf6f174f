"""Staff endpoints: any user's sessions, under ``api/admin/sessions/``.

Reading needs ``view_usersession`` and revoking ``revoke_usersession`` (see
``permissions.StaffSessionPermission``). Every revoke goes through the one
bulk path, ``UserSessionQuerySet.revoke``, with the staff user as
``revoked_by`` (the real one, behind an impersonation).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from .. import services
from ..models import (
    REASON_MAX_LENGTH,
    STATUS_FILTERS,
    RevokeReason,
    UserSession,
)
from ..network import stored_ip
from ..queries import UserSessionQuerySet
from .authentication import acting_user, authenticating_session_id
from .errors import SessionErrorsMixin
from .filters import StatusFilterField
from .pagination import CreatedCursorPagination
from .permissions import StaffSessionPermission
from .schema import (
    OpenApiParameter,
    OpenApiResponse,
    OpenApiTypes,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from .serializers import StaffUserSessionSerializer

#: Most ids or users one bulk revoke accepts.
BULK_REVOKE_MAX = 500


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class UserPkField(serializers.Field[Any, Any, Any, Any]):
    """A primary key of ``AUTH_USER_MODEL``, whatever its type."""

    default_error_messages = {"invalid": _("Not a valid user id.")}

    def to_internal_value(self, data: Any) -> Any:
        pk = get_user_model()._meta.pk
        assert pk is not None
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        try:
            value = pk.to_python(data)
        except DjangoValidationError:
            self.fail("invalid")
        # No database stores a wider integer key, and a bigger one fails in
        # the SQLite driver rather than matching nothing.
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            self.fail("invalid")
        return value

    def to_representation(self, value: Any) -> Any:
        return value


class StaffSessionFilterSerializer(serializers.Serializer[Any]):
    """The list's query parameters; a bad value is a 400 naming the parameter."""

    user = UserPkField(required=False)
    # Error messages never echo the value: a right and a wrong guess of
    # anything get the same bytes back.
    status = StatusFilterField(default="all")
    ip = serializers.IPAddressField(required=False)

    def validate_ip(self, value: str) -> str:
        # Match the form rows store, so a truncated address finds its network's
        # rows; never the full one, or the filter would test what is hidden.
        stored = stored_ip(value)
        if stored is None:
            raise ValidationError(gettext("This site stores no IP addresses."))
        return stored


class RevokeReasonSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        allow_blank=True, max_length=REASON_MAX_LENGTH, default=RevokeReason.API.value
    )

    def validate_reason(self, value: str) -> str:
        # A code of the app's own would put its words in the app's mouth: a
        # staff revoke reading "Signed out by you from another device".
        if value in RevokeReason.values and value != RevokeReason.API.value:
            raise ValidationError(
                gettext("%(code)s is one of the app's own reason codes; describe it in words.")
                % {"code": value}
            )
        return value


class BulkRevokeSerializer(RevokeReasonSerializer):
    """``{"ids": [...]}`` or ``{"users": [...]}``, with an optional ``reason``."""

    ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, min_length=1, max_length=BULK_REVOKE_MAX
    )
    users = serializers.ListField(
        child=UserPkField(), required=False, min_length=1, max_length=BULK_REVOKE_MAX
    )

    def validate_ids(self, ids: list[uuid.UUID]) -> list[uuid.UUID]:
        # A session a replica has not seen yet is still revocable.
        rows = UserSession.objects.from_primary().filter(pk__in=ids)
        found = set(rows.values_list("pk", flat=True))
        return self._all_known(ids, found, gettext("Unknown session ids: %(ids)s."))

    def validate_users(self, users: list[Any]) -> list[Any]:
        user_model = get_user_model()
        found = set(user_model._default_manager.filter(pk__in=users).values_list("pk", flat=True))
        return self._all_known(users, found, gettext("Unknown users: %(ids)s."))

    @staticmethod
    def _all_known(wanted: list[Any], found: set[Any], message: str) -> list[Any]:
        unknown = [str(value) for value in dict.fromkeys(wanted) if value not in found]
        if unknown:
            raise serializers.ValidationError(message % {"ids": ", ".join(unknown)})
        return wanted

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("ids" in attrs) == ("users" in attrs):
            raise serializers.ValidationError(
                {"ids": [_('Give either "ids" or "users" (not both).')]}
            )
        return attrs


ERRORS = {
    400: OpenApiResponse(description=_("Bad parameters or body; the answer names the field.")),
    403: OpenApiResponse(description=_("Not a staff user with the model permission.")),
}
NOT_FOUND = {404: OpenApiResponse(description=_("No session with this id."))}
REVOKE_BODY = inline_serializer(
    "StaffRevokeReason",
    {"reason": serializers.CharField(required=False, max_length=REASON_MAX_LENGTH)},
)
REVOKED = inline_serializer(
    "StaffRevoked",
    {
        "revoked": serializers.IntegerField(min_value=0),
        "kept_current": serializers.BooleanField(
            required=False,
            help_text=_("Present and true when your own current session was selected and kept."),
        ),
    },
)
# Written out because a serializer cannot say "exactly one of ids and users".
BULK_REVOKE_BODY = {
    "type": "object",
    "properties": {
        "ids": {
            "type": "array",
            "items": {"type": "string", "format": "uuid"},
            "minItems": 1,
            "maxItems": BULK_REVOKE_MAX,
        },
        "users": {
            "type": "array",
            "items": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
            "minItems": 1,
            "maxItems": BULK_REVOKE_MAX,
        },
        "reason": {"type": "string", "maxLength": REASON_MAX_LENGTH},
    },
    "oneOf": [{"required": ["ids"]}, {"required": ["users"]}],
}


@extend_schema_view(
    list=extend_schema(
        summary=_("All users' sessions, newest first"),
        parameters=[
            OpenApiParameter("user", OpenApiTypes.STR, description=_("A user's primary key.")),
            OpenApiParameter("status", OpenApiTypes.STR, enum=STATUS_FILTERS, default="all"),
            OpenApiParameter(
                "ip",
                OpenApiTypes.STR,
                description=_("An IP address; with truncated addresses, its network."),
            ),
        ],
        responses={200: StaffUserSessionSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary=_("One session"),
        responses={200: StaffUserSessionSerializer, 403: ERRORS[403], **NOT_FOUND},
    ),
    destroy=extend_schema(
        summary=_("Revoke one session"),
        request=REVOKE_BODY,
        responses={
            204: None,
            400: OpenApiResponse(
                description=_(
                    'A bad body, or your own current session (`"code": "current_session"`).'
                )
            ),
            403: ERRORS[403],
            **NOT_FOUND,
        },
    ),
)
class StaffUserSessionViewSet(
    SessionErrorsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[UserSession],
):
    """Every user's sessions, for staff: find them and sign them out."""

    # The docstring above is what the browsable API shows; notes go here.
    # Reading needs view_usersession, revoking revoke_usersession (see
    # StaffSessionPermission). Every revoke goes through the one bulk path,
    # UserSessionQuerySet.revoke, with the real staff user as revoked_by, and
    # never reaches the session the staff user is acting from.

    serializer_class = StaffUserSessionSerializer
    permission_classes = [StaffSessionPermission]
    pagination_class = CreatedCursorPagination
    # No generic filter backends, whatever DEFAULT_FILTER_BACKENDS says: a
    # lookup, search or ordering on any field (the session key above all)
    # would be an oracle. The filters are the explicit, validated ones in
    # StaffSessionFilterSerializer; other query parameters are ignored.
    filter_backends: list[Any] = []
    #: The query parameters the list reads (besides the cursor).
    filter_params = ("user", "status", "ip")

    def get_queryset(self) -> UserSessionQuerySet:
        return UserSession.objects.select_related("user", "revoked_by")

    def filter_queryset(self, queryset: UserSessionQuerySet) -> UserSessionQuerySet:  # type: ignore[override]
        if self.action != "list":
            return queryset
        params = StaffSessionFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        filters: dict[str, Any] = params.validated_data
        queryset = queryset.with_status(filters["status"])
        if "user" in filters:
            queryset = queryset.filter(user_id=filters["user"])
        if "ip" in filters:
            queryset = queryset.filter(ip_address=filters["ip"])
        return queryset

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        row = self.get_object()
        body = RevokeReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.revoke_one(
            row,
            current=authenticating_session_id(request),
            by=acting_user(request),
            reason=body.validated_data["reason"],
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary=_("Revoke sessions by id, or all sessions of some users"),
        request={"application/json": BULK_REVOKE_BODY},
        responses={200: REVOKED, **ERRORS},
    )
    @action(detail=False, methods=["post"])
    def revoke(self, request: Request) -> Response:
        body = BulkRevokeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        sessions = UserSession.objects.all()
        if "ids" in data:
            sessions = sessions.filter(pk__in=data["ids"])
        else:
            sessions = sessions.signed_in_as_or_by(data["users"])
        # The acting staff member's own session is left out, and the answer says so.
        count, kept_current = services.revoke_as_staff(
            sessions,
            current=authenticating_session_id(request),
            by=acting_user(request),
            reason=data["reason"],
        )
        return Response({"revoked": count, **({"kept_current": True} if kept_current else {})})
