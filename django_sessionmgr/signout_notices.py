""" "You were signed out": telling the next request of an ended session why.

Only the request that finds its session gone pays for this, with one indexed
read (none when a timeout policy ended it: the marker tells, see ``endings``);
every other request pays nothing. Pages get a Django message, the API an error
code (``session_revoked``, ``session_expired``, ``session_ended``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib import messages
from django.utils import formats, timezone
from django.utils.translation import gettext

from .digests import key_digest
from .endings import ended_notice, ending_policy
from .models import UserSession

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .markers import Marker
    from .state import RequestState


def notice_for(row: UserSession) -> tuple[str, str]:
    """``(code, sentence)`` for a row whose session has ended."""
    code, sentence = _notice_for(row)
    # A date that ends in a stop ("11:12 a.m.") ends the sentence: no "a.m..".
    return code, sentence[:-1] if sentence.endswith("..") else sentence


def _notice_for(row: UserSession) -> tuple[str, str]:
    status = row.effective_status
    if status == UserSession.Status.REVOKED:
        reason = _reason(row)
        return "session_revoked", gettext("You were signed out on %(when)s: %(reason)s.") % {
            "when": _when(row.revoked_at),
            "reason": str(reason)[:1].lower() + str(reason)[1:],
        }
    if status == UserSession.Status.EXPIRED:
        return "session_expired", gettext("Your session expired on %(when)s.") % {
            "when": _when(row.expires_at)
        }
    return "session_ended", gettext("You were signed out on %(when)s.") % {
        "when": _when(row.ended_at)
    }


def _reason(row: UserSession) -> str:
    """The revoke's reason in the app's own words.

    Whoever presents the dead cookie reads this, often the thief whose stolen
    cookie was revoked: staff's free text (``reason`` of the staff API,
    ``--reason``) is shown only with ``NOTICE_SHOWS_FREE_TEXT_REASON``.
    """
    return row.revoke_reason_display or gettext("it was signed out")


def policy_notice(marker: Marker) -> str | None:
    """Why a session reached the end its marker records, in words, if a
    timeout policy ended it."""
    if marker.expiry is None or marker.started is None:
        return None
    policy = ending_policy(marker.expiry - marker.started, marker.expiry - marker.written)
    return None if policy is None else ended_notice(policy)


def _when(moment: datetime | None) -> str:
    if moment is None:
        return gettext("an earlier visit")
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return str(formats.date_format(moment, "DATETIME_FORMAT"))


def announce(request: HttpRequest, state: RequestState, notice: tuple[str, str]) -> None:
    state.end_notice = notice
    messages.info(request, notice[1], fail_silently=True)


def explain_dead_cookie(request: HttpRequest, state: RequestState) -> bool:
    """The request came with a cookie whose session the store no longer has:
    if it was one of ours that ended, say so. Returns True (nothing to refuse)."""
    if not state.known_key:
        return True
    row = (
        UserSession.objects.from_primary()
        .filter(session_key_digest=key_digest(state.known_key))
        .finished()
        .only("status", "expires_at", "ended_at", "revoked_at", "revoke_reason")
        .first()
    )
    if row is not None:
        announce(request, state, notice_for(row))
    return True


def explain_refused(request: HttpRequest, state: RequestState, row_id: str) -> None:
    """A signed-cookie session refused by its row: say why."""
    row = UserSession.objects.from_primary().filter(pk=row_id).first()
    if row is not None:
        announce(request, state, notice_for(row))
