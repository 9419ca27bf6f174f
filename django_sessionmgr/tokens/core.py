"""Token sessions, whatever the package: a token's row from its keyed digest,
its start, its activity and its end.

A row finds its token through ``token_digest``: an HMAC under ``SECRET_KEY``
of what identifies the token (never the token itself). The adapters
(``tokens/drf.py``, ``tokens/knox.py``, ...) call these functions from the
packages' own extension points; nothing here knows a package.

Between activity writes a token-authenticated request costs no query: a
bounded, process-local table remembers each token's row, when this process
last wrote its activity and when it ends. The package itself still looks
the token up on every request, and a revoke deletes (or blacklists) the
token, so what this table remembers never serves a revoked token.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.core.signals import setting_changed
from django.db import IntegrityError, router, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from rest_framework.exceptions import AuthenticationFailed

from ..conf import app_settings
from ..devices import login_fields
from ..digests import adopted_row_id
from ..endings import NO_EXPIRY, idle_allowance
from ..exceptions import RevokeFailed
from ..models import UserSession
from ..policies import login_atomically, revoke_past_limit, sessions_past_limit, tokens_count
from ..rows import active_and_unclaimed, ended_fields, insert_row, is_project_user, last_seen
from ..safety import contained
from ..signals import session_started
from ..state import request_state
from ..token_clearers import clear_tokens
from .known import Known, KnownTokens
from .lookup import token_digest, token_digests, token_rows

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest


class TokenRefused(AuthenticationFailed):
    """The token's session is over (revoked, ended, expired): the request is
    refused. Adapters answer as their package answers an unknown token."""

    #: Adapters answer with their package's own words instead (translated by it).
    default_detail = "Invalid token."


_known: KnownTokens[Known] = KnownTokens()


def forget_known_tokens(**kwargs: Any) -> None:
    """Forget every token's row this process remembers (settings changed)."""
    _known.forget()


setting_changed.connect(forget_known_tokens, dispatch_uid="django_sessionmgr.tokens.core")


def _remember(
    digest: str, row_id: Any, created: datetime, written: datetime, expires: datetime
) -> None:
    _known.put(digest, Known(str(row_id), created, written.timestamp(), expires.timestamp()))


def django_request(request: Any) -> HttpRequest:
    """Django's request behind a DRF ``Request`` (or the request itself)."""
    return getattr(request, "_request", request)  # type: ignore[no-any-return]


def _serve(request: Any, row_id: str) -> None:
    state = request_state(django_request(request))
    if state is not None:
        state.token_row_id = row_id


def token_end(created: datetime, now: datetime, expires_at: datetime | None) -> datetime:
    """A token session's end: the package's own (``expires_at``; none: far
    away), ``ABSOLUTE_TIMEOUT`` after its start, ``IDLE_TIMEOUT`` after now."""
    end = expires_at if expires_at is not None else created + NO_EXPIRY
    if (absolute := app_settings.ABSOLUTE_TIMEOUT) is not None:
        end = min(end, created + timedelta(seconds=absolute))
    if (allowance := idle_allowance()) is not None:
        end = min(end, now + timedelta(seconds=allowance))
    return end


# Starting a token session.


@sensitive_variables()
def start_token_session(
    request: HttpRequest | None,
    user: AbstractBaseUser,
    kind: str,
    identity: str,
    expires_at: datetime | None = None,
    *,
    adopted: bool = False,
    access_valid_until: datetime | None = None,
) -> UserSession | None:
    """One active row of ``kind`` for the token ``identity`` names, with the
    device, IP and location of ``request`` (None: unknown device, for a token
    made in the admin or by a command); the active row of that token as it
    is when it has one. ``adopted``: the token is older than its row (made
    before the install, or its login could not write the row).
    ``access_valid_until``: until when the package's stock authentication
    serves the session's stateless access tokens (simplejwt).

    ``expires_at``: the package's own expiry of the token, if it has one;
    else the row ends at ``ABSOLUTE_TIMEOUT`` if set, or is shown as having
    no expiry. ``MAX_SESSIONS`` applies when ``TOKENS_COUNT_TOWARD_MAX_SESSIONS``.
    Sends ``session_started``. A failure of ours is logged and never fails
    the package's login: None then.
    """
    if not is_project_user(user):
        return None
    digests = token_digests(kind, identity)
    return contained(
        partial(
            _start,
            request,
            user,
            kind,
            digests,
            expires_at,
            adopted=adopted,
            access_valid_until=access_valid_until,
        ),
        default=None,
        what="record a token login",
    )


def _start(
    request: HttpRequest | None,
    user: AbstractBaseUser,
    kind: str,
    digests: list[str],
    expires_at: datetime | None,
    *,
    adopted: bool,
    access_valid_until: datetime | None = None,
) -> UserSession:
    active = UserSession.Status.ACTIVE
    live = (
        row for row in token_rows(kind, digests) if row.status == active and not row.revoke_batch
    )
    if (existing := max(live, key=lambda row: row.created_at, default=None)) is not None:
        return existing
    counting = tokens_count()
    try:
        with login_atomically(user) if counting else nullcontext(), _adopting(adopted):
            row = _insert(request, user, kind, digests[0], expires_at, adopted, access_valid_until)
            excess = sessions_past_limit(user, str(row.pk)) if counting else []
    except IntegrityError:
        # Two first uses of one token at once: the other's row, under the same id.
        if not adopted:
            raise
        won = UserSession.objects.from_primary().filter(pk=adopted_row_id(digests[0])).first()
        if won is None:
            raise
        return won
    revoke_past_limit(excess)
    _remember(digests[0], row.pk, row.created_at, row.last_activity_at, row.expires_at)
    session_started.send(sender=UserSession, session=row, request=request)
    return row


def _adopting(adopted: bool) -> AbstractContextManager[Any]:
    """Around an adoption's INSERT, a savepoint: its id is the token's own
    (``adopted_row_id``), so a concurrent adoption of the token fails on it,
    and the transaction around goes on."""
    if not adopted:
        return nullcontext()
    return transaction.atomic(using=router.db_for_write(UserSession))


def _insert(
    request: HttpRequest | None,
    user: AbstractBaseUser,
    kind: str,
    digest: str,
    expires_at: datetime | None,
    adopted: bool,
    access_valid_until: datetime | None,
) -> UserSession:
    now = timezone.now()
    fields = login_fields(django_request(request)) if request is not None else {}
    row = UserSession(
        **({"pk": adopted_row_id(digest)} if adopted else {}),
        user_id=user.pk,
        kind=kind,
        token_digest=digest,
        created_at=now,
        last_activity_at=now,
        expires_at=token_end(now, now, expires_at),
        adopted=adopted,
        access_valid_until=access_valid_until,
        **fields,
    )
    insert_row(row)
    return row


# A token's request.


@dataclass(slots=True)
class _Outcome:
    row_id: str | None = None
    refused: bool = False


@sensitive_variables()
def token_used(
    request: HttpRequest,
    kind: str,
    identity: str,
    *,
    user: AbstractBaseUser | None = None,
    expires_at: datetime | None = None,
    digests: list[str] | None = None,
) -> str | None:
    """A request the package authenticated with the token ``identity`` names:
    return its row's id, and make that row the request's current session
    (``RequestState.token_row_id``, on Django's request behind a DRF one).

    Refreshes ``last_activity_at`` (and the last IP and location) at most
    once per ``ACTIVITY_UPDATE_INTERVAL``; between writes, no query. A token
    without a row (made before the install) gets one, ``adopted``, with this
    request's device, when ``user`` (the token's user) is given. Raises
    ``TokenRefused`` when its row is over (revoked, ended, or expired, which
    ``IDLE_TIMEOUT`` and ``ABSOLUTE_TIMEOUT`` also do): the token is then
    ended too (its kind's clearer). ``expires_at``: the package's own expiry
    of the token now, for a package whose tokens have one (it moves the row's
    end with it). None when the row could not be read or written: the request
    goes on as the package alone would serve it. ``digests``: the token's
    (``token_digests``), when the adapter has them already.
    """
    digest = digests[0] if digests else token_digest(kind, identity)
    known = _known.get(digest)
    if known is not None:
        now = time.time()
        if now - known.written < app_settings.ACTIVITY_UPDATE_INTERVAL and now < known.expires:
            _serve(request, known.row_id)
            return known.row_id
    outcome = contained(
        partial(_check, request, kind, identity, digest, known, user, expires_at, digests),
        default=_Outcome(),
        what="record a token's activity",
    )
    if outcome.refused:
        _known.forget(digest)
        if outcome.row_id is not None:
            _end_token(kind, outcome.row_id)
        raise TokenRefused
    if outcome.row_id is not None:
        _serve(request, outcome.row_id)
    return outcome.row_id


def _check(
    request: HttpRequest,
    kind: str,
    identity: str,
    digest: str,
    known: Known | None,
    user: AbstractBaseUser | None,
    expires_at: datetime | None,
    digests: list[str] | None,
) -> _Outcome:
    """The row's verdict, with the activity write when one is due."""
    now = timezone.now()
    if known is not None and _write(request, known.row_id, known.created, now, expires_at):
        _remember(
            digest, known.row_id, known.created, now, token_end(known.created, now, expires_at)
        )
        return _Outcome(known.row_id)
    digests = digests or token_digests(kind, identity)
    row = _row_of(kind, digests, known)
    if row is None:
        if user is None or not is_project_user(user):
            return _Outcome()
        adopted = _start(request, user, kind, digests, expires_at, adopted=True)
        return _Outcome(str(adopted.pk))
    row_id, created = str(row["pk"]), row["created_at"]
    if row["status"] != UserSession.Status.ACTIVE:
        return _Outcome(row_id, refused=True)
    if row["expires_at"] <= now:
        UserSession.objects.filter(active_and_unclaimed(), pk=row_id).update(
            status=UserSession.Status.EXPIRED
        )
        return _Outcome(row_id, refused=True)
    if row["token_digest"] != digest:  # written under a key now in SECRET_KEY_FALLBACKS
        UserSession.objects.filter(pk=row_id).update(token_digest=digest)
    written, expires = row["last_activity_at"], row["expires_at"]
    interval = timedelta(seconds=app_settings.ACTIVITY_UPDATE_INTERVAL)
    due = row["revoke_batch"] is None and written <= now - interval
    if due and _write(request, row_id, created, now, expires_at):
        written, expires = now, _new_end(created, now, expires_at) or expires
    _remember(digest, row_id, created, written, expires)
    return _Outcome(row_id)


_ROW_FIELDS = (
    "pk",
    "status",
    "revoke_batch",
    "created_at",
    "last_activity_at",
    "expires_at",
    "token_digest",
)


def _row_of(kind: str, digests: list[str], known: Known | None) -> dict[str, Any] | None:
    """The token's row as the database has it: its active one if any, else its
    latest (the row this process knew first, unless that one is over: a key
    given to another user in DRF's admin has a new row, made in another process)."""
    rows = token_rows(kind, digests)
    rows = rows.filter(pk=known.row_id) if known is not None else rows
    # Ordered here (live first, newest first): an ORDER BY in SQL lets SQLite
    # without statistics walk another index.
    candidates = rows.values(*_ROW_FIELDS)
    found: dict[str, Any] | None = min(
        candidates,
        key=lambda row: (
            row["status"] != UserSession.Status.ACTIVE,
            -row["created_at"].timestamp(),
        ),
        default=None,
    )
    live = found is not None and found["status"] == UserSession.Status.ACTIVE
    if known is not None and not live:  # gone or over: the token may have another row now
        return _row_of(kind, digests, None)
    return found


def _new_end(created: datetime, now: datetime, expires_at: datetime | None) -> datetime | None:
    """The row's end as an activity write moves it: with ``IDLE_TIMEOUT``, or
    when the package says when the token ends now; else the end stays."""
    if expires_at is None and idle_allowance() is None:
        return None
    return token_end(created, now, expires_at)


def _write(
    request: HttpRequest, row_id: str, created: datetime, now: datetime, expires_at: datetime | None
) -> bool:
    """The activity write, if the row is still active, unclaimed, not past its
    end and not written within the interval (by any process)."""
    interval = timedelta(seconds=app_settings.ACTIVITY_UPDATE_INTERVAL)
    fields: dict[str, Any] = {"last_activity_at": now, **last_seen(django_request(request))}
    if (end := _new_end(created, now, expires_at)) is not None:
        fields["expires_at"] = end
    rows = UserSession.objects.filter(
        active_and_unclaimed(), pk=row_id, expires_at__gt=now, last_activity_at__lte=now - interval
    )
    return bool(rows.update(**fields))


def _end_token(kind: str, row_id: str) -> None:
    """A refused token is ended by its package too (deleted, blacklisted)."""
    # A failure is logged by clear_tokens; the row's refusal stands.
    with suppress(RevokeFailed):
        contained(
            partial(clear_tokens, UserSession.objects.filter(pk=row_id), [kind]),
            default=None,
            what="end a refused token",
        )


# The package's own end of a token.


@sensitive_variables()
def end_token_session(kind: str, identity: str, status: str = UserSession.Status.ENDED) -> None:
    """The package's own logout, deletion or expiry of a token: its active
    row reads ``status`` (``ended``, or ``expired``). A row a revoke has
    claimed is left to the revoke. A failure of ours is logged."""
    digests = token_digests(kind, identity)
    _known.forget(digests[0])
    fields = ended_fields(status)

    def end() -> int:
        rows = list(token_rows(kind, digests).values_list("pk", flat=True))
        return UserSession.objects.filter(active_and_unclaimed(), pk__in=rows).update(**fields)

    contained(end, default=0, what="record the end of a token")
