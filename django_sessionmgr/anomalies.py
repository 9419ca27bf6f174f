"""Theft signals: one session used from two places too far apart for the time
between them ("impossible travel"), and a sign-in from a country none of the
user's recent sessions came from ("new country").

Each finding is recorded on the row (``flagged_at``, ``flag_reason``) and
sent as ``session_anomaly`` once per session and finding. Impossible travel
costs no query of its own: it is looked for only at an activity write whose
client digest already says the client changed (``rows.record_activity``),
and its flag rides on that write's UPDATE. A new country costs one query at
login, and only when GeoIP placed the login in a country.

Nothing here keeps more than the row does: the places compared are the ones
GeoIP gave when the row was written (the city's point, to a tenth of a
degree), never an address read back from the row.
"""

from __future__ import annotations

import math
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.db import connections, router
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.module_loading import import_string

from .conf import app_settings, django_settings
from .models import FlagReason, RevokeReason, UserSession, column
from .network import Place
from .safety import logger
from .signals import session_anomaly
from .signout_notices import announce, notice_for
from .state import request_state

if TYPE_CHECKING:
    from datetime import datetime

    from django.http import HttpRequest

#: What ``rows.record_activity`` reads of the row when the client changed:
#: where and when the session was last seen, and the pairs already reported.
TRAVEL_FIELDS = (
    "last_location_city",
    "last_location_country",
    "last_location_latitude",
    "last_location_longitude",
    "last_located_at",
    "last_activity_at",
    "flagged_pairs",
)
#: The smallest error GeoIP's point is taken to have, whatever radius it
#: claims: a city's point is not where its users are.
ERROR_FLOOR_KM = 100
EARTH_RADIUS_KM = 6371.0
#: Pairs of places remembered per session (each a short keyed digest).
MAX_PAIRS = 8


def detecting() -> bool:
    """Whether theft signals are looked for: on, and GeoIP configured."""
    return bool(app_settings.ANOMALY_DETECTION and django_settings.GEOIP_PATH)


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The great-circle distance between two ``(latitude, longitude)`` points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2
    h += math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def is_impossible(there: tuple[float, float], here: Place, since: datetime, now: datetime) -> bool:
    """Whether going from ``there`` (seen at ``since``) to ``here`` (seen now)
    is faster than ``MAX_TRAVEL_SPEED_KMH``, once both points are allowed
    GeoIP's error radius (at least ``ERROR_FLOOR_KM``)."""
    assert here.latitude is not None and here.longitude is not None
    margin = 2 * max(ERROR_FLOOR_KM, here.radius_km or 0)
    km = distance_km(there, (here.latitude, here.longitude)) - margin
    if km <= 0:
        return False
    hours = max((now - since).total_seconds(), 0.0) / 3600
    return km > hours * app_settings.MAX_TRAVEL_SPEED_KMH


def pair_digest(there: tuple[float, float], here: tuple[float, float]) -> str:
    """A short keyed digest of a pair of places, the same either way round."""
    ends = sorted(f"{lat:.1f},{lon:.1f}" for lat, lon in (there, here))
    return salted_hmac("django_sessionmgr.places", "|".join(ends)).hexdigest()[:8]


def travel_flags(previous: dict[str, Any], here: Place) -> dict[str, Any]:
    """The fields that flag the row when the session's move from the last
    place GeoIP could place it (``previous``, the ``TRAVEL_FIELDS``) to this
    request's place (``here``) is impossible travel not yet reported; else none."""
    there = (previous["last_location_latitude"], previous["last_location_longitude"])
    if not detecting() or None in there:
        return {}
    if here.latitude is None or here.longitude is None:
        return {}
    now = timezone.now()
    # When the point was seen (rows from before it was kept: the last write).
    since = previous["last_located_at"] or previous["last_activity_at"]
    if not is_impossible(there, here, since, now):
        return {}
    pair = pair_digest(there, (here.latitude, here.longitude))
    reported = previous["flagged_pairs"].split()
    if pair in reported:
        return {}
    return {
        "flagged_at": now,
        "flag_reason": FlagReason.IMPOSSIBLE_TRAVEL.value,
        "flagged_pairs": " ".join([*reported, pair][-MAX_PAIRS:]),
    }


def anomaly_action(session: UserSession, kind: str, request: HttpRequest | None) -> str:
    """``ANOMALY_ACTION`` for this finding: ``"flag"`` or ``"revoke"``. A
    callable (or its dotted path) decides with the session, the finding's
    kind and the request; anything but ``"revoke"`` flags."""
    action: Any = app_settings.ANOMALY_ACTION
    if isinstance(action, str) and action not in ("flag", "revoke"):
        action = import_string(action)
    if callable(action):
        try:
            action = action(session=session, kind=kind, request=request)
        except Exception:
            # A risk engine that fails must not fail the user's request, nor
            # lose the finding: it stays flagged, the default.
            logger.exception("ANOMALY_ACTION failed on a %s finding: the session is flagged", kind)
            return "flag"
    return "revoke" if action == "revoke" else "flag"


def send_anomaly(kind: str, session: UserSession, request: HttpRequest | None) -> None:
    """``session_anomaly``, sent to every receiver: one that raises is logged,
    and neither the request nor the other receivers (an alert) are lost."""
    replies = session_anomaly.send_robust(
        sender=UserSession, kind=kind, session=session, request=request
    )
    for receiver, reply in replies:
        if isinstance(reply, Exception):
            logger.error("A session_anomaly receiver failed: %s", receiver, exc_info=reply)


def travel_found(request: HttpRequest, row: UserSession) -> bool:
    """Tell the project about a session just flagged for impossible travel,
    and apply ``ANOMALY_ACTION``. False when that revoked the session: this
    request is then served as signed out, and told why."""
    kind = FlagReason.IMPOSSIBLE_TRAVEL.value
    send_anomaly(kind, row, request)
    if anomaly_action(row, kind, request) != "revoke":
        return True
    row.revoke(reason=RevokeReason.SUSPICIOUS.value)
    state = request_state(request)
    if state is not None:
        announce(request, state, notice_for(row))
    return False


#: What ``recent_places`` reads of each row, in order.
PLACE_FIELDS = ("impersonated_by", "revoke_reason", "location_country", "last_location_country")


@lru_cache(maxsize=8)
def _recent_places_sql(alias: str) -> str:
    quote = connections[alias].ops.quote_name

    def quoted(name: str) -> str:
        return quote(column(name))

    return (
        f"SELECT DISTINCT {', '.join(map(quoted, PLACE_FIELDS))} "
        f"FROM {quote(UserSession._meta.db_table)} "
        f"WHERE {quoted('user')} = %s AND {quoted('last_activity_at')} >= %s "
        f"AND {quoted('id')} <> %s"
    )


def recent_places(row: UserSession, since: datetime) -> list[tuple[Any, ...]]:
    """The distinct ``PLACE_FIELDS`` of the user's other sessions active
    since ``since``, read where rows are written (a replica that lags has not
    the newest). Raw SQL, run at every login: Django takes longer to compile
    this query than the database takes to run it."""
    alias = router.db_for_write(UserSession)
    connection = connections[alias]
    meta = UserSession._meta
    params = [
        meta.get_field("user").get_db_prep_value(row.user_id, connection),
        meta.get_field("last_activity_at").get_db_prep_value(since, connection),
        meta.pk.get_db_prep_value(row.pk, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_recent_places_sql(alias), params)
        return list(cursor.fetchall())


def check_new_country(request: HttpRequest | None, row: UserSession) -> bool:
    """Flag ``row`` and send ``session_anomaly`` when its login came from a
    country that none of the user's sessions of the last ``NEW_COUNTRY_DAYS``
    came from (when none of them was placed in a country, there is nothing
    to compare with: a user's first sign-in is never new).

    One query, only when GeoIP placed the login in a country; one UPDATE
    when it is new.
    """
    country = row.location_country
    if not country or not detecting():
        return False
    since = timezone.now() - timedelta(days=app_settings.NEW_COUNTRY_DAYS)
    places = [
        (first, last)
        for impersonated_by, reason, first, last in recent_places(row, since)
        if impersonated_by is None and reason != RevokeReason.SUSPICIOUS
    ]
    if not any(first or last for first, last in places):
        return False  # nothing placed to compare with
    if any(country in (first, last) for first, last in places):
        return False
    row.flagged_at, row.flag_reason = timezone.now(), FlagReason.NEW_COUNTRY.value
    UserSession.objects.filter(pk=row.pk).update(
        flagged_at=row.flagged_at, flag_reason=row.flag_reason
    )
    send_anomaly(row.flag_reason, row, request)
    return True
