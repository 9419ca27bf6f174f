"""Limit/offset pagination that refuses bad input instead of guessing."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.views import APIView


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
