"""The lists' ``?status=`` filter, one for both APIs: the same choices, the
same message for a value it does not know."""

from __future__ import annotations

from typing import Any

from django.utils.functional import lazy
from django.utils.translation import gettext
from rest_framework import serializers

from ..models import STATUS_FILTERS


def unknown_status_message() -> str:
    """The one answer to a status the filter does not know. It never echoes
    the value: an answer depends only on whether a value is allowed, never
    on what was guessed."""
    return gettext("Unknown status; use one of: %(choices)s.") % {
        "choices": ", ".join(STATUS_FILTERS)
    }


class StatusFilterField(serializers.ChoiceField):
    """``?status=``: a status, or ``all`` (``UserSessionQuerySet.with_status``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["error_messages"] = {"invalid_choice": lazy(unknown_status_message, str)()}
        super().__init__(choices=STATUS_FILTERS, **kwargs)


class SessionFilterSerializer(serializers.Serializer[Any]):
    """The self-service list's query parameters; a bad value is a 400 naming
    the parameter."""

    status = StatusFilterField(default="active")
