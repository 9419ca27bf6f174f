"""Keeping a session's row true as the session goes on: the activity write,
the key and expiry it follows, the end of the row, and whether it still holds.

A session may go on while its row is active and no revoke has claimed it
(``active_and_unclaimed``): the rule is declared once here, for the ORM and
for the one raw query that runs on every signed-cookie request.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from django.db import connections, models, router
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .anomalies import TRAVEL_FIELDS, travel_flags, travel_found
from .conf import app_settings
from .digests import client_digest, stored_key, stored_key_digest
from .internals import insert_prepared
from .markers import SESSION_MARKER, Marker, marker_as_of_now
from .models import USER_AGENT_MAX_LENGTH, UserSession, column
from .network import Place, get_client_ip, locate_place, place_fields, stored_ip
from .signals import session_client_changed
from .signouts import mark_cache, note_no_mark, read_mark, record_sign_out_of_row, vouches

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.contrib.sessions.backends.base import SessionBase
    from django.core.cache import BaseCache
    from django.http import HttpRequest

logger = logging.getLogger("django_sessionmgr")


@lru_cache(maxsize=8)
def _insert_statement(alias: str) -> tuple[str, tuple[models.Field[Any, Any], ...]]:
    quote = connections[alias].ops.quote_name
    fields = tuple(UserSession._meta.concrete_fields)
    columns = ", ".join(quote(column(field.name)) for field in fields)
    values = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {quote(UserSession._meta.db_table)} ({columns}) VALUES ({values})", fields


def _fit_to_charset(row: UserSession, alias: str) -> None:
    """Replace what a ``utf8mb3`` table cannot hold (an emoji in a user agent):
    a login whose row cannot be inserted could never be revoked."""
    for field in UserSession._meta.concrete_fields:
        value = getattr(row, field.attname)
        if isinstance(value, str):
            setattr(row, field.attname, UserSession.storable_text(value, alias))


def insert_row(row: UserSession) -> None:
    """``row.save(force_insert=True)``, for the one INSERT of every login.

    The statement is built once per database rather than compiled by the
    ORM on each login, which cost more than running it. Everything else that
    ``save()`` does for this model still happens: the values are prepared by
    each field, ``pre_save`` and ``post_save`` are sent, and the instance
    ends up saved in the database it was routed to. On a ``utf8mb3`` table,
    text the table cannot hold is replaced first (``_fit_to_charset``).
    """
    alias = router.db_for_write(UserSession, instance=row)
    sql, fields = _insert_statement(alias)
    if connections[alias].vendor == "mysql":  # only MySQL's tables can be utf8mb3
        _fit_to_charset(row, alias)
    insert_prepared(row, alias, sql, fields)


#: The fields of the rule "the row is active and no revoke has claimed it"
#: (a claim is a revoke's batch on the row; see ``revocation``).
_STATUS, _CLAIM = "status", "revoke_batch"


def is_project_user(user: AbstractBaseUser) -> bool:
    """Whether rows can point at ``user``: of the model our foreign key targets,
    and written to the database our table is routed to (a user read from a
    replica of it is one of ours)."""
    target = UserSession._meta.get_field("user").related_model
    return isinstance(user, target) and router.db_for_write(
        target, instance=user
    ) == router.db_for_write(UserSession)


def active_and_unclaimed() -> Q:
    """The rows whose session may go on: active, and claimed by no revoke in progress."""
    return Q(**{_STATUS: UserSession.Status.ACTIVE, f"{_CLAIM}__isnull": True})


@lru_cache(maxsize=8)
def _active_row_sql(alias: str) -> str:
    """``active_and_unclaimed()`` for one primary key, as SQL."""
    quote = connections[alias].ops.quote_name
    table = quote(UserSession._meta.db_table)
    pk, status, claim = quote(column("id")), quote(column(_STATUS)), quote(column(_CLAIM))
    return f"SELECT 1 FROM {table} WHERE {pk} = %s AND {status} = %s AND {claim} IS NULL"


def row_is_active(row_id: str) -> bool:
    """Whether the row is active and no revoke has claimed it.

    One primary-key read, from the database the row is written to (a replica
    that lags would still call a revoked row active). Raw SQL: on every
    request of a signed-cookie session, building the ORM query would cost
    more than running it."""
    alias = router.db_for_write(UserSession)
    connection = connections[alias]
    pk = UserSession._meta.pk.get_db_prep_value(uuid.UUID(row_id), connection)
    with connection.cursor() as cursor:
        cursor.execute(_active_row_sql(alias), [pk, UserSession.Status.ACTIVE.value])
        return cursor.fetchone() is not None


def session_alive(marker: Marker, user_pk: Any) -> bool:
    """Whether a session the store cannot end for sure still has an active
    row: from its user's sign-out mark when that vouches for it (see
    ``signouts``), else one primary-key read."""
    cache = mark_cache() if user_pk is not None else None
    missing = False
    if cache is not None:
        try:
            mark = read_mark(cache, user_pk)
        except Exception as error:
            logger.warning(
                "django-sessionmgr could not read a sign-out mark (%s); reading the row",
                type(error).__name__,
            )
        else:
            if vouches(mark, marker.mark):
                return True
            missing = mark is None
    if not row_is_active(marker.row_id):
        return False
    if missing:
        note_no_mark(cast("BaseCache", cache), user_pk)
    return True


def ended_fields(status: str) -> dict[str, Any]:
    """What a row's UPDATE sets when its session ends as ``status``."""
    if status == UserSession.Status.ENDED:
        return {"status": status, "ended_at": timezone.now()}
    return {"status": status}


def end_row(row_id: str, status: str = UserSession.Status.ENDED) -> None:
    """End an active row: ``ended`` (a logout, a session replaced by a login),
    or ``expired`` (its recorded end passed).

    Another copy of the session (an older or a newer cookie of it) must not go
    on being vouched for by its user's sign-out mark: the mark is replaced.
    """
    fields = ended_fields(status)
    if UserSession.objects.filter(pk=row_id, status=UserSession.Status.ACTIVE).update(**fields):
        record_sign_out_of_row(UserSession.objects.from_primary().filter(pk=row_id))


def last_seen(request: HttpRequest, place: Place | None = None) -> dict[str, Any]:
    """Where the session is seen now: written with the activity write only.
    ``place``: where GeoIP puts the request's address, when already looked up."""
    ip = get_client_ip(request)
    place = locate_place(ip) if place is None else place
    return {"last_ip_address": stored_ip(ip), **place_fields(place, timezone.now())}


@sensitive_variables()
def sync_row(
    session: SessionBase,
    row_id: str,
    *,
    activity: bool,
    user: AbstractBaseUser | None = None,
    request: HttpRequest | None = None,
    started: int | None = None,
    flags: dict[str, Any] | None = None,
    place: Place | None = None,
) -> bool:
    """Write the session's key and expiry (and activity) to its row, then
    write the session's marker with the same expiry.

    False, writing nothing, when the row is no longer active: ended, claimed
    by a revoke, or past the end the row records or the timeouts set. The
    row decides, not the marker: a replayed cookie (one with no marker, or
    an old one) cannot carry a session past its end. ``flags`` (see
    ``anomalies``) ride on the activity write; ``place``: the request's,
    when already looked up.
    """

    client = client_digest(request) if request is not None else None
    marker, expires_at = marker_as_of_now(
        session,
        row_id,
        client=client,
        user_pk=user.pk if user is not None else None,
        started=started,
    )
    fields: dict[str, Any] = {"expires_at": expires_at}
    if activity:
        fields["last_activity_at"] = timezone.now()
        if request is not None:
            fields.update(last_seen(request, place), **(flags or {}))
    if key := stored_key(session):
        fields["session_key"] = key
        fields["session_key_digest"] = stored_key_digest(session)
    now = timezone.now()
    rows = UserSession.objects.filter(active_and_unclaimed(), pk=row_id, expires_at__gt=now)
    if (absolute := app_settings.ABSOLUTE_TIMEOUT) is not None:
        rows = rows.filter(created_at__gt=now - timedelta(seconds=absolute))
    if user is not None:
        rows = rows.filter(user_id=user.pk)
    if not rows.update(**fields):
        return False
    session[SESSION_MARKER] = marker
    return True


def record_activity(request: HttpRequest, marker: Marker) -> bool:
    """The activity write; it also notices a change of address or browser.
    False when the row no longer lets the session go on."""
    session: SessionBase = request.session
    previous = None
    if marker.client and marker.client != client_digest(request):
        previous = (
            UserSession.objects.from_primary()
            .filter(pk=marker.row_id)
            .values("last_ip_address", "ip_address", "user_agent", *TRAVEL_FIELDS)
            .first()
        )
    place: Place | None = None
    flags: dict[str, Any] = {}
    if previous is not None:
        # Looked up once, for the impossible-travel check and the write.
        place = locate_place(get_client_ip(request))
        flags = travel_flags(previous, place)
    if not sync_row(
        session, marker.row_id, activity=True, request=request, flags=flags, place=place
    ):
        return False
    row = client_changed(request, marker.row_id, dict(previous)) if previous is not None else None
    return travel_found(request, row) if flags and row is not None else True


def client_changed(
    request: HttpRequest, row_id: str, previous: dict[str, Any]
) -> UserSession | None:
    """Tell the project that a session is seen from another address or browser;
    return its row as now written."""
    row = UserSession.objects.from_primary().filter(pk=row_id).first()
    if row is None:
        return None
    meta = getattr(request, "META", None) or {}
    agent = str(meta.get("HTTP_USER_AGENT", ""))[:USER_AGENT_MAX_LENGTH]
    if agent != previous["user_agent"]:
        logger.warning(
            "Session %s of user %s changed browser within the session (a sign of a stolen cookie?)",
            row_id,
            row.user_id,
        )
    session_client_changed.send(
        sender=UserSession,
        session=row,
        request=request,
        previous_ip_address=previous["last_ip_address"] or previous["ip_address"],
        previous_user_agent=previous["user_agent"],
    )
    return row
