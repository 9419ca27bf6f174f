"""``IP_ADDRESS_STORAGE``: every stored and shown address is full, truncated or absent."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from django_sessionmgr.management.commands import sessionmgr_prune
from django_sessionmgr.models import UserSession
from django_sessionmgr.network import stored_ip
from tests.helpers import PASSWORD, logged_in_client, row_of

pytestmark = pytest.mark.django_db

IPV4, IPV4_NET = "203.0.113.9", "203.0.113.0"
IPV6, IPV6_NET = "2001:db8:1234:5678::9", "2001:db8:1234::"
# How a dual-stack server reports an IPv4 client: truncated as the IPv4 it is.
MAPPED, MAPPED_FULL = "::ffff:203.0.113.9", "::ffff:203.0.113.9"
SIXTOFOUR, SIXTOFOUR_NET = "2002:cb00:7109:1::9", "2002:cb00:7100::"


def storing(mode: str) -> Any:
    return override_settings(SESSIONMGR={"IP_ADDRESS_STORAGE": mode})


@pytest.mark.parametrize(
    "mode, ip, expected",
    [
        ("full", IPV4, IPV4),
        ("full", IPV6, IPV6),
        ("full", MAPPED, MAPPED),
        ("truncated", IPV4, IPV4_NET),
        ("truncated", "203.0.113.255", IPV4_NET),
        ("truncated", IPV4_NET, IPV4_NET),
        ("truncated", IPV6, IPV6_NET),
        ("truncated", "2001:DB8:1234:FFFF:FFFF:FFFF:FFFF:FFFF", IPV6_NET),
        ("truncated", MAPPED, IPV4_NET),
        ("truncated", "::ffff:cb00:7109", IPV4_NET),
        ("truncated", SIXTOFOUR, SIXTOFOUR_NET),
        ("truncated", "fe80::1%eth0", "fe80::"),
        ("truncated", "not an address", None),
        ("none", IPV4, None),
        ("none", IPV6, None),
        ("none", MAPPED, None),
        ("Truncated", IPV4, None),  # an unknown mode (E007) stores nothing
    ],
)
def test_stored_ip(mode: str, ip: str, expected: str | None) -> None:
    with storing(mode):
        assert stored_ip(ip) == expected


@pytest.mark.parametrize("mode", ["full", "truncated", "none"])
@pytest.mark.parametrize("ip", ["", None])
def test_no_address_stays_none(mode: str, ip: str | None) -> None:
    with storing(mode):
        assert stored_ip(ip) is None


def test_setting_is_read_live(settings: Any) -> None:
    assert stored_ip(IPV4) == IPV4
    settings.SESSIONMGR = {"IP_ADDRESS_STORAGE": "truncated"}
    assert stored_ip(IPV4) == IPV4_NET


# Every place an address is stored or shown


@pytest.fixture
def admin_client(django_user_model: Any) -> Client:
    root = django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    return logged_in_client(root, ip="198.51.100.1")


def shown_in_json(client: Client, admin_client: Client, row: UserSession) -> set[Any]:
    own = client.get("/api/sessions/current/")
    staff = admin_client.get(f"/api/admin/sessions/{row.pk}/")
    assert own.status_code == staff.status_code == 200
    return {own.json()["ip_address"], staff.json()["ip_address"]}


def html_pages(client: Client, admin_client: Client, row: UserSession) -> list[str]:
    pages = [
        client.get("/account/sessions/"),
        admin_client.get("/admin/django_sessionmgr/usersession/", {"user": row.user_id}),
        admin_client.get(f"/admin/django_sessionmgr/usersession/{row.pk}/change/"),
        admin_client.get(f"/admin/auth/user/{row.user_id}/change/"),
    ]
    assert [page.status_code for page in pages] == [200] * 4
    # An IPv6 address carries <wbr> after its colons (where it may wrap): as read.
    return [page.content.decode().replace("<wbr>", "") for page in pages]


@pytest.mark.parametrize("engine", ["db", "signed_cookies"], indirect=True)
@pytest.mark.parametrize(
    "mode, ip, expected",
    [
        ("full", IPV4, IPV4),
        ("full", IPV6, IPV6),
        ("full", MAPPED, MAPPED_FULL),
        ("truncated", IPV4, IPV4_NET),
        ("truncated", IPV6, IPV6_NET),
        ("truncated", MAPPED, IPV4_NET),
        ("none", IPV4, None),
        ("none", IPV6, None),
        ("none", MAPPED, None),
    ],
)
def test_a_login_stores_and_shows_only_what_the_mode_allows(
    engine: str, user: Any, admin_client: Client, mode: str, ip: str, expected: str | None
) -> None:
    with storing(mode):
        client = logged_in_client(user, ip=ip)
        row = row_of(client)

        assert row.ip_address == expected
        assert shown_in_json(client, admin_client, row) == {expected}
        for page in html_pages(client, admin_client, row):
            if expected:
                assert expected in page
            if expected != ip:
                assert ip not in page


@pytest.mark.parametrize(
    "mode, expected", [("full", IPV4), ("truncated", IPV4_NET), ("none", None)]
)
def test_rows_stored_before_the_setting_was_lowered_show_minimised(
    user: Any, admin_client: Client, mode: str, expected: str | None
) -> None:
    client = logged_in_client(user, ip=IPV4)  # stored in full

    with storing(mode):
        row = row_of(client)
        assert row.ip_address == IPV4
        assert shown_in_json(client, admin_client, row) == {expected}
        for page in html_pages(client, admin_client, row):
            assert (IPV4 in page) == (mode == "full")
            if expected:
                assert expected in page


@pytest.mark.parametrize("mode", ["truncated", "none"])
@pytest.mark.parametrize("ip", ["81.2.69.142", "::ffff:81.2.69.142"])
def test_geoip_still_locates_the_full_address(user: Any, settings: Any, mode: str, ip: str) -> None:
    settings.GEOIP_PATH = settings.GEOIP_TEST_PATH
    settings.SESSIONMGR = {"IP_ADDRESS_STORAGE": mode}

    row = row_of(logged_in_client(user, ip=ip))

    # 81.2.69.0 itself is not in the test database: London came from the full address.
    assert (row.location_city, row.location_country) == ("London", "GB")
    assert row.ip_address == ("81.2.69.0" if mode == "truncated" else None)


# Finding sessions by address


@pytest.fixture
def truncated_rows(user: Any, other_user: Any, django_user_model: Any) -> dict[str, UserSession]:
    """Logins from one /24, another /24 and one /48, and a row from before "truncated"."""
    dave = django_user_model.objects.create_user("dave", "dave@example.com", PASSWORD)
    old = row_of(logged_in_client(dave, ip="203.0.113.77"))
    with storing("truncated"):
        return {
            "alice": row_of(logged_in_client(user, ip=IPV4)),
            "bob": row_of(logged_in_client(other_user, ip="203.0.113.200")),
            "alice-v6": row_of(logged_in_client(user, ip=IPV6)),
            "old": old,
        }


def staff_ip_filter(client: Client, ip: str) -> Any:
    return client.get("/api/admin/sessions/", {"ip": ip})


def test_staff_api_ip_filter_matches_the_truncated_network(
    truncated_rows: dict[str, UserSession], admin_client: Client
) -> None:
    def found(ip: str) -> set[str]:
        response = staff_ip_filter(admin_client, ip)
        assert response.status_code == 200
        return {item["id"] for item in response.json()["results"]}

    rows = {name: str(row.pk) for name, row in truncated_rows.items()}
    with storing("truncated"):
        assert found(IPV4) == found("203.0.113.1") == found(MAPPED) == {rows["alice"], rows["bob"]}
        assert found("2001:db8:1234:ffff::1") == {rows["alice-v6"]}
        assert found("2001:db8:1235::9") == set()
        # The full address of a row not yet minimised is never matched: it is not shown.
        assert found("203.0.113.77") == found("203.0.113.0") - {rows["old"]}
        assert rows["old"] not in found("203.0.113.77")


def test_staff_api_ip_filter_without_stored_addresses_is_400(
    truncated_rows: dict[str, UserSession], admin_client: Client
) -> None:
    with storing("none"):
        response = staff_ip_filter(admin_client, IPV4)

    assert response.status_code == 400
    assert list(response.json()) == ["ip"]
    assert IPV4 not in response.content.decode()


def test_admin_search_matches_the_truncated_network(
    truncated_rows: dict[str, UserSession], admin_client: Client
) -> None:
    def found(term: str) -> set[Any]:
        response = admin_client.get("/admin/django_sessionmgr/usersession/", {"q": term})
        assert response.status_code == 200
        return {row.pk for row in response.context["cl"].result_list}

    rows = truncated_rows
    with storing("truncated"):
        assert found("203.0.113.1") == found(MAPPED) == {rows["alice"].pk, rows["bob"].pk}
        assert found("2001:db8:1234::42") == {rows["alice-v6"].pk}
        assert rows["old"].pk not in found("203.0.113.77")
        assert found("alice") == {rows["alice"].pk, rows["alice-v6"].pk}
    with storing("none"):
        assert found(IPV4) == set()
    assert found("203.0.113.77") == {rows["old"].pk}  # "full" finds the exact address again


# sessionmgr_prune --minimise-ips


def run(*args: str) -> str:
    out = StringIO()
    call_command("sessionmgr_prune", "--minimise-ips", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def stored(user: Any) -> dict[str, UserSession]:
    """Rows as the default ("full") stored them, one already minimal, one without an address."""
    addresses = {
        "ipv4": IPV4,
        "ipv6": IPV6,
        "mapped": MAPPED,
        "minimal": IPV4_NET,
        "absent": "",
    }
    return {
        name: row_of(logged_in_client(user, ip=ip or "not an address"))
        for name, ip in addresses.items()
    }


def addresses(rows: dict[str, UserSession]) -> dict[str, str | None]:
    values = dict(UserSession.objects.values_list("pk", "ip_address"))
    return {name: values[row.pk] for name, row in rows.items()}


def test_minimise_ips_truncates_stored_addresses(
    stored: dict[str, UserSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sessionmgr_prune, "BATCH_SIZE", 2)  # several batches
    before = addresses(stored)
    assert before["ipv4"] == IPV4 and before["absent"] is None

    with storing("truncated"):
        assert run("--dry-run") == (
            'Would truncate 3 IP address(es) (IP_ADDRESS_STORAGE is "truncated").\n'
        )
        assert addresses(stored) == before
        assert run() == 'Truncated 3 IP address(es) (IP_ADDRESS_STORAGE is "truncated").\n'
        assert run() == 'Truncated 0 IP address(es) (IP_ADDRESS_STORAGE is "truncated").\n'

    assert addresses(stored) == {
        "ipv4": IPV4_NET,
        "ipv6": IPV6_NET,
        "mapped": IPV4_NET,
        "minimal": IPV4_NET,
        "absent": None,
    }
    assert UserSession.objects.count() == len(stored)


def test_minimise_ips_to_none_removes_every_address(stored: dict[str, UserSession]) -> None:
    with storing("none"):
        assert run("--dry-run") == 'Would remove 4 IP address(es) (IP_ADDRESS_STORAGE is "none").\n'
        assert addresses(stored)["ipv6"] == IPV6
        assert run() == 'Removed 4 IP address(es) (IP_ADDRESS_STORAGE is "none").\n'

    assert set(addresses(stored).values()) == {None}
    assert UserSession.objects.count() == len(stored)


def test_minimise_ips_under_full_changes_nothing(stored: dict[str, UserSession]) -> None:
    before = addresses(stored)
    assert run() == 'IP_ADDRESS_STORAGE is "full": no address to change.\n'
    assert addresses(stored) == before


def test_minimise_ips_refuses_an_unknown_mode(stored: dict[str, UserSession]) -> None:
    before = addresses(stored)
    with storing("partial"), pytest.raises(CommandError, match=r"IP_ADDRESS_STORAGE.*'partial'"):
        run()
    assert addresses(stored) == before


def test_minimise_ips_does_not_combine_with_days(stored: dict[str, UserSession]) -> None:
    with storing("none"), pytest.raises(CommandError, match="--minimise-ips"):
        run("--days", "5")
    assert addresses(stored)["ipv4"] == IPV4
