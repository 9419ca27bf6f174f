"""The queries on ``UserSession`` rows: each status defined once, whose
sessions a user or staff member reaches, and the revoke of a query's rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models, router
from django.db.models import BooleanField, Case, Q, When
from django.utils import timezone

from .conf import app_settings
from .internals import with_hints
from .revocation import ACTORS_HINT, SPARE_HINT, revoke_sessions

if TYPE_CHECKING:
    from datetime import datetime

    from django.contrib.auth.models import AbstractBaseUser

    from .models import UserSession


class UserSessionQuerySet(models.QuerySet["UserSession"]):
    model: type[UserSession]

    def of_owner(self, user: AbstractBaseUser) -> UserSessionQuerySet:
        """The sessions ``user`` sees as their own: all of them, unless the
        project hides those staff started while impersonating them."""
        mine = self.filter(user_id=user.pk)
        if not app_settings.SHOW_IMPERSONATED_SESSIONS:
            mine = mine.filter(impersonated_by__isnull=True)
        return mine

    def signed_in_as_or_by(self, users: Any) -> UserSessionQuerySet:
        """Every session of ``users`` (instances, primary keys or a query of
        them), and every active session in which one of them is the real
        actor: impersonating someone else (``impersonated_by``).

        "All sessions of user U" means this on every path (self-service,
        staff API, admin, commands, password change), so that a staff member's
        "sign out everywhere" also reaches the browser they impersonate from.
        A revoke of it also reaches an impersonation started while it runs
        (see ``with_impersonations_by``).
        """
        everywhere = self.filter(user__in=users) | self.impersonations_by(users)
        return everywhere.with_impersonations_by(users)

    def with_impersonations_by(self, users: Any) -> UserSessionQuerySet:
        """These rows, and for a revoke of them, every session in which one of
        ``users`` is the real actor as the revoke claims them.

        The revoke claims these rows first, then the impersonations: one
        started later comes from a session of theirs already claimed, and
        ends itself (``impersonation.start_impersonation``); one started
        before is claimed. Kept in the query's hints, which follow it through
        ``filter`` and ``exclude``.
        """
        return with_hints(self, **{ACTORS_HINT: users})  # type: ignore[return-value]

    def sparing(self, row_id: str | None) -> UserSessionQuerySet:
        """These rows but ``row_id`` (the session making the request), which
        the revoke of the impersonations spares too."""
        if row_id is None:
            return self
        return with_hints(self.exclude(pk=row_id), **{SPARE_HINT: row_id})  # type: ignore[return-value]

    def impersonations_by(self, users: Any) -> UserSessionQuerySet:
        """The active sessions in which one of ``users`` is the real actor
        while signed in as someone else (django-hijack, ``start_impersonation``).

        Read now, through the ``impersonated_by`` index, and named by id: OR'ed
        with the user's own sessions, a condition on a second column would let
        a planner without statistics (SQLite as Django leaves it) read every
        active row instead of the user's. Usually there are none, and the
        query is then exactly the user's own.
        """
        acting = self.model._default_manager.filter(
            impersonated_by__in=users, status=self.model.Status.ACTIVE
        )
        return self.filter(pk__in=list(acting.order_by().values_list("pk", flat=True)))

    # "Expired" has one definition: a row marked expired, or an active row
    # whose expiry has passed (nothing marks it; sessionmgr_expire only tidies).
    # The filters below and UserSession.effective_status all follow it.

    def _live(self) -> Q:
        return Q(status=self.model.Status.ACTIVE, expires_at__gt=timezone.now())

    def _lapsed(self) -> Q:
        return Q(status=self.model.Status.ACTIVE, expires_at__lte=timezone.now())

    def from_primary(self) -> UserSessionQuerySet:
        """Read these rows where they are written (``router.db_for_write``),
        never from a replica that may lag behind a revoke: for every read that
        decides whether a session may still be served."""
        return self.using(router.db_for_write(self.model))

    def active(self) -> UserSessionQuerySet:
        """Rows whose session is usable now: not ended, revoked, or past expiry."""
        return self.filter(self._live())

    def finished(self) -> UserSessionQuerySet:
        """Rows whose session is over, however it ended: all but ``active()``."""
        return self.exclude(self._live())

    def lapsed(self) -> UserSessionQuerySet:
        """Rows still marked active whose expiry has passed."""
        return self.filter(self._lapsed())

    def expired(self) -> UserSessionQuerySet:
        """Rows marked expired, and active rows whose expiry has passed."""
        return self.filter(Q(status=self.model.Status.EXPIRED) | self._lapsed())

    def expired_in_list_order(self) -> UserSessionQuerySet:
        """``expired()`` as one CASE, for a list that walks its order index
        and stops at a page (the admin's changelist): the same rows.

        As an OR of two conditions on ``status``, a planner without
        statistics (SQLite as Django leaves it) reads both statuses through
        the status index and sorts them all for one page. No index serves a
        CASE, so the list walks its own order index
        (``sessionmgr_created_status``, which holds both columns the CASE
        tests) and stops at the page.
        """
        status = self.model.Status
        return self.filter(
            Case(
                When(status=status.ACTIVE, then=Q(expires_at__lte=timezone.now())),
                default=Q(status=status.EXPIRED),
                output_field=BooleanField(),
            )
        )

    def finished_before(self, cutoff: datetime) -> UserSessionQuerySet:
        """Rows whose session ended before ``cutoff``, dated by how it ended
        (a lapsed row by its expiry)."""
        status = self.model.Status
        return self.filter(
            Q(status=status.ENDED, ended_at__lt=cutoff)
            | Q(status=status.REVOKED, revoked_at__lt=cutoff)
            | Q(status__in=[status.EXPIRED, status.ACTIVE], expires_at__lt=cutoff)
        )

    def with_status(self, status: str) -> UserSessionQuerySet:
        """Filter by the status a user sees (``all`` for no filter)."""
        if status == "all":
            return self.all()
        if status == self.model.Status.ACTIVE:
            return self.active()
        if status == self.model.Status.EXPIRED:
            return self.expired()
        return self.filter(status=status)

    def beyond(
        self, position: tuple[Any, Any], *, later: bool, inclusive: bool = False
    ) -> UserSessionQuerySet:
        """The rows after (``later``) or before ``position``, a ``(created_at,
        pk)`` pair, in that order: the keyset of the staff API's cursor and of
        ``sessionmgr_revoke``'s batches. ``inclusive`` keeps the row at
        ``position``. The plain bound on ``created_at`` bounds the index range;
        the OR settles rows of the same instant by primary key."""
        created_at, pk = position
        side = ("gt" if later else "lt") + ("e" if inclusive else "")
        bound = "created_at__gte" if later else "created_at__lte"
        strictly = "created_at__gt" if later else "created_at__lt"
        return self.filter(**{bound: created_at}).filter(
            Q(**{strictly: created_at}) | Q(**{"created_at": created_at, f"pk__{side}": pk})
        )

    def revoke(self, by: AbstractBaseUser | None = None, reason: str = "") -> int:
        """Revoke every active session here; return how many.

        Works in a fixed number of queries (and cache calls) whatever the count.
        """
        return revoke_sessions(self, by=by, reason=reason)
