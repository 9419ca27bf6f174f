"""Staff endpoints: any user's sessions, under ``api/admin/sessions/``.

Reading needs ``view_usersession`` and revoking ``revoke_usersession`` (see
``permissions.StaffSessionPermission``). Every revoke goes through the one
bulk path, ``UserSessionQuerySet.revoke``, with the staff user as
``revoked_by`` (the real one, behind an impersonation).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from .. import services
from ..models import (
    REASON_MAX_LENGTH,
    STATUS_FILTERS,
    RevokeReason,
    UserSession,
    UserSessionQuerySet,
)
from ..network import stored_ip
from .authentication import acting_user, authenticating_session_id
from .errors import SessionErrorsMixin
from .pagination import keep_only, known_params
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


def unknown_status_message() -> str:
    return gettext("Unknown status; use one of: %(choices)s.") % {
        "choices": ", ".join(STATUS_FILTERS)
    }


class StaffSessionFilterSerializer(serializers.Serializer[Any]):
    """The list's query parameters; a bad value is a 400 naming the parameter."""

    user = UserPkField(required=False)
    # Error messages never echo the value: a right and a wrong guess of
    # anything get the same bytes back.
    status = serializers.ChoiceField(
        choices=STATUS_FILTERS,
        default="all",
        error_messages={"invalid_choice": lazy(unknown_status_message, str)()},
    )
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


class CreatedCursorPagination(BasePagination):
    """Keyset pages over ``(created_at, id)``, newest first, with no count.

    The cursor is the position of the page's edge row, so a page costs one
    indexed query however deep it is, and rows created meanwhile never shift
    a page. Sessions created in the same instant are told apart by id.
    """

    cursor_query_param = "cursor"
    page_size = 50
    #: Longer cursors are refused unread; a real one is under 100 characters.
    max_cursor_length = 200

    def paginate_queryset(
        self, queryset: Any, request: Request, view: APIView | None = None
    ) -> list[Any]:
        self.request = request
        self.link_params = known_params(view, self.cursor_query_param)
        cursor = self.decode_cursor(request)
        newest_first = ("-created_at", "-id")
        if cursor is None:
            backwards, window = False, queryset.order_by(*newest_first)
        else:
            backwards, created_at, pk = cursor
            if backwards:
                newer = Q(created_at__gt=created_at) | Q(created_at=created_at, id__gt=pk)
                window = queryset.filter(created_at__gte=created_at).filter(newer)
                window = window.order_by("created_at", "id")
            else:
                older = Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk)
                window = queryset.filter(created_at__lte=created_at).filter(older)
                window = window.order_by(*newest_first)
        # The page's ids come from the index alone; only then are those rows
        # read with their joins. One query with the joins lets a planner start
        # from the user table and sort every session to find one page.
        ids = list(window.values_list("pk", flat=True)[: self.page_size + 1])
        # Read by id alone: repeating the filters would invite another plan.
        unfiltered = view.get_queryset() if isinstance(view, GenericAPIView) else queryset
        by_id = unfiltered.in_bulk(ids)
        rows = [by_id[pk] for pk in ids if pk in by_id]
        more = len(rows) > self.page_size
        page = rows[: self.page_size]
        if backwards:
            page.reverse()
            has_newer, has_older = more, True
        else:
            has_newer, has_older = cursor is not None, more
        self.next_cursor = self.encode_cursor(False, page[-1]) if has_older and page else None
        self.previous_cursor = self.encode_cursor(True, page[0]) if has_newer and page else None
        return page

    def encode_cursor(self, backwards: bool, row: UserSession) -> str:
        raw = f"{'p' if backwards else 'n'}|{row.created_at.isoformat()}|{row.pk}"
        token = base64.urlsafe_b64encode(raw.encode()).decode()
        url = replace_query_param(self.request.build_absolute_uri(), self.cursor_query_param, token)
        return keep_only(url, self.link_params) or url

    def decode_cursor(self, request: Request) -> tuple[bool, datetime, uuid.UUID] | None:
        token = request.query_params.get(self.cursor_query_param)
        if token is None:
            return None
        # Whatever is wrong with a cursor, the answer is the same 400: it
        # carries only a position (time and public id), never anything to test.
        try:
            if len(token) > self.max_cursor_length:
                raise ValueError("too long")
            direction, created_at, pk = base64.urlsafe_b64decode(token).decode().split("|")
            if direction not in ("n", "p"):
                raise ValueError(direction)
            position, row_id = datetime.fromisoformat(created_at), uuid.UUID(pk)
            # Only the exact form encode_cursor writes: the parsers forgive
            # more (a trailing NUL, underscores in hex) than a cursor needs.
            if position.tzinfo is None or position.isoformat() != created_at:
                raise ValueError(created_at)
            if str(row_id) != pk:
                raise ValueError(pk)
            # In UTC here, so that a time the database layer cannot convert
            # (year 9999 at UTC-5) is refused now rather than overflowing there.
            return direction == "p", position.astimezone(UTC), row_id
        except (ValueError, OverflowError, binascii.Error, UnicodeError):
            raise ValidationError({self.cursor_query_param: [_("Invalid cursor.")]}) from None

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            OrderedDict(
                [("next", self.next_cursor), ("previous", self.previous_cursor), ("results", data)]
            )
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": str(_("The pagination cursor value.")),
                "schema": {"type": "string"},
            }
        ]


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
