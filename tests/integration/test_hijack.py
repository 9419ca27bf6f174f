"""django-hijack with the app installed: run by ``make test-integration``."""

from __future__ import annotations

import io
from typing import Any

import pytest
import time_machine
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import CHANGE, LogEntry
from django.core import mail
from django.core.management import call_command
from django.db.models import Q
from django.test import Client
from django.utils import timezone

from django_sessionmgr.models import UserSession
from django_sessionmgr.notifications import DEVICE_COOKIE
from tests.helpers import (
    PASSWORD,
    active_rows,
    assert_one_row_following,
    assert_password_change_revokes_others,
    assert_revoke_ends,
    assert_rotation_followed,
    logged_in_client,
    make_client,
    make_staff,
    row_of,
    whoami,
    without_sessionmgr,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)


def acquire(client: Client, user: Any) -> Any:
    return client.post("/hijack/acquire/", {"user_pk": user.pk, "next": "/whoami/"})


def release(client: Client) -> Any:
    return client.post("/hijack/release/", {"next": "/whoami/"})


def hijacking(staff: Any, user: Any) -> Client:
    client = logged_in_client(staff)
    response = acquire(client, user)
    assert response.status_code == 302, response.content
    assert whoami(client) == user.get_username()
    return client


def test_acquire_gives_the_user_one_row_that_follows_the_session(staff, user):
    client = hijacking(staff, user)
    assert_one_row_following(client, user)


def test_acquire_leaves_the_staff_row_active(staff, user):
    client = logged_in_client(staff)
    staff_row = row_of(client)
    acquire(client, user)
    staff_row.refresh_from_db()
    assert staff_row.status == UserSession.Status.ACTIVE


def test_release_returns_to_one_staff_row(staff, user):
    client = hijacking(staff, user)
    impersonation = row_of(client)
    response = release(client)
    assert response.status_code == 302, response.content
    assert whoami(client) == staff.get_username()
    impersonation.refresh_from_db()
    assert impersonation.status != UserSession.Status.ACTIVE
    assert active_rows(user) == []
    assert row_of(client).user == staff
    assert_one_row_following(client, staff)


def test_rotation_while_hijacking(staff, user):
    assert_rotation_followed(hijacking(staff, user), user)


def test_revoke_ends_the_hijacked_session(staff, user):
    assert_revoke_ends(hijacking(staff, user), user)


def test_password_change_revokes_the_other_sessions(user):
    def change(client: Client) -> None:
        response = client.post(
            "/accounts/password/",
            {
                "old_password": PASSWORD,
                "new_password1": "n3w-Passw0rd!",
                "new_password2": "n3w-Passw0rd!",
            },
        )
        assert response.status_code == 302, response.content

    assert_password_change_revokes_others(change, user, lambda client: logged_in_client(user))


def flow(staff: Any, user: Any) -> list[tuple[int, str, str | None]]:
    client = make_client()
    client.post("/accounts/login/", {"username": staff.get_username(), "password": PASSWORD})
    answers = []
    for step in (lambda: acquire(client, user), lambda: release(client)):
        response = step()
        answers.append((response.status_code, response.get("Location", ""), whoami(client)))
    return answers


def test_hijack_flow_answers_as_without_the_app(staff, user):
    with without_sessionmgr():
        stock = flow(staff, user)
    assert flow(staff, user) == stock
    assert stock == [(302, "/whoami/", "alice"), (302, "/whoami/", "root")]


def test_the_session_is_marked_as_started_by_staff(staff, user):
    client = hijacking(staff, user)
    row = row_of(client)
    assert row.impersonated_by == staff
    [item] = client.get("/api/sessions/").json()["results"]
    assert item["impersonated"] is True
    own = logged_in_client(user, ip="198.51.100.7")
    assert "Started by support staff" in own.get("/account/sessions/").content.decode()


def test_release_returns_to_the_staff_members_own_row(staff, user):
    client = logged_in_client(staff)
    staff_row = row_of(client)
    acquire(client, user)
    assert row_of(client).user == user
    release(client)
    assert whoami(client) == staff.get_username()
    assert row_of(client).pk == staff_row.pk
    assert_revoke_ends(client, staff)


def test_a_revoke_while_impersonating_is_recorded_as_the_staff_members(staff, user):
    other = logged_in_client(user, ip="198.51.100.7")
    other_row = row_of(other)
    client = hijacking(staff, user)
    response = client.delete(f"/api/sessions/{other_row.pk}/")
    assert response.status_code == 204
    other_row.refresh_from_db()
    assert other_row.revoked_by == staff
    assert whoami(other) is None


def test_the_project_may_hide_impersonated_sessions_from_the_user(staff, user, settings):
    client = hijacking(staff, user)
    own = logged_in_client(user, ip="198.51.100.7")
    assert len(own.get("/api/sessions/").json()["results"]) == 2
    settings.SESSIONMGR = {"SHOW_IMPERSONATED_SESSIONS": False}
    listed = own.get("/api/sessions/").json()["results"]
    assert [item["impersonated"] for item in listed] == [False]
    assert whoami(client) == user.get_username()


# "All sessions of the staff member" reaches the browser they
# impersonate from, and a release afterwards restores nothing.


@pytest.fixture
def other_admin(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("chief", "chief@example.com", PASSWORD)


def assert_impersonation_over(client: Client, staff: Any) -> None:
    """The browser that impersonated is anonymous, and its release signs nobody in."""
    assert whoami(client) is None
    release(client)
    assert whoami(client) is None
    assert active_rows(staff) == []
    assert not UserSession.objects.filter(impersonated_by=staff).active().exists()


def revoke_by_command(staff: Any, other_admin: Any) -> None:
    call_command("sessionmgr_revoke", staff.get_username(), stdout=io.StringIO())


def revoke_everyone(staff: Any, other_admin: Any) -> None:
    call_command("sessionmgr_revoke", "--all", stdout=io.StringIO())


def revoke_by_staff_api(staff: Any, other_admin: Any) -> None:
    admin = logged_in_client(other_admin, ip="198.51.100.20")
    response = admin.post(
        "/api/admin/sessions/revoke/", {"users": [staff.pk]}, content_type="application/json"
    )
    assert response.status_code == 200, response.content


def revoke_by_admin_action(staff: Any, other_admin: Any) -> None:
    admin = logged_in_client(other_admin, ip="198.51.100.20")
    [staff_row] = active_rows(staff)
    response = admin.post(
        "/admin/django_sessionmgr/usersession/",
        {"action": "revoke_all_user_sessions", ACTION_CHECKBOX_NAME: [staff_row.pk], "post": "yes"},
    )
    assert response.status_code == 302, response.content


def revoke_by_user_admin_action(staff: Any, other_admin: Any) -> None:
    admin = logged_in_client(other_admin, ip="198.51.100.20")
    response = admin.post(
        "/admin/auth/user/",
        {"action": "revoke_user_sessions", ACTION_CHECKBOX_NAME: [staff.pk], "post": "yes"},
    )
    assert response.status_code == 302, response.content


def revoke_others_from_another_browser(staff: Any, other_admin: Any) -> None:
    laptop = logged_in_client(staff, ip="198.51.100.30")
    response = laptop.post("/account/sessions/revoke-others/")
    assert response.status_code == 302, response.content
    assert whoami(laptop) == staff.get_username()
    laptop.post("/accounts/logout/")


def revoke_others_by_api_from_another_browser(staff: Any, other_admin: Any) -> None:
    # The staff member's waiting row and each row of the impersonation (two for
    # a single one, three for a chain through another staff member).
    expected = UserSession.objects.filter(
        Q(user=staff) | Q(impersonated_by=staff), status=UserSession.Status.ACTIVE
    ).count()
    laptop = logged_in_client(staff, ip="198.51.100.30")
    response = laptop.post("/api/sessions/revoke-others/")
    assert response.status_code == 200, response.content
    assert response.json()["revoked"] == expected >= 2
    laptop.post("/accounts/logout/")


def change_password_from_another_browser(staff: Any, other_admin: Any) -> None:
    laptop = logged_in_client(staff, ip="198.51.100.30")
    response = laptop.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "n3w-Passw0rd!",
            "new_password2": "n3w-Passw0rd!",
        },
    )
    assert response.status_code == 302, response.content
    laptop.post("/accounts/logout/")


@pytest.mark.parametrize(
    "revoke_all_of_staff",
    [
        revoke_by_command,
        revoke_everyone,
        revoke_by_staff_api,
        revoke_by_admin_action,
        revoke_by_user_admin_action,
        revoke_others_from_another_browser,
        revoke_others_by_api_from_another_browser,
        change_password_from_another_browser,
    ],
)
def test_sign_out_everywhere_of_staff_ends_their_impersonation(
    staff, other_admin, user, revoke_all_of_staff
):
    client = hijacking(staff, user)
    impersonation = row_of(client)
    revoke_all_of_staff(staff, other_admin)
    impersonation.refresh_from_db()
    assert impersonation.status == UserSession.Status.REVOKED
    assert_impersonation_over(client, staff)


def test_sign_out_everywhere_of_staff_ends_a_nested_hijack(staff, other_admin, user):
    # Staff hijack another superuser, and from there the user.
    client = hijacking(staff, other_admin)
    assert acquire(client, user).status_code == 302
    assert whoami(client) == user.get_username()
    revoke_by_command(staff, other_admin)
    assert_impersonation_over(client, staff)


def test_a_release_after_the_staff_row_was_revoked_signs_the_browser_out(staff, other_admin, user):
    # Only the staff member's own (waiting) row is revoked: the impersonation
    # goes on, but its release must not sign the staff member back in.
    client = logged_in_client(staff)
    staff_row = row_of(client)
    acquire(client, user)
    admin = logged_in_client(other_admin, ip="198.51.100.20")
    assert admin.delete(f"/api/admin/sessions/{staff_row.pk}/").status_code == 204
    assert whoami(client) == user.get_username()
    release(client)
    assert whoami(client) is None
    assert active_rows(staff) == []
    assert active_rows(user) == []


def test_a_password_sign_in_after_the_staff_row_was_revoked_works_at_the_second_try(
    staff, other_admin, user
):
    # A release is recognised by the session's impersonation stack alone, so a
    # password sign-in as the staff member from the impersonating browser is
    # taken for one: it signs out once and creates no row. The next works.
    client = logged_in_client(staff)
    staff_row = row_of(client)
    acquire(client, user)
    staff_row.revoke(reason="test")
    credentials = {"username": staff.get_username(), "password": PASSWORD}
    assert client.post("/accounts/login/", credentials).status_code == 302
    assert whoami(client) is None
    assert active_rows(staff) == []
    assert client.post("/accounts/login/", credentials).status_code == 302
    assert whoami(client) == staff.get_username()
    assert [row.pk for row in active_rows(staff)] == [row_of(client).pk]


# Attribution: every staff path records the real actor while
# impersonating: revoked_by, and the admin's history (LogEntry).


@pytest.fixture
def staff_member(django_user_model: Any) -> Any:
    return make_staff(
        django_user_model, "bob", "view_usersession", "revoke_usersession", "view_user"
    )


def impersonating_staff(staff: Any, staff_member: Any) -> Client:
    client = hijacking(staff, staff_member)
    assert row_of(client).impersonated_by == staff
    return client


def by_staff_api_delete(client: Client, victim: UserSession) -> None:
    response = client.delete(f"/api/admin/sessions/{victim.pk}/")
    assert response.status_code == 204, response.content


def by_staff_api_ids(client: Client, victim: UserSession) -> None:
    response = client.post(
        "/api/admin/sessions/revoke/", {"ids": [str(victim.pk)]}, content_type="application/json"
    )
    assert response.json() == {"revoked": 1}


def by_staff_api_users(client: Client, victim: UserSession) -> None:
    response = client.post(
        "/api/admin/sessions/revoke/", {"users": [victim.user_id]}, content_type="application/json"
    )
    assert response.json() == {"revoked": 1}


def admin_action(path: str, action: str, selected: Any) -> Any:
    def run(client: Client, victim: UserSession) -> None:
        response = client.post(
            path,
            {"action": action, ACTION_CHECKBOX_NAME: [selected(victim)], "post": "yes"},
        )
        assert response.status_code == 302, response.content

    run.__name__ = action
    return run


ADMIN_PATHS = [
    admin_action(
        "/admin/django_sessionmgr/usersession/", "revoke_sessions", lambda victim: victim.pk
    ),
    admin_action(
        "/admin/django_sessionmgr/usersession/",
        "revoke_all_user_sessions",
        lambda victim: victim.pk,
    ),
    admin_action("/admin/auth/user/", "revoke_user_sessions", lambda victim: victim.user_id),
]


@pytest.mark.parametrize(
    "revoke", [by_staff_api_delete, by_staff_api_ids, by_staff_api_users, *ADMIN_PATHS]
)
def test_a_staff_revoke_while_impersonating_is_the_real_staff_members(
    staff, staff_member, user, revoke
):
    victim_client = logged_in_client(user, ip="198.51.100.7")
    victim = row_of(victim_client)
    client = impersonating_staff(staff, staff_member)
    revoke(client, victim)
    victim.refresh_from_db()
    assert victim.status == UserSession.Status.REVOKED
    assert victim.revoked_by == staff
    assert whoami(victim_client) is None
    if revoke in ADMIN_PATHS:
        [entry] = LogEntry.objects.filter(object_id=str(victim.pk))
        assert entry.user == staff
        assert entry.action_flag == CHANGE
    # The impersonation itself was left out: bob's browser goes on.
    assert whoami(client) == staff_member.get_username()


# An impersonation is invisible to the user's policies and
# devices, and its release gives the staff member no more time.


def test_an_impersonation_does_not_count_toward_max_sessions(staff, user, settings):
    settings.SESSIONMGR = {"MAX_SESSIONS": 1}
    own = logged_in_client(user, ip="198.51.100.7")
    client = hijacking(staff, user)
    assert whoami(own) == user.get_username()  # the user's own session stays
    # A later login of the user's own counts only the user's own sessions.
    second = logged_in_client(user, ip="198.51.100.8")
    assert whoami(own) is None
    assert whoami(second) == whoami(client) == user.get_username()


def test_an_impersonation_leaves_the_device_cookie_alone(
    staff, user, settings, django_capture_on_commit_callbacks
):
    settings.SESSIONMGR = {"NOTIFY_NEW_DEVICE": True, "SITE_URL": "https://example.com"}
    logged_in_client(user, ip="198.51.100.7")  # the user's first sign-in
    client = logged_in_client(staff)
    device_cookie = client.cookies[DEVICE_COOKIE].value
    assert DEVICE_COOKIE not in acquire(client, user).cookies
    assert DEVICE_COOKIE not in release(client).cookies
    assert client.cookies[DEVICE_COOKIE].value == device_cookie
    assert mail.outbox == []
    # The user's password, later, from the staff member's browser: a new device.
    client.post("/accounts/logout/")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/login/", {"username": user.get_username(), "password": PASSWORD}
        )
    assert response.status_code == 302
    assert len(mail.outbox) == 1


def test_a_release_keeps_the_staff_sessions_absolute_end(staff, user, settings):
    settings.SESSIONMGR = {"ABSOLUTE_TIMEOUT": 3600}
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(staff)
        staff_row = row_of(client)
        end = staff_row.expires_at
        traveller.shift(3540)  # a minute left
        acquire(client, user)
        release(client)
        assert whoami(client) == staff.get_username()
        staff_row.refresh_from_db()
        assert row_of(client).pk == staff_row.pk
        assert staff_row.expires_at == end
        traveller.shift(61)
        assert whoami(client) is None


# Chains of impersonation: a superuser impersonating another superuser, who
# then impersonates someone (or themself). The real actor is the root of the
# chain on every row, in every revoke, and on every release.


@pytest.fixture
def second_superuser(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("sam", "sam@example.com", PASSWORD)


def chain_to_the_user(client: Client, second_superuser: Any, user: Any) -> Any:
    """root -> sam -> the user: the browser acts as the user."""
    assert acquire(client, second_superuser).status_code == 302
    assert acquire(client, user).status_code == 302
    return user


def hijack_of_oneself(client: Client, second_superuser: Any, user: Any) -> Any:
    """root -> sam, then sam hijacks sam: the browser acts as sam."""
    assert acquire(client, second_superuser).status_code == 302
    assert acquire(client, second_superuser).status_code == 302
    return second_superuser


CHAINS = [chain_to_the_user, hijack_of_oneself]


@pytest.mark.parametrize("chain", CHAINS)
def test_every_row_of_a_chain_names_its_root_as_the_real_actor(
    staff, second_superuser, user, chain
):
    client = logged_in_client(staff)
    staff_row = row_of(client)
    acting_as = chain(client, second_superuser, user)
    assert whoami(client) == acting_as.get_username()
    assert row_of(client).impersonated_by == staff
    rows = UserSession.objects.filter(status=UserSession.Status.ACTIVE).exclude(pk=staff_row.pk)
    assert {row.impersonated_by for row in rows} == {staff}


@pytest.mark.parametrize(
    "revoke_all_of_staff",
    [
        revoke_by_command,
        revoke_by_staff_api,
        revoke_by_admin_action,
        revoke_by_user_admin_action,
        revoke_others_from_another_browser,
        revoke_others_by_api_from_another_browser,
        change_password_from_another_browser,
    ],
)
@pytest.mark.parametrize("chain", CHAINS)
def test_sign_out_everywhere_of_the_root_ends_a_chained_or_self_hijack(
    staff, second_superuser, other_admin, user, chain, revoke_all_of_staff
):
    client = logged_in_client(staff)
    chain(client, second_superuser, user)
    revoke_all_of_staff(staff, other_admin)
    assert whoami(client) is None
    for _ in range(2):  # every step of the chain
        release(client)
        assert whoami(client) is None
    assert active_rows(staff) == []
    assert not UserSession.objects.filter(impersonated_by=staff).active().exists()


def test_a_chained_release_goes_back_one_step_at_a_time(staff, second_superuser, user):
    client = logged_in_client(staff)
    staff_row = row_of(client)
    assert acquire(client, second_superuser).status_code == 302
    middle_row = row_of(client)
    assert acquire(client, user).status_code == 302
    release(client)
    assert whoami(client) == second_superuser.get_username()
    assert row_of(client).pk == middle_row.pk
    assert row_of(client).impersonated_by == staff
    release(client)
    assert whoami(client) == staff.get_username()
    assert row_of(client).pk == staff_row.pk
    assert UserSession.objects.filter(status=UserSession.Status.ACTIVE).count() == 1


def test_a_chained_release_after_the_root_row_was_revoked_signs_the_browser_out(
    staff, second_superuser, user
):
    client = logged_in_client(staff)
    staff_row = row_of(client)
    chain_to_the_user(client, second_superuser, user)
    release(client)  # back to sam, still on behalf of root
    assert whoami(client) == second_superuser.get_username()
    staff_row.revoke(reason="test")
    release(client)
    assert whoami(client) is None
    assert active_rows(staff) == []  # no new row for root, signed in with no password


def test_after_one_release_of_a_chain_the_root_still_acts(staff, second_superuser, user):
    victim_client = logged_in_client(user, ip="198.51.100.7")
    victim = row_of(victim_client)
    client = logged_in_client(staff)
    chain_to_the_user(client, second_superuser, user)
    release(client)  # acting as sam again
    response = client.delete(f"/api/admin/sessions/{victim.pk}/")
    assert response.status_code == 204, response.content
    victim.refresh_from_db()
    assert victim.revoked_by == staff


@pytest.mark.parametrize("chain", CHAINS)
def test_a_revoke_inside_a_chain_is_recorded_as_the_roots(staff, second_superuser, user, chain):
    client = logged_in_client(staff)
    acting_as = chain(client, second_superuser, user)
    # Another session of the user the browser now acts as.
    victim_client = logged_in_client(acting_as, ip="198.51.100.7")
    victim = row_of(victim_client)
    response = client.post(f"/account/sessions/{victim.pk}/revoke/")
    assert response.status_code == 302, response.content
    victim.refresh_from_db()
    assert victim.status == UserSession.Status.REVOKED
    assert victim.revoked_by == staff


def test_a_hijack_back_to_the_root_keeps_every_row_of_the_chain(staff, second_superuser):
    # root -> sam, then sam hijacks root: the browser is root on root's own
    # row (never marked as an impersonation), and each release goes back.
    client = logged_in_client(staff)
    staff_row = row_of(client)
    assert acquire(client, second_superuser).status_code == 302
    middle_row = row_of(client)
    assert acquire(client, staff).status_code == 302
    assert row_of(client).pk == staff_row.pk
    assert row_of(client).impersonated_by is None
    release(client)
    assert whoami(client) == second_superuser.get_username()
    assert row_of(client).pk == middle_row.pk
    release(client)
    assert whoami(client) == staff.get_username()
    assert row_of(client).pk == staff_row.pk
