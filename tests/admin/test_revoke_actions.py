"""Admin revokes: a confirmation page first, and never the staff member's own session."""

from __future__ import annotations

from typing import Any

import pytest
from django.middleware.csrf import get_token
from django.test import Client

from django_sessionmgr.models import UserSession
from tests.admin.test_admin import CHANGELIST, row_of, run_action
from tests.helpers import PASSWORD, logged_in_client, make_rows, whoami

pytestmark = pytest.mark.django_db

USERS = "/admin/auth/user/"
OWN_KEPT = "Your own session, the one you are using now, is kept."
LEFT_OUT = "Your own session was left out."


@pytest.fixture
def staff(superuser: Any) -> Client:
    return logged_in_client(superuser)


@pytest.mark.parametrize(
    ("action", "url", "target"),
    [
        ("revoke_sessions", CHANGELIST, "rows"),
        ("revoke_all_user_sessions", CHANGELIST, "rows"),
        ("revoke_user_sessions", USERS, "users"),
    ],
)
def test_every_action_asks_first(staff, user, other_user, action, url, target):
    alice = [logged_in_client(user), logged_in_client(user)]
    bob = logged_in_client(other_user)
    rows = [*(row_of(c) for c in alice), row_of(bob)]
    selection = rows if target == "rows" else [user, other_user]

    page = run_action(staff, action, selection, url, confirm=False)

    assert page.status_code == 200
    assert page.templates[0].name == "admin/django_sessionmgr/revoke_confirmation.html"
    content = page.content.decode()
    assert "This will sign out 3 active sessions at once." in content
    assert "<li>alice</li>" in content
    assert "<li>bob</li>" in content
    assert OWN_KEPT in content
    assert 'name="post" value="yes"' in content
    assert f'name="action" value="{action}"' in content
    assert "csrfmiddlewaretoken" in content
    assert all(whoami(c) is not None for c in [*alice, bob])
    assert not UserSession.objects.filter(status="revoked").exists()

    done = run_action(staff, action, selection, url)

    assert "Revoked 3 sessions." in done.content.decode()
    assert all(whoami(c) is None for c in [*alice, bob])
    assert whoami(staff) == "root"


def test_the_confirmation_form_posts_back_what_it_was_given(staff, user):
    """The page's own form, posted as a browser would, performs the revoke."""
    import re

    phone = logged_in_client(user)
    page = run_action(staff, "revoke_sessions", [row_of(phone)], confirm=False).content.decode()
    form = page[page.index('<form method="post">') :]
    form = form[: form.index("</form>")]
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', form):
        fields.setdefault(name, []).append(value)

    response = staff.post(CHANGELIST, fields, follow=True)

    assert "Revoked 1 session." in response.content.decode()
    assert whoami(phone) is None


def test_select_across_is_kept_through_the_confirmation(staff, user):
    clients = [logged_in_client(user) for _ in range(3)]
    data = {
        "action": "revoke_sessions",
        "select_across": "1",
        "index": 0,
        "_selected_action": [str(row_of(clients[0]).pk)],
    }
    page = staff.post(f"{CHANGELIST}?q=alice", data)
    content = page.content.decode()
    assert "This will sign out 3 active sessions at once." in content
    assert 'name="select_across" value="1"' in content

    del data["index"]
    staff.post(f"{CHANGELIST}?q=alice", {**data, "post": "yes"})
    assert all(whoami(c) is None for c in clients)
    assert whoami(staff) == "root"


def test_the_confirmation_needs_a_csrf_token(superuser, user):
    staff = Client(enforce_csrf_checks=True)
    login = staff.get("/accounts/login/")
    token = get_token(login.wsgi_request)
    staff.post(
        "/accounts/login/",
        {"username": "root", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert whoami(staff) == "root"
    phone = logged_in_client(user)
    response = staff.post(
        CHANGELIST,
        {"action": "revoke_sessions", "_selected_action": [row_of(phone).pk], "post": "yes"},
    )
    assert response.status_code == 403
    assert whoami(phone) == "alice"


# The staff member's own session


@pytest.mark.parametrize("action", ["revoke_sessions", "revoke_all_user_sessions"])
def test_an_action_never_revokes_the_staff_members_own_session(engine, superuser, staff, action):
    other_device = logged_in_client(superuser)
    rows = [row_of(staff), row_of(other_device)]

    page = run_action(staff, action, rows, confirm=False).content.decode()
    assert "This will sign out 1 active session at once." in page
    assert OWN_KEPT in page

    response = run_action(staff, action, rows)

    assert f"Revoked 1 session. {LEFT_OUT}" in response.content.decode()
    assert whoami(staff) == "root"
    assert whoami(other_device) is None
    assert row_of(staff).status == "active"


def test_the_user_action_never_revokes_the_staff_members_own_session(engine, superuser, staff):
    other_device = logged_in_client(superuser)

    response = run_action(staff, "revoke_user_sessions", [superuser], USERS)

    assert f"Revoked 1 session. {LEFT_OUT}" in response.content.decode()
    assert whoami(staff) == "root"
    assert whoami(other_device) is None


def test_only_ones_own_session_selected_revokes_nothing(staff):
    response = run_action(staff, "revoke_sessions", [row_of(staff)])
    assert f"Revoked 0 sessions. {LEFT_OUT}" in response.content.decode()
    assert whoami(staff) == "root"


def test_no_left_out_note_when_ones_own_session_was_not_selected(staff, user):
    response = run_action(staff, "revoke_sessions", [row_of(logged_in_client(user))])
    content = response.content.decode()
    assert "Revoked 1 session." in content
    assert LEFT_OUT not in content


def test_the_changelist_marks_the_staff_members_own_session(superuser, staff, user):
    logged_in_client(user)
    logged_in_client(superuser)

    response = staff.get(CHANGELIST)

    content = response.content.decode()
    assert content.count("this is you") == 1
    own_link = f"{CHANGELIST}{row_of(staff).pk}/change/"
    row = content[content.index(own_link) :]
    assert row.index("this is you") < row.index("</tr>")


# Hostile selections


@pytest.mark.parametrize("selected", [["not-a-uuid"], ["1"], [""]])
def test_a_malformed_selection_answers_a_message(staff, user, selected):
    phone = logged_in_client(user)
    for extra in ({"index": 0}, {"post": "yes"}):
        response = staff.post(
            CHANGELIST,
            {"action": "revoke_sessions", "_selected_action": selected, **extra},
            follow=True,
        )
        assert response.status_code == 200
        assert "Unknown items were selected. Nothing was changed." in response.content.decode()
    assert whoami(phone) == "alice"


def test_a_malformed_user_selection_answers_a_message(staff, user):
    response = staff.post(
        USERS,
        {"action": "revoke_user_sessions", "_selected_action": ["x"], "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Unknown items were selected. Nothing was changed." in response.content.decode()


def test_the_confirmation_names_at_most_twenty_users_and_counts_the_rest(staff, django_user_model):
    from datetime import timedelta

    from django.utils import timezone

    users = [django_user_model.objects.create_user(f"u{n:02d}") for n in range(23)]
    UserSession.objects.bulk_create(
        UserSession(user=u, expires_at=timezone.now() + timedelta(days=1)) for u in users
    )

    page = run_action(staff, "revoke_user_sessions", users, USERS, confirm=False)

    content = page.content.decode()
    assert "This will sign out 23 active sessions at once." in content
    assert "<li>u19</li>" in content
    assert "<li>u20</li>" not in content
    assert "and 3 more users" in content


def test_the_confirmation_lists_the_sessions_and_counts_the_rest(staff, user):
    """As Django's delete confirmation lists its objects: device, IP and last
    activity of the first 20 sessions, newest activity first, then a count."""
    from django_sessionmgr.admin.revoking import CONFIRMATION_SESSIONS

    rows = make_rows(
        user, CONFIRMATION_SESSIONS + 5, device_browser="Edge 130", device_os="Windows 11"
    )
    UserSession.objects.filter(pk__in=[row.pk for row in rows]).update(ip_address="192.0.2.7")

    page = run_action(staff, "revoke_all_user_sessions", [rows[0]], CHANGELIST, confirm=False)

    content = page.content.decode()
    assert content.count("<td>Edge 130 on Windows 11</td>") == CONFIRMATION_SESSIONS
    assert content.count('<span class="sessionmgr-ip">192.0.2.7</span>') == CONFIRMATION_SESSIONS
    assert "and 5 more sessions" in content
    assert not UserSession.objects.filter(status="revoked").exists()


def test_the_revoke_pages_refuse_what_they_cannot_take(staff, user, django_user_model):
    """A session or user that does not exist is a 404; staff without the
    revoke permission get a 403; neither page revokes on GET."""
    row = row_of(logged_in_client(user))
    assert staff.get(f"{CHANGELIST}not-a-uuid/revoke/").status_code == 404
    assert staff.get(f"{CHANGELIST}revoke-user/not-a-number/").status_code == 404
    assert staff.get(f"{CHANGELIST}revoke-user/999999/").status_code == 404
    assert staff.get(f"{CHANGELIST}{row.pk}/revoke/").status_code == 200
    assert staff.get(f"{CHANGELIST}revoke-user/{user.pk}/").status_code == 200
    viewer = django_user_model.objects.create_user("viewer", password=PASSWORD, is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.set(Permission.objects.filter(codename="view_usersession"))
    looker = logged_in_client(viewer)
    assert looker.get(f"{CHANGELIST}{row.pk}/revoke/").status_code == 403
    assert looker.get(f"{CHANGELIST}revoke-user/{user.pk}/").status_code == 403
    assert not UserSession.objects.filter(status="revoked").exists()
