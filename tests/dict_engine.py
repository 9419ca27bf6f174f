"""A session engine of a third party's kind: none of Django's stores, so a
revoke reaches it through ``SessionStore.delete``, one key at a time."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError

STORE: dict[str, dict[str, Any]] = {}


class SessionStore(SessionBase):
    def exists(self, session_key: str) -> bool:
        return session_key in STORE

    def create(self) -> None:
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        if must_create and self.session_key in STORE:
            raise CreateError
        if not must_create and self.session_key not in STORE:
            raise UpdateError
        STORE[self.session_key] = dict(self._get_session(no_load=must_create))

    def delete(self, session_key: str | None = None) -> None:
        STORE.pop(session_key or self.session_key or "", None)

    def load(self) -> dict[str, Any]:
        data = STORE.get(self.session_key or "")
        if data is None:
            self._session_key = None
            return {}
        return dict(data)
