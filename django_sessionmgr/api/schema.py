"""OpenAPI annotations that cost nothing when drf-spectacular is absent.

drf-spectacular is an optional extra (``django-sessionmgr[openapi]``). The
viewsets import their schema decorators from here: the real ones when it is
installed, and stand-ins that leave the view untouched when it is not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "OpenApiExample",
    "OpenApiParameter",
    "OpenApiResponse",
    "OpenApiTypes",
    "extend_schema",
    "extend_schema_field",
    "extend_schema_serializer",
    "extend_schema_view",
    "inline_serializer",
]

try:
    from drf_spectacular.types import OpenApiTypes
    from drf_spectacular.utils import (
        OpenApiExample,
        OpenApiParameter,
        OpenApiResponse,
        extend_schema,
        extend_schema_field,
        extend_schema_serializer,
        extend_schema_view,
        inline_serializer,
    )
except ImportError:
    # mypy reads the imports above; the stand-ins are for runtime only.
    if not TYPE_CHECKING:
        from rest_framework import serializers

        def _leave_unchanged(*args: Any, **kwargs: Any) -> Any:
            """Accept any schema arguments and return a decorator that changes nothing."""

            def decorate(target: Any) -> Any:
                return target

            return decorate

        extend_schema = extend_schema_field = _leave_unchanged
        extend_schema_serializer = extend_schema_view = _leave_unchanged

        class _Described:
            """Keeps the arguments, so code that builds these objects runs unchanged."""

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                self.args, self.kwargs = args, kwargs

        class OpenApiExample(_Described):
            pass

        class OpenApiResponse(_Described):
            pass

        class OpenApiParameter(_Described):
            QUERY, PATH, HEADER, COOKIE = "query", "path", "header", "cookie"

        class _AnyType:
            """Stands in for the ``OpenApiTypes`` enum: every member is None."""

            def __getattr__(self, name: str) -> None:
                return None

        OpenApiTypes = _AnyType()

        def inline_serializer(
            name: str, fields: dict[str, Any], **kwargs: Any
        ) -> serializers.Serializer[Any]:
            serializer_class = type(name, (serializers.Serializer,), dict(fields))
            return serializer_class(**kwargs)
