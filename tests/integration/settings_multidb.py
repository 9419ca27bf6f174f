"""Two databases and a router: the accounts (users, sessions, this app) live
apart from the project's other data, as a project with a users database has it."""

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

DATABASES = {
    "default": DATABASES["default"],
    "accounts": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
}
DATABASE_ROUTERS = ["tests.integration.settings_multidb.AccountsRouter"]

#: The apps whose tables live in the accounts database.
ACCOUNT_APPS = {
    "admin",
    "auth",
    "authtoken",
    "contenttypes",
    "django_sessionmgr",
    "sessions",
}


class AccountsRouter:
    def _db(self, model: type) -> str:
        return "accounts" if model._meta.app_label in ACCOUNT_APPS else "default"

    def db_for_read(self, model: type, **hints: object) -> str:
        return self._db(model)

    def db_for_write(self, model: type, **hints: object) -> str:
        return self._db(model)

    def allow_relation(self, obj1: object, obj2: object, **hints: object) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: object) -> bool:
        return (db == "accounts") == (app_label in ACCOUNT_APPS)
