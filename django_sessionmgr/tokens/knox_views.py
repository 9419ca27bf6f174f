"""Knox's ``LogoutView`` and ``LogoutAllView`` authenticated by the app's class.

Knox's own logout views name knox's stock ``TokenAuthentication`` rather than
``DEFAULT_AUTHENTICATION_CLASSES``, so they accept a token whose session
``IDLE_TIMEOUT`` or ``ABSOLUTE_TIMEOUT`` has ended: a thief holding such a
token could still sign the owner's other knox sessions out. These refuse it
as every other view does. A module of its own: knox's views read DRF's
authentication classes at import time, and a project names
``SessionmgrKnoxAuthentication`` among them (a cycle at load time).
"""

from __future__ import annotations

from knox import views

from .knox import SessionmgrKnoxAuthentication


class LogoutView(views.LogoutView):
    """Knox's ``logout/``: ends the request's token and its row."""

    authentication_classes = (SessionmgrKnoxAuthentication,)


class LogoutAllView(views.LogoutAllView):
    """Knox's ``logoutall/``: ends every knox token of the user and their rows."""

    authentication_classes = (SessionmgrKnoxAuthentication,)
