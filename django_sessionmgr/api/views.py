"""Self-service endpoints (placeholder until the self-service issue lands)."""

from rest_framework import viewsets


class UserSessionViewSet(viewsets.ViewSet):
    pass
