"""The sessions changelist's pages: counted a few pages ahead, never in full."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.admin.views.main import PAGE_VAR
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

from ..models import UserSession

if TYPE_CHECKING:
    SessionPaginator = Paginator[UserSession]
else:  # Paginator is not subscriptable at run time
    SessionPaginator = Paginator

#: How many pages past the one shown the changelist counts; beyond them it
#: counts no further (see ``LookaheadPaginator``).
PAGES_AHEAD = 4

#: No count goes past this many rows, whatever page a URL asks for: a
#: LIMIT every database takes (a 64-bit integer).
MAX_COUNTED_ROWS = 2**62


class LookaheadPaginator(SessionPaginator):
    """Counts the rows of the list only up to ``PAGES_AHEAD`` pages past ``page``.

    A COUNT of every row of a status reads all of them, however the page
    itself is found: at a million rows that count was most of the time a
    filtered changelist took. This one counts the first rows in the list's
    own order (the page's plan, stopped after so many rows), so it costs
    what the next few pages cost, whatever the table's size. When more rows
    follow, ``count`` is that bound, the page links end with an ellipsis, and
    each later page counts further on. A lighter list gets its exact count.
    """

    def __init__(
        self, object_list: QuerySet[UserSession], per_page: int, *args: Any, page: int = 1
    ) -> None:
        super().__init__(object_list, per_page, *args)
        self.rows = object_list
        self.counted_rows = min(int(per_page) * (max(page, 1) + PAGES_AHEAD), MAX_COUNTED_ROWS)

    @cached_property
    def count(self) -> int:
        return min(self._found, self.counted_rows)

    @cached_property
    def has_more(self) -> bool:
        """Whether rows follow those counted."""
        return self._found > self.counted_rows

    @cached_property
    def _found(self) -> int:
        return self.rows[: self.counted_rows + 1].count()

    def get_elided_page_range(self, *args: Any, **kwargs: Any) -> Any:
        yield from super().get_elided_page_range(*args, **kwargs)
        if self.has_more:
            yield self.ELLIPSIS


def requested_page(request: HttpRequest) -> int:
    """The changelist's page number, read as ``ChangeList`` reads it."""
    try:
        return int(request.GET.get(PAGE_VAR, 1))
    except ValueError:
        return 1
