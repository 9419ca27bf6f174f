"""The integrated User admin: stock forms keep working, and the sessions table stays bounded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import path
from django.utils import timezone

from django_sessionmgr.admin import UserSessionInline
from django_sessionmgr.admin.lookups import MAX_SEARCH_WORDS
from django_sessionmgr.admin.users import USER_PAGE_SESSIONS
from django_sessionmgr.models import UserSession
from tests.admin.test_admin import CHANGELIST, row_of
from tests.helpers import PASSWORD, logged_in_client
from tests.urls import urlpatterns as project_urlpatterns

pytestmark = pytest.mark.django_db

USERS = "/admin/auth/user/"
ROW_MARK = 'class="sessionmgr-user-session"'


@pytest.fixture
def admin_client_(superuser: Any) -> Client:
    return logged_in_client(superuser)


def add_rows(user: Any, count: int) -> None:
    now = timezone.now()
    UserSession.objects.bulk_create(
        UserSession(
            user=user,
            expires_at=now + timedelta(days=1),
            last_activity_at=now - timedelta(minutes=i),
            ip_address=f"10.0.{i // 250}.{i % 250}",
        )
        for i in range(count)
    )


# Stock POSTs, exactly as a script or package written for the stock UserAdmin sends them


def test_stock_add_user_post_saves(admin_client_, django_user_model):
    response = admin_client_.post(
        f"{USERS}add/",
        {
            "username": "carol",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302, response.content
    carol = django_user_model.objects.get(username="carol")
    assert carol.check_password(PASSWORD)


def test_stock_change_user_post_saves(admin_client_, user):
    logged_in_client(user)
    response = admin_client_.post(
        f"{USERS}{user.pk}/change/",
        {
            "username": "alice2",
            "email": "alice2@example.com",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content
    user.refresh_from_db()
    assert (user.username, user.email) == ("alice2", "alice2@example.com")
    assert UserSession.objects.filter(user=user).count() == 1


def test_stock_change_password_post_saves(admin_client_, user):
    response = admin_client_.post(
        f"{USERS}{user.pk}/password/",
        {"password1": "another horse battery", "password2": "another horse battery"},
    )
    assert response.status_code == 302, response.content
    user.refresh_from_db()
    assert user.check_password("another horse battery")


# A user with thousands of sessions


def test_the_user_page_shows_a_bounded_number_of_rows_in_fixed_queries(admin_client_, user):
    def page() -> tuple[str, int]:
        with CaptureQueriesContext(connection) as captured:
            response = admin_client_.get(f"{USERS}{user.pk}/change/")
        assert response.status_code == 200
        return response.content.decode(), len(captured)

    add_rows(user, 30)
    few_content, few_queries = page()
    add_rows(user, 3000)
    content, queries = page()

    assert few_content.count(ROW_MARK) == content.count(ROW_MARK) == USER_PAGE_SESSIONS
    assert queries == few_queries
    # The most recent come first, and the rest are one link away.
    assert "10.0.0.0" in content
    assert f"{CHANGELIST}?user={user.pk}" in content
    assert len(content) < 200_000


def test_the_link_to_all_sessions_lists_only_that_users(admin_client_, user, other_user):
    add_rows(user, 3)
    add_rows(other_user, 2)
    response = admin_client_.get(CHANGELIST, {"user": user.pk})
    assert response.status_code == 200
    assert {r.user_id for r in response.context["cl"].result_list} == {user.pk}
    assert len(response.context["cl"].result_list) == 3


def test_the_user_page_marks_the_viewers_own_session(superuser, admin_client_, user):
    logged_in_client(superuser)  # another of root's sessions, not this one
    own = row_of(admin_client_)

    content = admin_client_.get(f"{USERS}{superuser.pk}/change/").content.decode()
    assert content.count("this is you") == 1
    row = content[: content.index("this is you")].rsplit(ROW_MARK, 1)[1]
    assert f"{CHANGELIST}{own.pk}/change/" in row

    assert "this is you" not in admin_client_.get(f"{USERS}{user.pk}/change/").content.decode()


def test_a_view_only_staff_member_sees_the_table(django_user_model, user):
    from tests.admin.test_admin import staff_client_with

    viewer = staff_client_with(django_user_model, "view_user", "view_usersession")
    logged_in_client(user, ip="81.2.69.142")
    content = viewer.get(f"{USERS}{user.pk}/change/").content.decode()
    assert "81.2.69.142" in content
    assert content.count(ROW_MARK) == 1


# Search


@pytest.mark.parametrize("url", [CHANGELIST, USERS])
def test_a_search_of_hundreds_of_words_is_capped_with_a_message(admin_client_, user, url):
    logged_in_client(user)
    words = " ".join(["alice"] * 600)
    response = admin_client_.get(url, {"q": words})
    assert response.status_code == 200
    content = response.content.decode()
    assert f"Search uses at most {MAX_SEARCH_WORDS} words; the rest were ignored." in content
    assert len(response.context["cl"].result_list) >= 1  # the first words still search


@pytest.mark.parametrize("url", [CHANGELIST, USERS])
def test_a_short_search_has_no_cap_message(admin_client_, user, url):
    response = admin_client_.get(url, {"q": " ".join(["alice"] * MAX_SEARCH_WORDS)})
    assert response.status_code == 200
    assert "Search uses at most" not in response.content.decode()


# A project that still shows the sessions as an inline (docs/admin.md).
inline_site = django_admin.AdminSite(name="inline_admin")


class UserAdminWithInline(UserAdmin):
    inlines = [UserSessionInline]


inline_site.register(get_user_model(), UserAdminWithInline)
urlpatterns = [path("inline-admin/", inline_site.urls), *project_urlpatterns]


@pytest.mark.urls(__name__)
def test_the_inline_lists_only_active_sessions_and_changes_nothing(superuser, user):
    active, revoked = logged_in_client(user), logged_in_client(user)
    UserSession.objects.filter(pk=row_of(revoked).pk).revoke()
    client = Client()
    client.force_login(superuser)

    page = client.get(f"/inline-admin/auth/user/{user.pk}/change/")

    assert page.status_code == 200
    formset = next(f for f in page.context["inline_admin_formsets"])
    assert [form.original.pk for form in formset] == [row_of(active).pk]
    assert not formset.has_add_permission
    assert not formset.has_change_permission
    assert not formset.has_delete_permission
