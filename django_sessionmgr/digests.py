"""Keyed digests of a session's key and client, and the key kept on its row.

Each digest is keyed with ``SECRET_KEY``: it finds a row or notices a change,
and says nothing without the secret. How the key itself is protected on the
row is ``keys``'s job.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.utils.crypto import salted_hmac
from django.views.decorators.debug import sensitive_variables

from .keys import seal
from .network import get_client_ip
from .stores import is_server_side

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase
    from django.http import HttpRequest


@sensitive_variables()
def stored_key(session: SessionBase) -> str:
    """The key to keep on the row, protected as the engine needs (see ``keys``)."""
    if not is_server_side(session) or not session.session_key:
        return ""
    return seal(session.session_key)


@sensitive_variables()
def key_digest(session_key: str) -> str:
    """A keyed digest of a session key: finds the row of a dead cookie, and
    is useless without ``SECRET_KEY``."""
    return salted_hmac("django_sessionmgr.key", session_key, algorithm="sha256").hexdigest()


def stored_key_digest(session: SessionBase) -> str:
    """The digest of the session's key to keep on the row ("" when the engine
    keeps no key server-side)."""
    if not is_server_side(session) or not session.session_key:
        return ""
    return key_digest(session.session_key)


def client_digest(request: HttpRequest) -> str:
    """A short digest of the request's address and user agent."""
    meta = getattr(request, "META", None) or {}
    seen = f"{get_client_ip(request)}|{meta.get('HTTP_USER_AGENT', '')}"
    seen = seen.encode("utf-8", "replace").decode()  # hostile headers carry surrogates
    return salted_hmac("django_sessionmgr.client", seen).hexdigest()[:12]


@sensitive_variables()
def adopted_row_id(session_key: str) -> str:
    """A stable row id for a session that predates its row.

    Derived from the key with the project's secret, so every replay of one
    pre-install signed cookie maps to the same row, and the id reveals nothing.
    """
    digest = salted_hmac("django_sessionmgr.adopt", session_key, algorithm="sha256").digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))
