"""Django admin: staff find any user's sessions and revoke them.

Rows are read-only: the app writes them, and the admin only revokes. There is
no delete either: deleting a row would erase its audit trail and leave its
session signed in until the middleware next checks the row, while a revoke
ends the session at once and keeps the record.

``UserSessionsAdminMixin`` puts a user's most recent sessions (a read-only
table, no formset) and a "Revoke all sessions of selected users" action on a
project's own ``UserAdmin``. With ``SESSIONMGR["USER_ADMIN_INTEGRATION"]``
(default on), a project that uses the stock ``django.contrib.auth.admin.UserAdmin``
gets both without a line of code.

Every revoke goes through a confirmation page and spares the staff member's
own session. No query parameter can name the session key (see
``lookups.NoSessionKeyLookupsMixin``).

Importing this package registers the admin (Django's autodiscover imports it):
``sessions`` registers ``UserSessionAdmin``, and the stock ``UserAdmin`` gets
the sessions mixin below. The modules: ``lookups`` (what no query parameter may
reach), ``cells`` (how a session is drawn), ``revoking`` (the confirmation and
the revoke), ``sessions`` (the sessions admin), ``users`` (the User admin's part).
"""

from django.contrib import admin

from .sessions import UserSessionAdmin
from .users import UserSessionInline, UserSessionsAdminMixin, integrate_user_admin

__all__ = ["UserSessionAdmin", "UserSessionInline", "UserSessionsAdminMixin"]

integrate_user_admin(admin.site)
