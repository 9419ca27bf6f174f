"""The view an impersonation package would have: the documented hook
(``django_sessionmgr.impersonation.start_impersonation``) after a login as
the target user, for the staff member making the request."""

from __future__ import annotations

from django.contrib.auth import get_user_model, login
from django.http import HttpRequest, HttpResponse

from django_sessionmgr.impersonation import start_impersonation

BACKEND = "django.contrib.auth.backends.ModelBackend"


def impersonate(request: HttpRequest, pk: int) -> HttpResponse:
    staff = request.user
    if not staff.is_staff:  # what any such package checks first
        return HttpResponse(status=403)
    target = get_user_model()._default_manager.get(pk=pk)
    login(request, target, backend=BACKEND)
    start_impersonation(request, staff)  # type: ignore[arg-type]
    return HttpResponse("ok")
