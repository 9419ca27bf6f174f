import os

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/home.html")


async def worker(request: HttpRequest) -> JsonResponse:
    """Which process served the request, and for whom (tests/servers/test_workers.py).

    Async, so under ASGI the whole middleware chain runs on its async path.
    Mounted only when ``SESSIONMGR_TEST_PID_VIEW=1``.
    """
    username = await sync_to_async(lambda: request.user.get_username())()
    return JsonResponse({"pid": os.getpid(), "user": username or None})
