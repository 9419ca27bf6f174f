"""Who may use the staff endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from ..models import REVOKE_PERMISSION, VIEW_PERMISSION


class StaffSessionPermission(BasePermission):
    """Staff users with the model permissions: ``view_usersession`` to read,
    ``revoke_usersession`` to revoke.

    Like ``DjangoModelPermissions``, with the app's own revoke permission in
    place of ``delete``, and limited to staff as the contract says.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        user: Any = request.user
        if not (user and user.is_authenticated and user.is_staff):
            return False
        needed = VIEW_PERMISSION if request.method in SAFE_METHODS else REVOKE_PERMISSION
        return bool(user.has_perm(needed))
