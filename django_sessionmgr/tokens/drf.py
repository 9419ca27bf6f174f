"""DRF's ``rest_framework.authtoken``: one key per user, one row per key.

- ``SessionmgrTokenAuthentication``: DRF's ``TokenAuthentication`` that also
  records the token's activity, and refuses a token whose row is over with
  DRF's own answer to an unknown token.
- ``obtain_auth_token``: DRF's view, recording the new token's row with the
  device of the request that obtained it.
- A ``Token`` saved anywhere else (the admin, ``drf_create_token``, a
  script) gets a row with an unknown device; a deleted ``Token`` (its key
  regenerated, say) ends its row.
- A revoke deletes the rows' ``Token``s. Obtaining one again makes a new key,
  and a new row.

Connected by ``receivers.connect`` when ``rest_framework.authtoken`` is installed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models.signals import post_delete, post_save
from django.views.decorators.debug import sensitive_variables
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token, TokenProxy

from .. import token_clearers
from ..batches import batched
from ..models import UserSession
from ..safety import contained
from .core import TokenRefused, end_token_session, start_token_session, token_used
from .lookup import DIGESTS_AT_ONCE, token_digests, token_rows, unrecorded

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import QuerySet
    from rest_framework.request import Request

KIND = UserSession.Kind.DRF_TOKEN
#: A key no ``Token`` has (DRF makes 40 hex digits).
NO_KEY = ""

#: Set while ``obtain_auth_token`` makes a token: it records the row itself.
obtaining: ContextVar[bool] = ContextVar("sessionmgr_drf_obtaining", default=False)
#: Set while a revoke deletes tokens: their rows are the revoke's to mark.
_clearing: ContextVar[bool] = ContextVar("sessionmgr_drf_clearing", default=False)


class SessionmgrTokenAuthentication(TokenAuthentication):
    """``TokenAuthentication`` that keeps the token's row: its activity, and
    the request's current session (the token's row)."""

    # A ``Token`` shows its key (``str``): not in the frame's variables of an
    # error report.
    @sensitive_variables("authenticated", "token")
    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, Any] | None:
        authenticated = super().authenticate(request)
        if authenticated is None:
            return None
        user, token = authenticated
        try:
            token_used(request, KIND, token.key, user=user)
        except TokenRefused:
            # DRF's own answer to an unknown key (asked for one no token has):
            # a revoked key gets exactly the same.
            self.authenticate_credentials(NO_KEY)
            raise  # not reached: DRF refuses NO_KEY
        return authenticated


def __getattr__(name: str) -> Any:
    """``ObtainAuthToken`` and ``obtain_auth_token``, from ``drf_views``:
    imported on first use, since DRF's views read the authentication classes
    at import time, and a project names ``SessionmgrTokenAuthentication``
    among them (a cycle at load time)."""
    if name in ("ObtainAuthToken", "obtain_auth_token"):
        from . import drf_views

        return getattr(drf_views, name)
    raise AttributeError(name)


@sensitive_variables("instance")
def token_saved(
    sender: Any, instance: Token, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """A token's row, the moment it is made outside ``obtain_auth_token``
    (the admin, ``drf_create_token``, a script): its device is unknown.

    A key given to another user (DRF's admin edits a token's user) signs in
    as that user from then on: the first user's row ends, and the key gets a
    row of the new owner's, so their list and revokes reach it."""
    if raw or obtaining.get():
        return
    if created or owned_by_another(instance):
        if not created:
            end_token_session(KIND, instance.key)
        start_token_session(None, instance.user, KIND, instance.key)


@sensitive_variables("instance")
def owned_by_another(instance: Token) -> bool:
    """Whether the key's active row is another user's than the token's."""
    rows = token_rows(KIND, token_digests(KIND, instance.key)).exclude(user_id=instance.user_id)
    statuses = rows.values_list("status", flat=True)
    others: list[str] = contained(
        lambda: list(statuses), default=[], what="read a token's owner", writes=False
    )
    return UserSession.Status.ACTIVE in others


@sensitive_variables("instance")
def token_deleted(sender: Any, instance: Token, **kwargs: Any) -> None:
    if not _clearing.get():
        end_token_session(KIND, instance.key)


@sensitive_variables("tokens")
def delete_tokens(rows: QuerySet[UserSession]) -> None:
    """The clearer: delete the ``Token`` of each row (one key per user: the
    rows' users' tokens, matched by digest).

    A user's key that no row's digest matches at all is deleted too: its row
    was written under a ``SECRET_KEY`` no longer in ``SECRET_KEY_FALLBACKS``
    (or it has none yet), and it is the only key the user has, so it is the
    one the user signed out. Left alone, it would go on working, and come
    back as a new row at its next request."""
    wanted = set(rows.order_by().values_list("token_digest", flat=True))
    users = rows.order_by().values("user_id")
    keys = list(Token.objects.filter(user_id__in=users).values_list("pk", "key"))
    doomed = {pk for pk, key in keys if wanted.intersection(token_digests(KIND, key))}
    others = ((pk, key) for pk, key in keys if pk not in doomed)
    _delete([*doomed, *unrecorded(KIND, others, any_status=True)])


def sweep_tokens(users: Any) -> None:
    """The sweeper: delete the keys of ``users`` (None: everyone's) that no
    active row records (made before the install and unused since, say)."""
    keys = Token.objects.order_by()
    if users is not None:
        keys = keys.filter(user_id__in=users)
    _delete(unrecorded(KIND, keys.values_list("pk", "key").iterator()))


@sensitive_variables("doomed")
def _delete(doomed: Iterable[Any]) -> None:
    """Delete the ``Token``s of the keys ``doomed``: their rows are the revoke's to mark."""
    flag = _clearing.set(True)
    try:
        for some in batched(doomed, DIGESTS_AT_ONCE):
            Token.objects.filter(pk__in=some).delete()
    finally:
        _clearing.reset(flag)


def existing_tokens() -> Iterator[tuple[Any, str, datetime | None]]:
    """Every ``Token``: (user pk, key, no expiry), for ``sessionmgr_adopt_tokens``."""
    for user_pk, key in Token.objects.order_by().values_list("user_id", "key").iterator():
        yield user_pk, key, None


def connect() -> None:
    for model in (Token, TokenProxy):
        post_save.connect(
            token_saved, sender=model, dispatch_uid=f"django_sessionmgr.drf.saved.{model.__name__}"
        )
        post_delete.connect(
            token_deleted,
            sender=model,
            dispatch_uid=f"django_sessionmgr.drf.deleted.{model.__name__}",
        )
    token_clearers.register(KIND, delete_tokens, sweep_tokens)
