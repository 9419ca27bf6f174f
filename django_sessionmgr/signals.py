"""Signals sent by django-sessionmgr.

``session_started(sender=UserSession, session, request)``
    A login created a new session row. ``session`` is the ``UserSession``;
    ``request`` is the login request.

``session_client_changed(sender=UserSession, session, request,``
``previous_ip_address, previous_user_agent)``
    A session was seen from another address or browser than before, at its
    activity write. ``session`` is the ``UserSession`` as now written. A new
    user agent inside one session is a classic sign of a stolen cookie: the
    app also logs it at WARNING (without the key).

``session_revoked(sender=UserSession, sessions, count, revoked_by, reason)``
    Sent once per revoke call (not once per row). ``sessions`` is a lazy
    queryset of exactly the rows this call revoked, ``count`` how many,
    ``revoked_by`` the user who revoked them (``None`` for the system) and
    ``reason`` the reason given.

``new_device_signed_in(sender=UserSession, session, request)``
    A login created a session from a browser that never signed into this
    account before (a user's very first sign-in excepted). ``session`` is the
    new ``UserSession``; ``request`` is the login request. With
    ``NOTIFY_NEW_DEVICE`` the app's own receiver emails the user.

``session_anomaly(sender=UserSession, kind, session, request)``
    Something looks like a stolen session, found once per session and finding:
    ``kind`` is ``"impossible_travel"`` (the session was used from two places
    too far apart for the time between them; sent at the activity write that
    saw the second place) or ``"new_country"`` (a login from a country none of
    the user's recent sessions came from). ``session`` is the flagged
    ``UserSession`` (``flagged_at``, ``flag_reason`` set); ``request`` is the
    request that showed it.
"""

from django.dispatch import Signal

session_started = Signal()
session_revoked = Signal()
session_client_changed = Signal()
new_device_signed_in = Signal()
session_anomaly = Signal()
