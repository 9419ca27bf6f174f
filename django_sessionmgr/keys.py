"""Session keys at rest.

Under the ``cache`` and ``file`` engines our table is the only copy of a
session key outside the store, so a read of the database alone must not hand
out live sessions. Those keys are sealed with AES-GCM under a key derived
from ``SECRET_KEY``; every key in ``SECRET_KEY_FALLBACKS`` still opens them, so
a rotation keeps old rows revocable. Under ``db`` and ``cached_db`` Django's
own session table holds the same keys in clear in the same database; sealing
ours would protect nothing and would cost the bulk revoke its single
``DELETE … IN (subquery)``, so they are kept as they are (docs/security.md).
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.utils.crypto import salted_hmac
from django.views.decorators.debug import sensitive_variables

from .conf import django_settings
from .stores import store_class

#: Marks a sealed key; never part of a session key (letters and digits only).
SEALED_PREFIX = "$1$"
NONCE_SIZE = 12


@lru_cache(maxsize=16)
def _cipher(secret: str) -> AESGCM:
    key = salted_hmac("django_sessionmgr.keys", "", secret=secret, algorithm="sha256").digest()
    return AESGCM(key)


def _ciphers() -> list[AESGCM]:
    secrets = [django_settings.SECRET_KEY, *django_settings.SECRET_KEY_FALLBACKS]
    return [_cipher(secret) for secret in secrets]


def needs_sealing() -> bool:
    """Whether the engine in force keeps its keys only in our table."""
    return not issubclass(store_class(), DBStore)


@sensitive_variables()
def seal(session_key: str) -> str:
    """What to store on the row for ``session_key`` under the engine in force."""
    if not needs_sealing():
        return session_key
    nonce = os.urandom(NONCE_SIZE)
    sealed = _ciphers()[0].encrypt(nonce, session_key.encode(), None)
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


@sensitive_variables()
def unseal(stored: str) -> str | None:
    """The session key behind a stored value; None if no known secret opens it."""
    if not stored.startswith(SEALED_PREFIX):
        return stored
    try:
        raw = base64.urlsafe_b64decode(stored[len(SEALED_PREFIX) :])
    except ValueError:
        return None
    if len(raw) <= NONCE_SIZE:
        return None
    nonce, sealed = raw[:NONCE_SIZE], raw[NONCE_SIZE:]
    for cipher in _ciphers():
        try:
            return cipher.decrypt(nonce, sealed, None).decode()
        except InvalidTag:
            continue
    return None
