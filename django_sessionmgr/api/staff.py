"""Staff endpoints (placeholder until the staff issue lands)."""

from rest_framework import viewsets


class StaffUserSessionViewSet(viewsets.ViewSet):
    pass
