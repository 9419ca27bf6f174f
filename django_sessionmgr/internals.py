"""Every private detail of Django the app relies on, in one place.

Each function here leans on something Django does not promise: an
attribute's name, what a method does inside, who calls what. Each has a
test in ``tests/sessions/test_django_internals.py`` that fails, naming the detail, when the
installed Django no longer behaves so. Imports nothing from the package.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib.sessions.backends.base import SessionBase
from django.db import connections, transaction
from django.db.models.signals import post_save, pre_save
from django.utils.functional import SimpleLazyObject, empty

if TYPE_CHECKING:
    from collections.abc import Sequence

    from django.db import models
    from django.db.models import QuerySet
    from django.http import HttpRequest

#: Where ``SessionBase.set_expiry`` keeps a custom expiry in the session data
#: (seconds, or a datetime serialised as a string; absent for the cookie age).
EXPIRY_KEY = "_session_expiry"


# The lazy user of ``AuthenticationMiddleware``.


def wrap_lazy_loader(
    user: object, wrap: Callable[[Callable[[], Any]], Callable[[], Any]]
) -> Callable[[], Any] | None:
    """When ``user`` is a ``SimpleLazyObject`` not evaluated yet, make it load
    through ``wrap(load)`` and return its own ``load``; else None.

    ``SimpleLazyObject`` keeps the function in ``__dict__["_setupfunc"]`` and
    ``empty`` in ``_wrapped`` until it is evaluated. Read past ``LazyObject``'s
    own attribute lookup, which would evaluate it.
    """
    if type(user) is not SimpleLazyObject:
        return None
    attributes = object.__getattribute__(user, "__dict__")
    if attributes.get("_wrapped", None) is not empty:
        return None
    load: Callable[[], Any] = attributes["_setupfunc"]
    attributes["_setupfunc"] = wrap(load)
    return load


def unwrap_lazy(user: Any) -> Any:
    """The object behind a ``LazyObject`` (``_wrapped``), once it is evaluated;
    anything else as it is."""
    return getattr(user, "_wrapped", user)


def auser_has_loaded(request: HttpRequest) -> bool:
    """Whether ``request.auser()`` of ``AuthenticationMiddleware`` already loaded
    the user (it caches it in ``request._acached_user``)."""
    return hasattr(request, "_acached_user")


# Sessions.


def session_data_loaded(session: SessionBase) -> bool:
    """Whether the session's data was loaded (``SessionBase._session_cache``),
    so reading it costs no I/O."""
    return hasattr(session, "_session_cache")


def replace_session_method(session: SessionBase, name: str, method: Callable[..., Any]) -> None:
    """Put ``method`` in place of the session's own ``name`` (``flush``,
    ``aflush``, ``save``, ``asave``) for this session only.

    Django calls these on the instance (``login()``, ``logout()``,
    ``SessionMiddleware``), so an attribute of the instance wins.
    """
    setattr(session, name, method)


def uses_stock_expiry(session: SessionBase) -> bool:
    """Whether the engine keeps Django's own ``get_expiry_date`` and
    ``get_session_cookie_age``: then a session's end is its last write plus the
    seconds under ``EXPIRY_KEY``, else ``SESSION_COOKIE_AGE``, and the app
    works it out in whole seconds without the datetimes."""
    return type(session).get_expiry_date is SessionBase.get_expiry_date


def uses_stock_cookie_age(session: SessionBase) -> bool:
    """Whether the engine keeps Django's own ``get_session_cookie_age``
    (``SESSION_COOKIE_AGE``)."""
    return type(session).get_session_cookie_age is SessionBase.get_session_cookie_age


# Querysets and model instances.


def query_hints(queryset: QuerySet[Any]) -> dict[str, Any]:
    """The hints a queryset carries (``QuerySet._hints``), which follow it
    through ``all()``, ``filter()`` and ``exclude()``."""
    return dict(getattr(queryset, "_hints", {}))


def with_hints(queryset: QuerySet[Any], **hints: Any) -> QuerySet[Any]:
    """A copy of ``queryset`` carrying ``hints`` too."""
    clone = queryset.all()
    clone._hints = {**queryset._hints, **hints}  # type: ignore[attr-defined]
    return clone


def insert_prepared(
    instance: models.Model, alias: str, sql: str, fields: Sequence[models.Field[Any, Any]]
) -> None:
    """What ``instance.save(force_insert=True, using=alias)`` does, through an
    INSERT of ``fields`` built once (``sql``), not compiled by the ORM.

    As ``Model.save``: ``pre_save`` and ``post_save`` are sent with the same
    arguments, each field prepares its value (``pre_save``, then
    ``get_db_prep_save``), a failure marks the transaction for rollback, and
    the instance ends up saved in ``alias`` (``_state``).
    """
    model = type(instance)
    connection = connections[alias]
    pre_save.send(sender=model, instance=instance, raw=False, using=alias, update_fields=None)
    params = [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
    ]
    with transaction.mark_for_rollback_on_error(using=alias), connection.cursor() as cursor:
        cursor.execute(sql, params)
    instance._state.adding, instance._state.db = False, alias
    post_save.send(
        sender=model, instance=instance, created=True, update_fields=None, raw=False, using=alias
    )


# Users.


def password_changed_in_save(user: object) -> bool:
    """Whether a user being saved got a new password (``set_password``):
    ``AbstractBaseUser`` keeps the raw one in ``_password`` until after
    ``post_save``."""
    return getattr(user, "_password", None) is not None
