"""Every query parameter of both APIs and of the HTML pages: bad input is a 4xx
naming the parameter, never a 5xx, and no parameter is an oracle on a session key.

Unknown query parameters are ignored, completely: they change no byte of the
answer (page links carry only the known ones). So a guess of a session key,
however it is sent, gets the same bytes back whether it is right or wrong.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_sessionmgr.api.staff import StaffUserSessionViewSet
from django_sessionmgr.api.views import UserSessionViewSet
from django_sessionmgr.models import UserSession
from tests.helpers import logged_in_client, make_rows, make_staff

pytestmark = pytest.mark.django_db

SELF = "/api/sessions/"
STAFF = "/api/admin/sessions/"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode()


# Fixed, not random: the ids of parametrized cases must be the same on every run.
UUID = "9c6a50fd-c09f-4c62-a07f-5f18da40a17a"
BAD_CURSORS = [
    "",
    "garbage",
    "!!!!",
    "é",
    "\x00",
    "bnwy" * 100,  # over-long
    b64("{}"),
    b64('{"created_at": 1, "id": 2}'),
    b64("n|x|y"),
    b64("n|2024-01-01T00:00:00+00:00"),
    b64(f"n|2024-01-01T00:00:00+00:00|{UUID}|extra"),
    b64(f"x|2024-01-01T00:00:00+00:00|{UUID}"),
    b64(f"n|2024-01-01T00:00:00|{UUID}"),  # naive
    b64("n|2024-01-01T00:00:00+00:00|not-a-uuid"),
    b64(f"n|2024-01-01T00:00:00+00:00\x00|{UUID}"),
    b64(f"n|2024-01-01T00:00:00+00:00|{UUID}\x00"),
    # Out of range once in UTC: these overflowed in the database layer (500).
    b64(f"n|9999-12-31T23:59:59-05:00|{UUID}"),
    b64(f"p|0001-01-01T00:00:00+05:00|{UUID}"),
    b64(f"n|99999-01-01T00:00:00+00:00|{UUID}"),
    b64(f"n|{'9' * 5000}|{UUID}"),
    b64(f"n|2024-01-01T00:00:00+00:00|{'f' * 5000}"),
    b64("n|\ud800|x"),
    base64.urlsafe_b64encode(b"\xff\xfe|\x80").decode(),
]


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    return make_staff(django_user_model, "carol", "view_usersession", "revoke_usersession")


@pytest.fixture
def viewer(django_user_model: Any) -> Client:
    """Staff with only view_usersession: who must not learn a session key."""
    return logged_in_client(make_staff(django_user_model, "vera", "view_usersession"))


@pytest.mark.parametrize("cursor", BAD_CURSORS, ids=range(len(BAD_CURSORS)))
def test_bad_cursor_is_a_400_naming_cursor(user, viewer, cursor):
    make_rows(user, 3)
    response = viewer.get(STAFF, {"cursor": cursor})
    assert response.status_code == 400, response.content
    assert response.json() == {"cursor": ["Invalid cursor."]}


@pytest.mark.parametrize(
    "cursor",
    [
        b64(f"n|9999-12-31T23:59:59+00:00|{UUID}"),
        b64(f"p|0001-01-01T00:00:00+00:00|{UUID}"),
        b64(f"n|2024-01-01T00:00:00+14:00|{UUID}"),
    ],
)
def test_extreme_but_valid_cursor_is_a_page(user, viewer, cursor):
    make_rows(user, 3)
    response = viewer.get(STAFF, {"cursor": cursor})
    assert response.status_code == 200
    assert set(response.json()) == {"next", "previous", "results"}


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"status": "bogus"}, "status"),
        ({"status": ""}, "status"),
        ({"status": "active\x00"}, "status"),
        ({"status": "ACTIVE"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"limit": "1e3"}, "limit"),
        ({"limit": "2.5"}, "limit"),
        ({"limit": "5\x00"}, "limit"),
        ({"limit": "9" * 5000}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"offset": "x"}, "offset"),
        ({"offset": "\x00"}, "offset"),
        ({"offset": "9" * 5000}, "offset"),
    ],
)
def test_self_service_bad_parameter_is_a_400_naming_it(user, params, name):
    client = logged_in_client(user)
    response = client.get(SELF, params)
    assert response.status_code == 400, response.content
    assert set(response.json()) == {name}


@pytest.mark.parametrize("offset", ["3", str(10**30)])
def test_self_service_offset_past_the_end_is_an_empty_page(user, offset):
    client = logged_in_client(user)
    response = client.get(SELF, {"offset": offset})
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"user": "abc"}, "user"),
        ({"user": "1.5"}, "user"),
        ({"user": "1\x00"}, "user"),
        ({"user": str(2**63)}, "user"),
        ({"user": "9" * 5000}, "user"),
        ({"status": "bogus"}, "status"),
        ({"status": "active\x00"}, "status"),
        ({"ip": "999.1.1.1"}, "ip"),
        ({"ip": "1.2.3.4\x00"}, "ip"),
        ({"ip": "::ffff:999.1.1.1"}, "ip"),
        ({"ip": "x" * 5000}, "ip"),
    ],
)
def test_staff_bad_parameter_is_a_400_naming_it(viewer, params, name):
    response = viewer.get(STAFF, params)
    assert response.status_code == 400, response.content
    assert set(response.json()) == {name}


def test_error_messages_do_not_echo_the_value(user, viewer):
    client = logged_in_client(user)
    for response in (
        client.get(SELF, {"status": "zz-guess"}),
        viewer.get(STAFF, {"status": "zz-guess"}),
    ):
        assert response.status_code == 400
        assert b"zz-guess" not in response.content


# No oracle


def test_no_generic_filter_backends():
    # Not even the project's DEFAULT_FILTER_BACKENDS: filters are explicit.
    assert UserSessionViewSet.filter_backends == []
    assert StaffUserSessionViewSet.filter_backends == []


def key_of(client: Client) -> str:
    key: str = client.cookies["sessionid"].value
    return key


def wrong_guess(key: str) -> str:
    """Same length and alphabet as ``key``, sharing no character position."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[(alphabet.index(c) + 1) % len(alphabet)] for c in key)


def ways_in(guess: str, row_id: str) -> list[tuple[str, dict[str, str]]]:
    """Every way we could think of to put a guess of a session key to the API."""
    lookups = ["exact", "iexact", "startswith", "istartswith", "contains", "icontains",
               "endswith", "regex", "gt", "gte", "lt", "lte", "in", "isnull", "range"]  # fmt: skip
    params: list[dict[str, str]] = [{"session_key": guess}]
    params += [{f"session_key__{lookup}": guess} for lookup in lookups]
    params += [{f"session_key__{lookup}": guess[:1]} for lookup in ("startswith", "gt", "lt")]
    params += [
        {"ordering": "session_key"},
        {"ordering": "-session_key"},
        {"ordering": "session_key_hash"},
        {"o": "session_key"},
        {"search": guess},
        {"q": guess},
        {"key": guess},
        {"sessionid": guess},
        {"session_key_hash": guess},
        {"status": guess},
        {"user": guess},
        {"ip": guess},
        {"limit": guess},
        {"offset": guess},
        {"format": guess},
        {"id": guess},
        {"user__session_key": guess},
        {"cursor": b64(f"n|{guess}|{row_id}")},
        {"cursor": b64(f"n|2024-01-01T00:00:00+00:00|{guess}")},
        {"cursor": b64(f"{guess}|2024-01-01T00:00:00+00:00|{row_id}")},
        {"cursor": b64(guess)},
        {"cursor": guess},
    ]
    return [("?" + urlencode(p), p) for p in params]


@pytest.mark.parametrize("engine_name", ["db", "cache"])
def test_right_and_wrong_guess_get_the_same_bytes(
    engine_name, settings, tmp_path, user, staff, viewer
):
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{engine_name}"
    victim = logged_in_client(user)
    own = logged_in_client(staff)
    key = key_of(victim)
    row_id = str(UserSession.objects.get(user=user).pk)
    make_rows(user, 60)  # more than a page, so that page links are in the answers
    right, wrong = ways_in(key, row_id), ways_in(wrong_guess(key), row_id)
    askers = [(viewer, STAFF), (victim, SELF), (own, SELF)]

    for client, path in askers:
        baseline = client.get(path)
        for (right_query, params), (wrong_query, _) in zip(right, wrong, strict=True):
            a, b = client.get(path + right_query), client.get(path + wrong_query)
            assert (a.status_code, a.content) == (b.status_code, b.content), (path, params)
            assert a.status_code < 500
            assert key.encode() not in a.content
            if a.status_code == 200 and not ({"status", "format"} & set(params)):
                # Ignored entirely: the answer is the one without the parameter.
                assert a.content == baseline.content, (path, params)
        for path_guess in (key, wrong_guess(key)):
            assert client.get(f"{path}{path_guess}/").status_code == 404


# The HTML pages


@pytest.mark.parametrize(
    "path",
    [
        "/account/sessions/?page=abc",
        "/account/sessions/?page=0",
        "/account/sessions/?page=99999999999999999999999",
        "/account/sessions/?page=1%00",
        "/account/sessions/?page=-1",
        f"/account/sessions/{'f' * 32}/revoke/",
        "/account/sessions/not-a-uuid/revoke/",
        "/account/sessions/%00/revoke/",
        "/account/sessions/00e37928-ee7f-4ee0-bd58-ee29fa650d14/revoke/",
    ],
)
def test_html_pages_answer_4xx_to_bad_input(user, other_user, path):
    client = logged_in_client(user)
    method = client.post if path.endswith("/revoke/") else client.get
    response = method(path)
    assert response.status_code in (400, 404), response.status_code


def test_html_revoke_of_another_users_session_is_404(user, other_user):
    client = logged_in_client(user)
    theirs = logged_in_client(other_user)
    row = UserSession.objects.get(user=other_user)
    assert client.post(f"/account/sessions/{row.pk}/revoke/").status_code == 404
    assert client.get("/account/sessions/?ordering=session_key").status_code == 200
    assert theirs.get("/whoami/").json()["user"] == "bob"


# Property: whatever the query string, never a 5xx and never a key

KNOWN_NAMES = ["status", "limit", "offset", "cursor", "user", "ip", "format"]
HOSTILE_NAMES = ["session_key", "session_key__startswith", "ordering", "search", "page", "id"]
names = st.one_of(st.sampled_from(KNOWN_NAMES + HOSTILE_NAMES), st.text(max_size=20))
values = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["active", "all", "revoked", "1", "0", "-1", "500", "501", "127.0.0.1"]),
    st.integers().map(str),
    st.binary(max_size=60).map(lambda raw: base64.urlsafe_b64encode(raw).decode()),
    st.tuples(
        st.sampled_from(["n", "p", "x", ""]),
        st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()) | st.text(max_size=30),
        st.uuids().map(str) | st.text(max_size=40),
    ).map(lambda parts: b64("|".join(parts))),
)
query_strings = st.lists(st.tuples(names, values), max_size=6)


@pytest.mark.slow
def test_query_strings_never_5xx_never_a_key(user, staff, viewer):
    victim = logged_in_client(user)
    own = logged_in_client(staff)
    make_rows(user, 60)
    keys = [key_of(victim).encode(), key_of(own).encode(), key_of(viewer).encode()]
    key_prefix = {"session_key", "session_key__startswith"}

    @given(
        query=query_strings, target=st.sampled_from([(viewer, STAFF), (own, STAFF), (victim, SELF)])
    )
    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    def check(query: list[tuple[str, str]], target: tuple[Client, str]) -> None:
        client, path = target
        response = client.get(path + "?" + urlencode(query))
        assert response.status_code < 500, (query, response.content)
        assert response.status_code in (200, 400, 404), (query, response.status_code)
        assert not any(key in response.content for key in keys)
        if response.status_code == 400:
            assert set(response.json()) <= set(KNOWN_NAMES), (query, response.json())
        unknown = [(n, v) for n, v in query if n not in KNOWN_NAMES or n in key_prefix]
        if unknown and response.status_code == 200:
            known_only = [(n, v) for n, v in query if (n, v) not in unknown]
            again = client.get(path + "?" + urlencode(known_only))
            assert again.content == response.content, query

    check()


def test_staff_status_error_is_translated_per_request(settings, staff):
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[:2],
        "django.middleware.locale.LocaleMiddleware",
        *settings.MIDDLEWARE[2:],
    ]
    viewer = logged_in_client(staff)  # after the change: a client keeps its middleware
    german = viewer.get(STAFF, {"status": "x"}, HTTP_ACCEPT_LANGUAGE="de")
    english = viewer.get(STAFF, {"status": "x"}, HTTP_ACCEPT_LANGUAGE="en")
    assert german.json()["status"][0].startswith("Unbekannter Status; erlaubt sind: active")
    assert english.json()["status"][0].startswith("Unknown status; use one of: active")
