from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class SessionMgrConfig(AppConfig):
    name = "django_sessionmgr"
    # With a context: django.contrib.sessions' catalogs also translate
    # "Sessions" (German: "Sessions"), and the first app's catalog would win.
    verbose_name = pgettext_lazy("admin section", "Sessions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from . import receivers
        from .checks import (
            check_database_routing,
            check_headless,
            check_jwt,
            check_middleware,
            check_session_cache,
            check_session_reads,
            check_settings,
        )

        receivers.connect()
        checks.register(check_middleware)
        checks.register(check_settings)
        checks.register(check_session_cache)
        checks.register(check_database_routing)
        checks.register(check_session_reads)
        checks.register(check_jwt)
        checks.register(check_headless)
