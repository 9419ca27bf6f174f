"""Limit/offset pagination that refuses bad input instead of guessing."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request


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

    def get_limit(self, request: Request) -> int:
        limit = _parse_bounded_int(request, self.limit_query_param, 1, self.max_limit)
        return self.default_limit if limit is None else limit

    def get_offset(self, request: Request) -> int:
        offset = _parse_bounded_int(request, self.offset_query_param, 0, None)
        return offset or 0
