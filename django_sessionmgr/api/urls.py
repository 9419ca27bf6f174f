"""DRF endpoints: mount with ``path("api/", include("django_sessionmgr.api.urls"))``.

The patterns, and with them DRF's views and serializers (about 20 MiB), load
when Django first resolves a URL under this include or reverses one of its
names: a worker that serves no API request never loads them.
"""

from collections.abc import Sequence
from functools import cached_property
from typing import Any

app_name = "sessionmgr_api"


class _RouterURLs(Sequence[Any]):
    """The router's URL patterns, built on first use."""

    @cached_property
    def _patterns(self) -> list[Any]:
        # Deferred: DRF's views and serializers (see the module docstring).
        from rest_framework.routers import SimpleRouter

        from .staff import StaffUserSessionViewSet
        from .views import UserSessionViewSet

        router = SimpleRouter()
        router.register("sessions", UserSessionViewSet, basename="session")
        router.register("admin/sessions", StaffUserSessionViewSet, basename="admin-session")
        return router.urls

    def __getitem__(self, index: Any) -> Any:
        return self._patterns[index]

    def __len__(self) -> int:
        return len(self._patterns)


urlpatterns = _RouterURLs()
