"""Django admin for the app (split into modules in the next commit)."""

from .sessions import UserSessionAdmin, UserSessionInline, UserSessionsAdminMixin

__all__ = ["UserSessionAdmin", "UserSessionInline", "UserSessionsAdminMixin"]
