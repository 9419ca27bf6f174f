"""The Django admin: read-only sessions, revoke actions, and the User page integration."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_sessionmgr.admin import UserSessionInline, UserSessionsAdminMixin
from django_sessionmgr.admin.users import integrate_user_admin
from django_sessionmgr.models import UserSession
from django_sessionmgr.signals import session_revoked
from tests.helpers import logged_in_client, make_rows, make_staff, row_of, whoami

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/django_sessionmgr/usersession/"


@pytest.fixture
def admin_user_client(superuser: Any) -> Client:
    return logged_in_client(superuser)


def staff_client_with(django_user_model: Any, *codenames: str) -> Client:
    return logged_in_client(make_staff(django_user_model, "erin", *codenames))


def run_action(
    client: Client, action: str, rows: list[Any], url: str = CHANGELIST, confirm: bool = True
) -> Any:
    """Run an admin action; with ``confirm``, answer its confirmation page with ``post=yes``."""
    data: dict[str, Any] = {"action": action, "_selected_action": [str(r.pk) for r in rows]}
    if confirm:
        data["post"] = "yes"
    else:
        data["index"] = 0
    return client.post(url, data, follow=True)


# The changelist and the change page


def test_changelist_shows_sessions_and_never_keys(user, admin_user_client):
    victim = logged_in_client(user, ip="81.2.69.142")
    row = row_of(victim)
    key = victim.session.session_key
    assert key and row.session_key == key

    response = admin_user_client.get(CHANGELIST)

    assert response.status_code == 200
    content = response.content.decode()
    assert "alice" in content
    assert "Firefox 128 on Ubuntu" in content
    assert "81.2.69.142" in content
    assert key not in content
    assert "_auth_user_id" not in content
    assert "_auth_user_hash" not in content
    assert response.context["cl"].show_full_result_count is False


def test_changelist_query_count_does_not_grow_with_rows(django_user_model, admin_user_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_user_client.get(CHANGELIST).status_code == 200
        return len(captured)

    few = queries()
    for i in range(20):
        make_rows(django_user_model.objects.create_user(f"u{i}"), 2, keyed=True)
    assert queries() == few


def test_change_page_shows_the_audit_trail_and_never_the_key(user, superuser, admin_user_client):
    victim = logged_in_client(user)
    row = row_of(victim)
    key = row.session_key
    row.revoke(by=superuser, reason="lost phone")

    response = admin_user_client.get(f"{CHANGELIST}{row.pk}/change/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "lost phone" in content
    assert "root" in content  # revoked_by
    assert "Revoked" in content
    assert "Audit trail" in content
    assert key not in content
    assert "_auth_user_id" not in content
    assert "_auth_user_hash" not in content
    assert 'name="_save"' not in content


def test_rows_cannot_be_added_edited_or_deleted(user, admin_user_client):
    row = make_rows(user, 1, keyed=True)[0]
    assert admin_user_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_user_client.get(f"{CHANGELIST}{row.pk}/delete/").status_code == 403
    response = admin_user_client.post(
        f"{CHANGELIST}{row.pk}/change/", {"revoke_reason": "edited", "status": "ended"}
    )
    assert response.status_code == 403
    row.refresh_from_db()
    assert (row.status, row.revoke_reason) == ("active", "")
    content = admin_user_client.get(CHANGELIST).content.decode()
    assert "delete_selected" not in content


def test_search_by_username_email_and_exact_ip(user, other_user, admin_user_client):
    logged_in_client(user, ip="81.2.69.142")
    logged_in_client(other_user, ip="2001:db8::1")

    def users(term: str) -> set[str]:
        response = admin_user_client.get(CHANGELIST, {"q": term})
        assert response.status_code == 200
        return {r.user.username for r in response.context["cl"].result_list}

    assert users("alice") == {"alice"}
    assert users("bob@example") == {"bob"}
    assert users("81.2.69.142") == {"alice"}
    assert users(" 2001:DB8:0::1 ") == {"bob"}
    assert users('"alice"') == {"alice"}
    assert users("alice example.com") == {"alice"}
    assert users("alice bob") == set()
    assert users("   ") == {"alice", "bob", "root"}
    assert users("81.2.69") == set()
    assert users("1:2:zz") == set()


def test_status_filter_uses_the_effective_status(user, admin_user_client):
    now = timezone.now()
    live = UserSession.objects.create(user=user, expires_at=now + timedelta(hours=1))
    lapsed = UserSession.objects.create(user=user, expires_at=now - timedelta(hours=1))

    def ids(status: str) -> set[Any]:
        response = admin_user_client.get(CHANGELIST, {"status": status})
        return {r.pk for r in response.context["cl"].result_list}

    admin_row = UserSession.objects.exclude(user=user).get().pk
    assert ids("active") == {live.pk, admin_row}
    assert ids("expired") == {lapsed.pk}
    assert ids("revoked") == set()
    content = admin_user_client.get(CHANGELIST, {"status": "expired"}).content.decode()
    assert ">Expired<" in content


def test_no_facet_counts(user, admin_user_client):
    make_rows(user, 2, keyed=True)
    response = admin_user_client.get(CHANGELIST, {"_facets": "True"})
    assert response.status_code == 200
    assert response.context["cl"].add_facets is False
    assert "counts</a>" not in response.content.decode()


def test_date_filters(user, admin_user_client):
    make_rows(user, 2, keyed=True)
    response = admin_user_client.get(
        CHANGELIST, {"created_at__gte": str(timezone.now() - timedelta(days=1))}
    )
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 3


# Actions


def test_revoke_sessions_action(user, superuser, admin_user_client):
    phone, laptop = logged_in_client(user), logged_in_client(user)
    calls: list[dict[str, Any]] = []
    session_revoked.connect(lambda sender, **kw: calls.append(kw), weak=False, dispatch_uid="t1")
    try:
        response = run_action(admin_user_client, "revoke_sessions", [row_of(phone)])
    finally:
        session_revoked.disconnect(dispatch_uid="t1")

    assert "Revoked 1 session." in response.content.decode()
    assert whoami(phone) is None
    assert whoami(laptop) == "alice"
    row = UserSession.objects.get(status="revoked")
    assert (row.revoked_by, row.revoke_reason) == (superuser, "admin")
    assert len(calls) == 1
    assert (calls[0]["count"], calls[0]["revoked_by"]) == (1, superuser)


def test_revoke_all_user_sessions_action(user, other_user, admin_user_client):
    phone, laptop = logged_in_client(user), logged_in_client(user)
    bob = logged_in_client(other_user)

    response = run_action(admin_user_client, "revoke_all_user_sessions", [row_of(phone)])

    assert "Revoked 2 sessions." in response.content.decode()
    assert whoami(phone) is None
    assert whoami(laptop) is None
    assert whoami(bob) == "bob"
    assert whoami(admin_user_client) == "root"


def test_revoking_nothing_says_so(user, admin_user_client):
    client = logged_in_client(user)
    row = row_of(client)
    client.post("/accounts/logout/")
    response = run_action(admin_user_client, "revoke_sessions", [row])
    assert "Revoked 0 sessions." in response.content.decode()


@pytest.mark.parametrize("action", ["revoke_sessions", "revoke_all_user_sessions"])
def test_actions_run_in_a_fixed_number_of_queries(user, admin_user_client, action):
    def queries(count: int) -> int:
        # Each run starts from the same state: the rows an earlier run revoked
        # would add the (one) query for who revoked them (the status column).
        UserSession.objects.filter(user=user).delete()
        rows = make_rows(user, count, keyed=True)
        with CaptureQueriesContext(connection) as captured:
            response = admin_user_client.post(
                f"{CHANGELIST}?q=alice",
                {
                    "action": action,
                    "select_across": "1",
                    "post": "yes",
                    "_selected_action": [str(rows[0].pk)],
                },
            )
        assert response.status_code == 302
        assert not UserSession.objects.filter(user=user).active().exists()
        return len(captured)

    assert queries(5) == queries(50)


def test_actions_need_the_revoke_permission(django_user_model, user):
    viewer = staff_client_with(django_user_model, "view_usersession")
    victim = logged_in_client(user)

    page = viewer.get(CHANGELIST)
    assert page.status_code == 200
    assert "revoke_sessions" not in page.content.decode()
    run_action(viewer, "revoke_sessions", [row_of(victim)])
    assert whoami(victim) == "alice"


def test_actions_offered_with_the_revoke_permission(django_user_model, user):
    revoker = staff_client_with(django_user_model, "view_usersession", "revoke_usersession")
    content = revoker.get(CHANGELIST).content.decode()
    assert "revoke_sessions" in content
    assert "revoke_all_user_sessions" in content


# The User page


def test_user_change_page_lists_the_sessions_read_only(user, admin_user_client):
    victim = logged_in_client(user, ip="81.2.69.142")
    key = victim.session.session_key
    ended = logged_in_client(user, ip="175.16.199.1")
    ended.post("/accounts/logout/")

    response = admin_user_client.get(f"/admin/auth/user/{user.pk}/change/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "Most recent sessions" in content
    assert "81.2.69.142" in content
    assert "175.16.199.1" in content
    assert ">Ended<" in content
    assert key not in content
    assert f"{CHANGELIST}{row_of(victim).pk}/change/" in content
    assert f"{CHANGELIST}?user={user.pk}" in content
    assert "-TOTAL_FORMS" not in content  # no formset, so no management form to post


def test_user_changelist_action_revokes_all_sessions_of_selected_users(
    user, other_user, superuser, admin_user_client
):
    phone, laptop = logged_in_client(user), logged_in_client(user)
    bob = logged_in_client(other_user)
    assert "revoke_user_sessions" in admin_user_client.get("/admin/auth/user/").content.decode()

    response = run_action(admin_user_client, "revoke_user_sessions", [user], "/admin/auth/user/")

    assert "Revoked 2 sessions." in response.content.decode()
    assert whoami(phone) is None
    assert whoami(laptop) is None
    assert whoami(bob) == "bob"
    assert set(UserSession.objects.filter(user=user).values_list("revoked_by", flat=True)) == {
        superuser.pk
    }


def test_user_page_hides_sessions_without_the_permissions(django_user_model, user):
    client = staff_client_with(django_user_model, "view_user")
    logged_in_client(user, ip="81.2.69.142")

    page = client.get(f"/admin/auth/user/{user.pk}/change/")
    assert page.status_code == 200
    assert "81.2.69.142" not in page.content.decode()
    assert "revoke_user_sessions" not in client.get("/admin/auth/user/").content.decode()


def test_integration_replaces_only_the_stock_user_admin(django_user_model):
    site = admin.AdminSite(name="t")
    site.register(django_user_model, UserAdmin)
    assert integrate_user_admin(site)
    model_admin = site._registry[django_user_model]
    assert isinstance(model_admin, UserSessionsAdminMixin)
    assert "revoke_user_sessions" in model_admin.actions
    assert UserSessionInline not in model_admin.get_inlines(None, None)  # type: ignore[arg-type]
    assert not integrate_user_admin(site)  # already ours


def test_integration_can_be_turned_off(django_user_model):
    site = admin.AdminSite(name="t")
    site.register(django_user_model, UserAdmin)
    with override_settings(SESSIONMGR={"USER_ADMIN_INTEGRATION": False}):
        assert not integrate_user_admin(site)
    assert type(site._registry[django_user_model]) is UserAdmin


def test_mixin_respects_disabled_actions(django_user_model):
    class NoActions(UserSessionsAdminMixin, UserAdmin):
        actions = None

    assert NoActions(django_user_model, admin.AdminSite(name="t")).actions is None
