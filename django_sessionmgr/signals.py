"""Signals sent by django-sessionmgr.

``session_started(sender=UserSession, session, request)``
    A login created a new session row. ``session`` is the ``UserSession``;
    ``request`` is the login request.

``session_revoked(sender=UserSession, sessions, count, revoked_by, reason)``
    Sent once per revoke call (not once per row). ``sessions`` is a lazy
    queryset of exactly the rows this call revoked, ``count`` how many,
    ``revoked_by`` the user who revoked them (``None`` for the system) and
    ``reason`` the reason given.
"""

from django.dispatch import Signal

session_started = Signal()
session_revoked = Signal()
