"""How a session ended: the timeout policies' ends, which one ended a
session, and the words that say so.

``IDLE_TIMEOUT`` and ``ABSOLUTE_TIMEOUT`` cost nothing on the request path:
their end is folded into the expiry that the session's marker and row record
(``policy_end``). Neither keeps a cause, so the policy that ended a session is
read back from where its recorded end sits (``ending_policy``): after the
login, or after the last write. Pages and the API then say it in words.

This module reads settings only: ``models``, ``tracking`` and the notices
import it, never the other way round.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from django.utils.translation import gettext, ngettext

from .conf import app_settings

#: How far, in seconds (exclusive), a recorded end may sit from a policy's
#: end and still be that policy's. The marker holds whole seconds; the row's
#: login and activity times are exact and taken a moment before or after the
#: marker's whole second (the write in between), so a policy's end lies up to
#: a second and that moment away from them.
TOLERANCE = 2

#: How far a session without an end of its own (a DRF token) is recorded to
#: end: a date every database stores, shown as "No expiry" (``never_ends``).
NO_EXPIRY = timedelta(days=36525)


def never_ends(created: datetime, expires: datetime) -> bool:
    """Whether a row's end is the far date of a session with no end of its own."""
    return expires - created >= NO_EXPIRY - timedelta(days=1)


class EndingPolicy(enum.Enum):
    """A timeout policy that can end a session, by the setting that sets it."""

    ABSOLUTE = "ABSOLUTE_TIMEOUT"
    IDLE = "IDLE_TIMEOUT"


def idle_allowance() -> int | None:
    """How long a session outlives its last write under ``IDLE_TIMEOUT``
    (None without it).

    Activity is recorded at most once per ``ACTIVITY_UPDATE_INTERVAL``, so the
    idle end counts from the last write plus one interval: a session ends
    between ``IDLE_TIMEOUT`` and ``IDLE_TIMEOUT`` + the interval after its
    last request, never sooner.
    """
    idle = app_settings.IDLE_TIMEOUT
    return None if idle is None else idle + app_settings.ACTIVITY_UPDATE_INTERVAL


def idle_end(last_write: int) -> int | None:
    """Unix time at which a session last written at ``last_write`` ends for
    want of activity; None without ``IDLE_TIMEOUT``."""
    allowance = idle_allowance()
    return None if allowance is None else last_write + allowance


def absolute_end(started: int) -> int | None:
    """Unix time at which a session started at ``started`` ends, however
    active; None without ``ABSOLUTE_TIMEOUT``."""
    absolute = app_settings.ABSOLUTE_TIMEOUT
    return None if absolute is None else started + absolute


def policy_end(last_write: int, started: int) -> int | None:
    """The earliest end the timeout policies set (None when both are off)."""
    idle, absolute = idle_end(last_write), absolute_end(started)
    if idle is None or absolute is None:
        return absolute if idle is None else idle
    return min(idle, absolute)


def ending_policy(after_login: float, after_last_write: float) -> EndingPolicy | None:
    """The policy whose end a recorded end is, if any.

    ``after_login`` and ``after_last_write`` are the seconds from the login
    and from the last write to the recorded end. A policy's end lies a fixed
    time after one of them; within ``TOLERANCE`` of both, ``ABSOLUTE_TIMEOUT``
    is named.
    """
    absolute = app_settings.ABSOLUTE_TIMEOUT
    if absolute is not None and abs(after_login - absolute) < TOLERANCE:
        return EndingPolicy.ABSOLUTE
    allowance = idle_allowance()
    if allowance is not None and abs(after_last_write - allowance) < TOLERANCE:
        return EndingPolicy.IDLE
    return None


def ended_words(policy: EndingPolicy) -> str:
    """How the list and the API name a session the policy ended."""
    if policy is EndingPolicy.ABSOLUTE:
        return gettext("Signed out at the session time limit")
    return gettext("Signed out after inactivity")


def ended_notice(policy: EndingPolicy) -> str:
    """What the first request after the end tells the user, as a sentence."""
    timeout = getattr(app_settings, policy.value)
    if policy is EndingPolicy.ABSOLUTE:
        return gettext(
            "You were signed out: a session on this site lasts at most %(duration)s."
        ) % {"duration": duration(timeout)}
    return gettext("You were signed out after %(duration)s without activity.") % {
        "duration": duration(timeout)
    }


def duration(seconds: int) -> str:
    """``seconds`` in the largest whole unit that fits: "30 minutes", "2 days"."""
    if seconds % 86400 == 0:
        days = seconds // 86400
        return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    if seconds % 60 == 0:
        minutes = seconds // 60
        return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
