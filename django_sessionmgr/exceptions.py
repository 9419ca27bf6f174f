"""Errors the app raises for its callers to handle."""

from __future__ import annotations


class RevokeFailed(Exception):
    """The session store could not be cleared, so the sessions were not revoked.

    Their rows are left active, so a retry reaches exactly the same sessions.
    """
