"""Tiny views the tests drive through real HTTP."""

from asgiref.sync import sync_to_async
from django.contrib import auth
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt


def whoami(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"user": request.user.get_username() or None})


async def async_whoami(request: HttpRequest) -> JsonResponse:
    username = await sync_to_async(lambda: request.user.get_username())()
    return JsonResponse({"user": username or None})


@csrf_exempt
async def async_login(request: HttpRequest) -> JsonResponse:
    # alogin/aauthenticate arrived in Django 5.0; the tests skip this view on 4.2.
    user = await auth.aauthenticate(  # type: ignore[attr-defined]
        request, username=request.POST["username"], password=request.POST["password"]
    )
    if user is None:
        return JsonResponse({"user": None}, status=400)
    await auth.alogin(request, user)  # type: ignore[attr-defined]
    return JsonResponse({"user": user.get_username()})


def rotate(request: HttpRequest) -> JsonResponse:
    request.session.cycle_key()
    return JsonResponse({"user": request.user.get_username() or None})


def set_expiry(request: HttpRequest) -> JsonResponse:
    request.session.set_expiry(int(request.GET.get("seconds", "3600")))
    return JsonResponse({"user": request.user.get_username() or None})
