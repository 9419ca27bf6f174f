"""The APIs' pages (``api/pagination.py``): the staff list's keyset cursor
and the self-service list's limit/offset, side by side."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from django_sessionmgr.api import pagination
from django_sessionmgr.api.staff import StaffUserSessionViewSet
from django_sessionmgr.api.views import UserSessionViewSet
from django_sessionmgr.models import UserSession
from tests.helpers import logged_in_client, make_rows, make_staff

pytestmark = pytest.mark.django_db

STAFF = "/api/admin/sessions/"


@pytest.fixture
def viewer(django_user_model: Any) -> Client:
    return logged_in_client(make_staff(django_user_model, "vera", "view_usersession"))


def test_each_list_pages_with_the_paginator_of_the_pagination_module() -> None:
    assert StaffUserSessionViewSet.pagination_class is pagination.CreatedCursorPagination
    assert UserSessionViewSet.pagination_class is pagination.UserSessionPagination


def test_the_cursor_walks_every_row_once_each_way_though_many_share_an_instant(
    user: Any, viewer: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of three over twelve rows, seven of them created in the same
    instant: forward, newest first, then back by the ``previous`` links."""
    monkeypatch.setattr(pagination.CreatedCursorPagination, "page_size", 3)
    same = timezone.now() - timedelta(hours=1)
    UserSession.objects.bulk_create(
        UserSession(user=user, created_at=same, expires_at=same + timedelta(days=1))
        for _ in range(7)
    )
    make_rows(user, 4)
    rows = UserSession.objects.order_by("-created_at", "-id")
    newest_first = [str(pk) for pk in rows.values_list("pk", flat=True)]

    pages: list[list[str]] = []
    url: str | None = STAFF
    while url:
        body = viewer.get(url).json()
        pages.append([row["id"] for row in body["results"]])
        url, previous = body["next"], body["previous"]
    assert [row for page in pages for row in page] == newest_first
    assert [len(page) for page in pages] == [3, 3, 3, 3]  # and the viewer's own row

    back: list[list[str]] = [pages[-1]]
    while previous:
        body = viewer.get(previous).json()
        back.append([row["id"] for row in body["results"]])
        previous = body["previous"]
    assert back[::-1] == pages


def test_page_links_carry_only_the_parameters_the_list_reads(
    user: Any, viewer: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pagination.CreatedCursorPagination, "page_size", 1)
    make_rows(user, 2)
    body = viewer.get(STAFF, {"status": "active", "user": str(user.pk), "junk": "1"}).json()

    assert body["next"] is not None
    assert "junk" not in body["next"]
    assert "status=active" in body["next"] and f"user={user.pk}" in body["next"]
