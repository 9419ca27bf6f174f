"""What the app knows about the session serving one request.

What the middleware learns about a request travels in one ``RequestState``,
kept on the request. Receivers of ``post_save`` get no request, so the
middleware also publishes the same object through ``current_state``; it is set
before the view runs and only ever mutated afterwards, so it reaches receivers
run by ``Signal.asend`` in a copied context too.

Also here: the impersonation stack a session carries, which the state keeps
when a login flushes the session. Imports nothing from the package (its types
only, for the type checker), so every layer may read it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.contrib.sessions.backends.base import SessionBase
    from django.http import HttpRequest

    from .markers import Marker
    from .models import UserSession

#: Session data key of an impersonated session: a stack of ``[row id, user pk]``
#: entries, one per impersonation still to release. The bottom entry is the
#: row and pk of the real actor (the root of a chain of impersonations); each
#: release resumes the top entry's row. Earlier builds held one entry, flat.
IMPERSONATOR_KEY = "_sessionmgr_impersonator"


class ImpersonationEntry(NamedTuple):
    """One entry of the impersonation stack: where a release goes back to."""

    #: The row of the session that started the impersonation (None if it had none).
    row_id: str | None
    #: The user that session was signed in as.
    user_pk: str


def impersonation_stack(value: Any) -> list[ImpersonationEntry]:
    """The stack stored under ``IMPERSONATOR_KEY`` (empty when none or malformed),
    reading the older single ``[row id, pk]`` entry as a stack of one."""
    if not isinstance(value, list) or not value:
        return []
    if len(value) == 2 and not isinstance(value[0], list) and not isinstance(value[1], list):
        value = [value]  # the single-entry format of sessions already in flight
    stack = []
    for entry in value:
        if not isinstance(entry, list) or len(entry) != 2:
            return []
        row_id, pk = entry
        if not (row_id is None or isinstance(row_id, str)) or not isinstance(pk, (str, int)):
            return []
        stack.append(ImpersonationEntry(row_id, str(pk)))
    return stack


def stored_stack(stack: list[ImpersonationEntry]) -> list[list[str | None]]:
    """The stack as it is kept in the session data."""
    return [[entry.row_id, entry.user_pk] for entry in stack]


class NewLogin(NamedTuple):
    """A login in this request that created a row, for the new-device notice."""

    user: AbstractBaseUser
    row: UserSession


class RequestState:
    """What the middleware knows about the session serving one request.

    A plain class whose defaults live on the class: built on every request,
    it sets only what differs. Its repr is the default one, so no error
    report or log shows the session key it holds.
    """

    #: The row of the session serving the request, once known (or logged in).
    row_id: str | None = None
    #: The marker as the user check read it; still true while the session is
    #: not modified, so the response step need not read it again.
    marker: Marker | None = None
    #: The session key the row is known to hold (rotation is detected against it).
    known_key: str | None = None
    #: The session ended in this request (logout, or refused as revoked).
    ended: bool = False
    #: The user once checked against the row (shared by ``user`` and ``auser()``).
    checked_user: AbstractBaseUser | AnonymousUser | None = None
    #: The thread running the user check's database work: a read of the user
    #: from inside that work gets the user as loaded, not a second check.
    checking: int | None = None
    #: The request's session, to read the row from if the user was never checked.
    session: SessionBase | None = None
    #: The session data as it was before an activity write marked it modified.
    before_activity: dict[str, Any] | None = None
    #: A row this request's login replaced: ended on the way out, unless the
    #: login was an impersonation (then the staff member's row waits for release).
    replaced_row_id: str | None = None
    #: The impersonation stack of the session as it was before this request
    #: flushed it: a release goes back to its top entry.
    stack_before_flush: list[ImpersonationEntry] | None = None
    #: The session was flushed in this request (``login()`` of another user, ``logout()``).
    flushed: bool = False
    #: Why the session that came with the request had ended: (code, words).
    end_notice: tuple[str, str] | None = None
    #: The primary key of the user a login in this request signed in (to
    #: remember their device).
    logged_in_user_pk: object = None
    #: A login in this request that created a row, for the new-device notice.
    new_login: NewLogin | None = None
    #: Ids of the user's sessions past ``MAX_SESSIONS`` at this request's
    #: login, revoked on the way out unless the login was an impersonation.
    past_limit: list[Any] | None = None
    #: The token session whose token authenticated this request (set by the
    #: app's token authentication classes): then it is the current session.
    token_row_id: str | None = None

    def __init__(self, known_key: str | None = None, session: SessionBase | None = None) -> None:
        self.known_key, self.session = known_key, session


#: The state of the request being served, for receivers that get no request.
current_state: ContextVar[RequestState | None] = ContextVar("sessionmgr_state", default=None)


def request_state(request: HttpRequest | None) -> RequestState | None:
    """The state the middleware keeps on ``request``, if it runs, while the
    request's own session serves it: a view that serves another session in its
    place (allauth headless, an app's ``X-Session-Token``) gets none, and what
    happens there is recorded as without the middleware."""
    if request is None:
        return None
    state: RequestState | None = getattr(request, "_sessionmgr", None)
    if state is None or state.session is None:
        return state
    return state if getattr(request, "session", None) is state.session else None
