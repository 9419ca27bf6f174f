"""What no admin query parameter may reach: the session key, and the sessions
from another model's admin; and the cap on an admin search's words.

``NoSessionKeyLookupsMixin`` goes on every admin that lists sessions or users,
so a right guess at a key and a wrong one get the same answer.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db import DatabaseError, router, transaction
from django.db.models import Model, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.text import smart_split
from django.utils.translation import gettext, ngettext

from ..models import UserSession

#: The field that holds the session key, in whatever form it is stored. No
#: admin query parameter may name it (or a field named after it), or a right
#: guess and a wrong one would get different answers.
SECRET_FIELDS = ("session_key", "token_digest")

#: More words than this in an admin search are ignored (with a message): each
#: word adds OR'd lookups, and a few hundred overflow SQLite's expression depth.
MAX_SEARCH_WORDS = 10


def names_secret_field(lookup: str) -> bool:
    """Whether a lookup path (``user__user_sessions__session_key__regex``) reaches the key."""
    return any(part.startswith(SECRET_FIELDS) for part in lookup.split(LOOKUP_SEP))


def reaches_sessions(lookup: str) -> bool:
    """Whether a lookup of another model's admin (the user admin's
    ``user_sessions__isnull``, ``user_sessions__id``) reaches the sessions:
    staff who may not view sessions could test them through it."""
    related = UserSession._meta.get_field("user").remote_field.related_name
    return related in lookup.split(LOOKUP_SEP)


def capped_search_words(request: HttpRequest, search_term: str) -> list[str]:
    """The search's words, at most ``MAX_SEARCH_WORDS``; says so when it drops some."""
    words = list(smart_split(search_term))
    if len(words) > MAX_SEARCH_WORDS:
        messages.warning(
            request,
            ngettext(
                "Search uses at most %(count)d word; the rest were ignored.",
                "Search uses at most %(count)d words; the rest were ignored.",
                MAX_SEARCH_WORDS,
            )
            % {"count": MAX_SEARCH_WORDS},
        )
    return words[:MAX_SEARCH_WORDS]


class NoSessionKeyLookupsMixin:
    """Refuse every query parameter that names the session key, whatever the operator.

    Such a request gets the admin's own answer to an unknown field (the
    ``?e=1`` redirect), the same for a right guess as for a wrong one. It also
    refuses malformed selections in action POSTs instead of failing on them.
    """

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        if any(names_secret_field(name) for name in request.GET):
            raise IncorrectLookupParameters("unknown field")
        # A value the database cannot take (an integer past 64 bits, year
        # 99999) fails only when the count runs: answer it as the admin answers
        # any other bad lookup. The savepoint keeps a failed query from
        # poisoning the request's transaction (ATOMIC_REQUESTS, PostgreSQL).
        model: type[Model] = self.model  # type: ignore[attr-defined]
        try:
            with transaction.atomic(using=router.db_for_read(model)):
                return super().get_changelist_instance(request)  # type: ignore[misc,no-any-return]
        except (DatabaseError, OverflowError, ValueError) as error:
            raise IncorrectLookupParameters(error) from error

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if names_secret_field(lookup) or reaches_sessions(lookup):
            return False
        return super().lookup_allowed(lookup, value, request)  # type: ignore[misc,no-any-return]

    def to_field_allowed(self, request: HttpRequest, to_field: str) -> bool:
        if names_secret_field(to_field):
            return False
        return super().to_field_allowed(request, to_field)  # type: ignore[misc,no-any-return]

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any
    ) -> HttpResponse | None:
        model_admin: Any = self
        pk_field = model_admin.model._meta.pk
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                pk_field.to_python(value)
        except ValidationError:
            model_admin.message_user(
                request,
                gettext("Unknown items were selected. Nothing was changed."),
                messages.ERROR,
            )
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset, *args, **kwargs)  # type: ignore[misc,no-any-return]
