"""The APIs' pages: limit/offset for a user's own sessions, keyset cursors
for staff over every session.

Both refuse bad input instead of guessing, and both carry in their links
only the query parameters the view reads (``known_params``, ``keep_only``).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections import OrderedDict
from collections.abc import Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import BasePagination, LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

if TYPE_CHECKING:
    from ..models import UserSession


def known_params(view: APIView | None, *own: str) -> frozenset[str]:
    """The query parameters a page link carries: the view's filters, the
    paginator's own and DRF's ``?format=``."""
    filters: Collection[str] = getattr(view, "filter_params", ())
    return frozenset({*filters, *own, api_settings.URL_FORMAT_OVERRIDE or "format"})


def keep_only(url: str | None, names: Collection[str]) -> str | None:
    """``url`` without the query parameters not in ``names``.

    Unknown parameters are ignored, and so that ignoring them is complete they
    are not echoed into page links either: adding one never changes a byte of
    the answer (no parameter can act as an oracle).
    """
    if url is None:
        return None
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k in names]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _parse_bounded_int(
    request: Request, name: str, minimum: int, maximum: int | None
) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        if maximum is None:
            message = _("Must be a whole number of at least %(minimum)d.") % {"minimum": minimum}
        else:
            message = _("Must be a whole number from %(minimum)d to %(maximum)d.") % {
                "minimum": minimum,
                "maximum": maximum,
            }
        raise ValidationError({name: [message]})
    return value


class UserSessionPagination(LimitOffsetPagination):
    """``?limit=`` (default 20, 1 to 500) and ``?offset=``; anything else answers 400.

    DRF's stock class silently replaces a bad limit with the default, which
    hides mistakes from API clients.
    """

    default_limit = 20
    max_limit = 500

    def paginate_queryset(
        self, queryset: Any, request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        self.link_params = known_params(view, self.limit_query_param, self.offset_query_param)
        return super().paginate_queryset(queryset, request, view)

    def get_next_link(self) -> str | None:
        return keep_only(super().get_next_link(), self.link_params)

    def get_previous_link(self) -> str | None:
        return keep_only(super().get_previous_link(), self.link_params)

    def get_limit(self, request: Request) -> int:
        limit = _parse_bounded_int(request, self.limit_query_param, 1, self.max_limit)
        return self.default_limit if limit is None else limit

    def get_offset(self, request: Request) -> int:
        offset = _parse_bounded_int(request, self.offset_query_param, 0, None)
        return offset or 0


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
            window = queryset.beyond((created_at, pk), later=backwards)
            if backwards:
                window = window.order_by("created_at", "id")
            else:
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
                "description": _("The pagination cursor value."),
                "schema": {"type": "string"},
            }
        ]
