"""django-rest-knox: one row per ``AuthToken``, found by knox's own digest.

- ``SessionmgrKnoxAuthentication``: knox's ``TokenAuthentication`` that also
  records the token's activity (and its expiry, which knox may renew), and
  refuses a token whose row is over with knox's own answer to an unknown one.
- A new ``AuthToken`` gets its row at once (``post_save``), so a revoke
  reaches it whoever made it. Knox's ``LoginView`` (and any subclass) then
  sends ``user_logged_in`` with the request that logged in: the row takes
  that request's device, IP and location. A token made elsewhere (the admin,
  a script) keeps an unknown device.
- A deleted ``AuthToken`` ends its row: knox's ``logout/`` (that token),
  ``logoutall/`` (every knox token of the user; browser sessions are not
  touched) and knox's own deletion of an expired token (the row reads
  ``expired``).
- A revoke deletes the rows' ``AuthToken``s.

Connected by ``receivers.connect`` when ``knox`` is installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from knox.auth import TokenAuthentication
from knox.models import get_token_model

from .. import token_clearers
from ..batches import batched
from ..devices import login_fields
from ..models import UserSession
from ..safety import contained
from ..state import RequestState, current_state
from .core import TokenRefused, django_request, end_token_session, start_token_session, token_used
from .lookup import DIGESTS_AT_ONCE, token_digests, unrecorded

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import QuerySet
    from django.http import HttpRequest
    from rest_framework.request import Request

KIND = UserSession.Kind.KNOX
#: A token no ``AuthToken`` has (knox's keys are never empty).
NO_TOKEN = b""


class _NewToken(NamedTuple):
    """A knox token made in the request being served, whose row awaits its device."""

    state: RequestState
    row_id: str
    user_pk: Any


#: The row of the token made in this request, until ``user_logged_in`` names its device.
_new_token: ContextVar[_NewToken | None] = ContextVar("sessionmgr_knox_new", default=None)
#: Set while a revoke deletes tokens: their rows are the revoke's to mark.
_clearing: ContextVar[bool] = ContextVar("sessionmgr_knox_clearing", default=False)


class SessionmgrKnoxAuthentication(TokenAuthentication):
    """Knox's ``TokenAuthentication`` that keeps the token's row: its
    activity, and the request's current session (the token's row)."""

    # An ``AuthToken`` shows its digest (``str``): not in the frame's
    # variables of an error report.
    @sensitive_variables("authenticated", "auth_token")
    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, Any] | None:
        authenticated: tuple[AbstractBaseUser, Any] | None = super().authenticate(request)
        if authenticated is None:
            return None
        user, auth_token = authenticated
        try:
            token_used(request, KIND, auth_token.digest, user=user, expires_at=auth_token.expiry)
        except TokenRefused:
            # Knox's own answer to an unknown token (asked for one no token
            # has): a revoked token gets exactly the same.
            self.authenticate_credentials(NO_TOKEN)
            raise  # not reached: knox refuses NO_TOKEN
        return authenticated


@sensitive_variables("instance")
def token_saved(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """A new token's row, at once (unknown device until a login names it)."""
    if not created or raw:
        return
    row = start_token_session(None, instance.user, KIND, instance.digest, instance.expiry)
    state = current_state.get()
    if row is not None and state is not None:
        _new_token.set(_NewToken(state, str(row.pk), instance.user_id))


def token_logged_in(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: Any
) -> None:
    """Knox's ``LoginView`` announces the token it just made with the request
    that obtained it: the row takes that request's device."""
    new = _new_token.get()
    if new is None or request is None:
        return
    _new_token.set(None)
    if new.state is not current_state.get() or new.user_pk != user.pk:
        return  # made in another request (a script, an earlier request of this thread)
    fields = login_fields(django_request(request))
    rows = UserSession.objects.filter(pk=new.row_id)
    contained(lambda: rows.update(**fields), default=0, what="record a knox login's device")


@sensitive_variables("instance")
def token_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Knox's logout, logout-all, or its deletion of an expired token."""
    if _clearing.get():
        return
    expired = instance.expiry is not None and instance.expiry <= timezone.now()
    status = UserSession.Status.EXPIRED if expired else UserSession.Status.ENDED
    end_token_session(KIND, instance.digest, status)


def delete_tokens(rows: QuerySet[UserSession]) -> None:
    """The clearer: delete the rows' ``AuthToken``s (the rows' users' tokens,
    matched by digest).

    When a row's token is not found, its digest was written under a
    ``SECRET_KEY`` since dropped from ``SECRET_KEY_FALLBACKS`` (or knox has
    deleted the token as expired): the revoke fails closed, and the users'
    tokens that no active row records go too, that one among them. Left
    alone, it would go on working, and come back as a new row."""
    wanted = set(rows.order_by().values_list("token_digest", flat=True))
    users = rows.order_by().values("user_id")
    tokens = list(
        get_token_model().objects.filter(user_id__in=users).values_list("digest", flat=True)
    )
    doomed = {digest for digest in tokens if wanted.intersection(token_digests(KIND, digest))}
    if len(doomed) < len(wanted):
        others = ((digest, digest) for digest in tokens if digest not in doomed)
        doomed.update(unrecorded(KIND, others))
    _delete(list(doomed))


def sweep_tokens(users: Any) -> None:
    """The sweeper: delete the unexpired tokens of ``users`` (None: everyone's)
    that no active row records (made before the install and unused since, say)."""
    tokens = get_token_model().objects.order_by().exclude(expiry__lte=timezone.now())
    if users is not None:
        tokens = tokens.filter(user_id__in=users)
    _delete(unrecorded(KIND, tokens.values_list("digest", "digest").iterator()))


def _delete(digests: list[Any]) -> None:
    """Delete the ``AuthToken``s of ``digests``: their rows are the revoke's to mark."""
    flag = _clearing.set(True)
    try:
        for some in batched(digests, DIGESTS_AT_ONCE):
            get_token_model().objects.filter(digest__in=some).delete()
    finally:
        _clearing.reset(flag)


def existing_tokens() -> Iterator[tuple[Any, str, datetime | None]]:
    """Every unexpired ``AuthToken``: (user pk, digest, expiry), for
    ``sessionmgr_adopt_tokens``."""
    tokens = get_token_model().objects.order_by().exclude(expiry__lte=timezone.now())
    yield from tokens.values_list("user_id", "digest", "expiry").iterator()


def connect() -> None:
    model = get_token_model()
    post_save.connect(token_saved, sender=model, dispatch_uid="django_sessionmgr.knox.saved")
    post_delete.connect(token_deleted, sender=model, dispatch_uid="django_sessionmgr.knox.deleted")
    user_logged_in.connect(token_logged_in, dispatch_uid="django_sessionmgr.knox.logged_in")
    token_clearers.register(KIND, delete_tokens, sweep_tokens)
