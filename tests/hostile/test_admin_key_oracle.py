"""No admin query parameter can test a session key: a right guess and a wrong one look the same.

Each case runs as a staff member holding only the view permissions, the
attacker who guesses keys: before the guard, ``?session_key__startswith=a`` on the
changelist answered with a row count, and 583 requests recovered a whole key.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from django_sessionmgr.models import UserSession
from tests.admin.test_admin import CHANGELIST, row_of, staff_client_with
from tests.helpers import logged_in_client

pytestmark = pytest.mark.django_db

USER_CHANGELIST = "/admin/auth/user/"


def guesses(key: str) -> dict[str, tuple[str, str]]:
    """Per lookup: a value that matches ``key`` and one that does not."""
    return {
        "exact": (key, "x" * len(key)),
        "iexact": (key.upper(), "x" * len(key)),
        "contains": (key[5:12], "!!"),
        "icontains": (key[5:12].upper(), "!!"),
        "startswith": (key[:3], "!"),
        "istartswith": (key[:3].upper(), "!"),
        "endswith": (key[-3:], "!"),
        "iendswith": (key[-3:].upper(), "!"),
        "regex": (f"^{key[:3]}", "^!"),
        "iregex": (f"^{key[:3].upper()}", "^!"),
        # Bounds that order the same under every collation (MariaDB's are
        # case-insensitive and sort punctuation differently): letters only.
        "gt": (key[:-1], "z" * 40),
        "gte": (key, "z" * 40),
        "lt": (f"{key}z", "!"),
        "lte": (key, "!"),
        "in": (f"{key},x", "x,y"),
        "range": (f"{key[:2]},{key[:2]}{'z' * 40}", "!,!"),
        "isnull": ("False", "True"),
    }


#: Every lookup Django would resolve on the key's field (CharField's registry).
LOOKUPS = sorted(UserSession._meta.get_field("session_key").get_lookups())

#: (changelist, parameter prefix) for each way a lookup can reach the key.
WAYS_IN = [
    (CHANGELIST, "session_key"),
    (CHANGELIST, "user__user_sessions__session_key"),
    (USER_CHANGELIST, "user_sessions__session_key"),
]


@pytest.fixture
def victim_key(user: Any) -> str:
    victim = logged_in_client(user)
    key = row_of(victim).session_key
    assert key
    return key


@pytest.fixture
def viewer(django_user_model: Any, request: pytest.FixtureRequest, settings: Any) -> Client:
    """Only ``view_usersession``; on the User list, ``view_user`` as well.

    Its own activity write (which sets a cookie) must not land between the
    two guesses, even if the clock jumps, or the answers would differ for a
    reason that has nothing to do with the key.
    """
    settings.SESSIONMGR = {"ACTIVITY_UPDATE_INTERVAL": 24 * 3600}
    callspec = getattr(request.node, "callspec", None)
    url = callspec.params.get("url", CHANGELIST) if callspec else CHANGELIST
    extra = ["view_user"] if url == USER_CHANGELIST else []
    return staff_client_with(django_user_model, "view_usersession", *extra)


def answer(client: Client, url: str, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body; ``Expires`` (the admin's never_cache) is only the clock."""
    response = client.get(url, params)
    headers = {k: v for k, v in response.headers.items() if k != "Expires"}
    return response.status_code, headers, response.content


def test_every_lookup_has_a_right_and_a_wrong_guess():
    assert set(LOOKUPS) <= set(guesses("k" * 32))


@pytest.mark.parametrize("lookup", LOOKUPS)
@pytest.mark.parametrize(("url", "prefix"), WAYS_IN)
def test_a_key_lookup_answers_the_same_for_right_and_wrong_guesses(
    victim_key, viewer, url, prefix, lookup
):
    right, wrong = guesses(victim_key)[lookup]
    # The guess pair really does tell the key apart, were the lookup allowed.
    field = f"session_key__{lookup}"
    assert UserSession.objects.filter(**{field: prepared(lookup, right)}).exists()
    assert not UserSession.objects.filter(**{field: prepared(lookup, wrong)}).exists()

    name = f"{prefix}__{lookup}"
    right_answer = answer(viewer, url, {name: right})
    wrong_answer = answer(viewer, url, {name: wrong})

    assert right_answer == wrong_answer
    # The admin's own answer to a parameter it cannot use.
    assert right_answer[0] == 302
    assert right_answer[1]["Location"] == f"{url}?e=1"


def prepared(lookup: str, value: str) -> Any:
    """The value as the admin hands it to the ORM (lists split on commas)."""
    if lookup in ("in", "range"):
        return value.split(",")
    if lookup == "isnull":
        return value == "True"
    return value


@pytest.mark.parametrize(("url", "prefix"), WAYS_IN)
def test_the_bare_field_name_is_refused_too(victim_key, viewer, url, prefix):
    assert answer(viewer, url, {prefix: victim_key}) == answer(viewer, url, {prefix: "x" * 32})
    assert viewer.get(url, {prefix: victim_key})["Location"] == f"{url}?e=1"


def test_a_key_lookup_beside_allowed_filters_is_still_refused(victim_key, viewer):
    params = {"status": "active", "q": "alice", "o": "1"}
    right = answer(viewer, CHANGELIST, {**params, "session_key__startswith": victim_key[:1]})
    wrong = answer(viewer, CHANGELIST, {**params, "session_key__startswith": "!"})
    assert right == wrong
    assert right[0] == 302


def test_a_key_lookup_with_the_error_flag_gets_the_error_page(victim_key, viewer):
    right = answer(viewer, CHANGELIST, {"e": "1", "session_key__startswith": victim_key[:2]})
    wrong = answer(viewer, CHANGELIST, {"e": "1", "session_key__startswith": "!"})
    assert right == wrong
    assert right[0] == 200
    assert victim_key.encode() not in right[2]


def test_searching_for_the_key_finds_nothing(victim_key, viewer):
    def rows(term: str) -> list[Any]:
        response = viewer.get(CHANGELIST, {"q": term})
        assert response.status_code == 200
        return list(response.context["cl"].result_list)

    assert rows(victim_key) == rows("x" * 32) == []
    assert rows(victim_key[:4]) == rows("!!!!") == []


def test_every_ordering_leaves_the_key_out(victim_key, viewer):
    """``o=`` picks list columns by position; none of them is the key."""
    for index in range(-1, 12):
        response = viewer.get(CHANGELIST, {"o": str(index)})
        assert response.status_code == 200
        assert victim_key not in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [CHANGELIST, f"{CHANGELIST}{{pk}}/change/", USER_CHANGELIST],
)
def test_the_key_cannot_be_a_to_field(user, victim_key, viewer, url):
    url = url.format(pk=UserSession.objects.get(user=user).pk)
    response = viewer.get(url, {"_to_field": "session_key"})
    assert response.status_code == 400


def test_an_action_on_a_key_filtered_selection_is_refused(django_user_model, user, victim_key):
    revoker = staff_client_with(
        django_user_model, "view_usersession", "revoke_usersession", "view_user"
    )
    row = UserSession.objects.get(user=user)
    for value in (victim_key[:2], "!"):
        response = revoker.post(
            f"{CHANGELIST}?session_key__startswith={value}",
            {"action": "revoke_sessions", "select_across": "1", "_selected_action": [row.pk]},
        )
        assert (response.status_code, response["Location"]) == (302, f"{CHANGELIST}?e=1")
    row.refresh_from_db()
    assert row.status == "active"
