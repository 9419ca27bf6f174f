"""DRF endpoints: mount with ``path("api/", include("django_sessionmgr.api.urls"))``."""

from rest_framework.routers import SimpleRouter

from .staff import StaffUserSessionViewSet
from .views import UserSessionViewSet

app_name = "sessionmgr_api"

router = SimpleRouter()
router.register("sessions", UserSessionViewSet, basename="session")
router.register("admin/sessions", StaffUserSessionViewSet, basename="admin-session")

urlpatterns = router.urls
