"""A sign-in from a new device sends ``new_device_signed_in`` and, with
``NOTIFY_NEW_DEVICE``, one email; nothing else ever fails or slows the login
beyond the mail backend's own timeout."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail, signing
from django.test import Client

from django_sessionmgr.models import UserSession
from django_sessionmgr.notifications import (
    DEVICE_COOKIE,
    DEVICE_COOKIE_SALT,
    account_tag,
    known_tags,
)
from django_sessionmgr.signals import new_device_signed_in
from tests.helpers import FIREFOX, IPHONE, PASSWORD, current_row_id, make_client

pytestmark = pytest.mark.django_db


CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
FIREFOX_NEWER = FIREFOX.replace("128.0", "131.0")


@pytest.fixture
def signals_sent() -> Iterator[list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        sent.append(kwargs)

    new_device_signed_in.connect(receiver, dispatch_uid="test_new_device")
    yield sent
    new_device_signed_in.disconnect(dispatch_uid="test_new_device")


SITE_URL = "https://accounts.example.com"


@pytest.fixture
def notify(settings: Any) -> None:
    settings.SESSIONMGR = {"NOTIFY_NEW_DEVICE": True, "SITE_URL": SITE_URL}


def sign_in(client: Client, user: Any, captured: Any) -> Any:
    """Log in through the real login view, running what waits for the commit."""
    with captured(execute=True):
        response = client.post(
            "/accounts/login/", {"username": user.get_username(), "password": PASSWORD}
        )
    assert response.status_code == 302, response.content
    return response


def test_first_sign_in_and_the_same_browser_again_send_nothing(
    user, notify, signals_sent, django_capture_on_commit_callbacks
):
    laptop = make_client()
    sign_in(laptop, user, django_capture_on_commit_callbacks)
    laptop.post("/accounts/logout/")
    sign_in(laptop, user, django_capture_on_commit_callbacks)

    assert signals_sent == [] and mail.outbox == []
    assert UserSession.objects.filter(user=user).count() == 2


def test_a_new_browser_gets_one_email_and_the_signal(
    engine, user, notify, signals_sent, django_capture_on_commit_callbacks, settings
):
    settings.GEOIP_PATH = str(settings.GEOIP_TEST_PATH)
    sign_in(make_client(), user, django_capture_on_commit_callbacks)
    phone = make_client(user_agent=CHROME_WINDOWS, ip="81.2.69.142")
    sign_in(phone, user, django_capture_on_commit_callbacks)

    row = UserSession.objects.get(pk=current_row_id(phone))
    assert [str(sent["session"].pk) for sent in signals_sent] == [str(row.pk)]
    assert signals_sent[0]["request"].path == "/accounts/login/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert message.subject == "New sign-in to your account"
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    for body in (message.body, html):
        assert "Chrome 120 on Windows" in body
        assert "London, GB" in body
        assert "81.2.69.142" in body
        assert f"{SITE_URL}/account/sessions/" in body
        assert str(row.created_at.year) in body
    assert f'href="{SITE_URL}/account/sessions/"' in html
    assert "<script" not in html


def test_the_email_honours_ip_address_storage(
    user, settings, signals_sent, django_capture_on_commit_callbacks
):
    settings.SESSIONMGR = {"NOTIFY_NEW_DEVICE": True, "IP_ADDRESS_STORAGE": "truncated"}
    sign_in(make_client(), user, django_capture_on_commit_callbacks)
    sign_in(
        make_client(user_agent=CHROME_WINDOWS, ip="198.51.100.77"),
        user,
        django_capture_on_commit_callbacks,
    )
    settings.SESSIONMGR = {"NOTIFY_NEW_DEVICE": True, "IP_ADDRESS_STORAGE": "none"}
    sign_in(
        make_client(user_agent=IPHONE, ip="198.51.100.78"), user, django_capture_on_commit_callbacks
    )

    truncated, none = mail.outbox
    for body in (truncated.body, truncated.alternatives[0][0]):
        assert "198.51.100.0" in body and "198.51.100.77" not in body
    for body in (none.body, none.alternatives[0][0]):
        assert "198.51.100" not in body and "Not recorded" in body


def test_no_cookie_but_the_same_fingerprint_sends_nothing(
    user, notify, signals_sent, django_capture_on_commit_callbacks
):
    sign_in(make_client(), user, django_capture_on_commit_callbacks)
    # Cookies cleared, and the browser updated since: the family still matches.
    sign_in(make_client(user_agent=FIREFOX_NEWER), user, django_capture_on_commit_callbacks)

    assert signals_sent == [] and mail.outbox == []


def test_a_browser_that_knows_another_account_only_is_new_to_this_one(
    user, other_user, notify, signals_sent, django_capture_on_commit_callbacks
):
    sign_in(make_client(), user, django_capture_on_commit_callbacks)
    shared = make_client()  # same fingerprint as alice's first browser
    sign_in(shared, other_user, django_capture_on_commit_callbacks)
    shared.post("/accounts/logout/")
    sign_in(shared, user, django_capture_on_commit_callbacks)

    assert [sent["session"].user for sent in signals_sent] == [user]
    assert len(mail.outbox) == 1


def test_with_the_setting_off_the_signal_fires_and_no_mail_goes(
    user, settings, signals_sent, django_capture_on_commit_callbacks
):
    settings.SESSIONMGR = {"NOTIFY_NEW_DEVICE": False}
    sign_in(make_client(), user, django_capture_on_commit_callbacks)
    sign_in(make_client(user_agent=IPHONE), user, django_capture_on_commit_callbacks)

    assert len(signals_sent) == 1 and mail.outbox == []


@pytest.fixture
def hanging_up_smtp_server() -> Iterator[int]:
    """A real socket that accepts SMTP connections and closes them at once."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_a_broken_smtp_server_never_fails_the_login(
    user, notify, settings, caplog, hanging_up_smtp_server, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", hanging_up_smtp_server
    settings.EMAIL_TIMEOUT = 2
    sign_in(make_client(), user, django_capture_on_commit_callbacks)
    phone = make_client(user_agent=IPHONE)

    with caplog.at_level(logging.WARNING, logger="django_sessionmgr"):
        sign_in(phone, user, django_capture_on_commit_callbacks)

    assert phone.get("/whoami/").json()["user"] == "alice"
    warnings = [r for r in caplog.records if r.name == "django_sessionmgr"]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert "new-device email" in warnings[0].getMessage()
    assert "SMTPServerDisconnected" in warnings[0].getMessage()


def test_a_closed_mail_port_never_fails_the_login(
    user, notify, settings, caplog, django_capture_on_commit_callbacks
):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    sign_in(make_client(), user, django_capture_on_commit_callbacks)

    with caplog.at_level(logging.WARNING, logger="django_sessionmgr"):
        sign_in(make_client(user_agent=IPHONE), user, django_capture_on_commit_callbacks)

    assert any(
        r.levelno == logging.WARNING and "new-device email" in r.getMessage()
        for r in caplog.records
    )


def test_the_device_cookie_is_httponly_lax_and_holds_no_personal_data(user, notify):
    client = make_client()
    response = client.post(
        "/accounts/login/", {"username": user.get_username(), "password": PASSWORD}
    )

    cookie = response.cookies[DEVICE_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["secure"] == ""  # plain http here; secure over https
    assert int(cookie["max-age"]) >= 365 * 24 * 60 * 60
    raw = cookie.value
    decoded = signing.loads(raw, salt=DEVICE_COOKIE_SALT)
    assert decoded == [account_tag(user.pk)]
    for personal in ("alice", "example.com"):
        assert personal not in raw and personal not in str(decoded)
    assert len(decoded[0]) == 20 and int(decoded[0], 16) != user.pk  # a keyed tag, not the id


def test_the_device_cookie_is_secure_over_https(user, notify):
    client = make_client()
    response = client.post(
        "/accounts/login/",
        {"username": user.get_username(), "password": PASSWORD},
        secure=True,
    )
    assert response.cookies[DEVICE_COOKIE]["secure"] is True


def test_requests_that_log_nobody_in_set_no_device_cookie(user):
    client = make_client()
    assert DEVICE_COOKIE not in client.get("/whoami/").cookies
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert DEVICE_COOKIE not in client.get("/whoami/").cookies
    assert (
        DEVICE_COOKIE
        not in client.post("/accounts/login/", {"username": "alice", "password": "wrong"}).cookies
    )


def test_a_forged_or_foreign_device_cookie_counts_as_none(rf, user):
    request = rf.get("/")
    request.COOKIES[DEVICE_COOKIE] = signing.dumps([account_tag(user.pk)], salt="other")
    assert known_tags(request) is None
    request.COOKIES[DEVICE_COOKIE] = "garbage"
    assert known_tags(request) is None
    request.COOKIES[DEVICE_COOKIE] = signing.dumps({"not": "a list"}, salt=DEVICE_COOKIE_SALT)
    assert known_tags(request) is None


def test_the_cookie_remembers_at_most_twenty_accounts(django_user_model, notify):
    client = make_client()
    users = [django_user_model.objects.create_user(f"u{n}", password=PASSWORD) for n in range(22)]
    for person in users:
        client.post("/accounts/login/", {"username": person.username, "password": PASSWORD})
    tags = signing.loads(client.cookies[DEVICE_COOKIE].value, salt=DEVICE_COOKIE_SALT)
    assert tags == [account_tag(person.pk) for person in users[-20:]]


@pytest.mark.django_db(transaction=True)
async def test_async_login_remembers_the_device(user, async_client, notify):
    response = await async_client.post(
        "/async-login/", {"username": user.get_username(), "password": PASSWORD}
    )
    assert response.status_code in {200, 302}
    assert DEVICE_COOKIE in response.cookies


def test_the_email_speaks_the_language_of_the_login(
    user, notify, settings, django_capture_on_commit_callbacks
):
    settings.LANGUAGE_CODE = "de"
    sign_in(make_client(), user, django_capture_on_commit_callbacks)
    sign_in(make_client(user_agent=IPHONE), user, django_capture_on_commit_callbacks)

    (message,) = mail.outbox
    assert message.subject == "Neue Anmeldung bei Ihrem Konto"
    assert "Wenn Sie das waren, ist nichts zu tun." in message.body
    assert "Sitzungen ansehen" in message.alternatives[0][0]


def test_the_task_queue_recipe_replaces_the_inline_email(
    user, notify, django_capture_on_commit_callbacks
):
    """docs/notifications.md: disconnect the app's receiver, queue plain strings."""
    from django_sessionmgr.notifications import email_on_new_device, new_device_email

    queued: list[tuple[Any, ...]] = []

    def queue_new_device_email(sender: Any, session: Any, request: Any, **kwargs: Any) -> None:
        message = new_device_email(session, request)
        assert message is not None
        queued.append((message.subject, message.body, message.alternatives[0][0], message.to))

    new_device_signed_in.disconnect(dispatch_uid="django_sessionmgr.email_on_new_device")
    new_device_signed_in.connect(queue_new_device_email, dispatch_uid="test_queue")
    try:
        sign_in(make_client(), user, django_capture_on_commit_callbacks)
        sign_in(make_client(user_agent=IPHONE), user, django_capture_on_commit_callbacks)
    finally:
        new_device_signed_in.disconnect(dispatch_uid="test_queue")
        new_device_signed_in.connect(
            email_on_new_device, dispatch_uid="django_sessionmgr.email_on_new_device"
        )

    assert mail.outbox == []
    ((subject, body, html, to),) = queued
    assert subject == "New sign-in to your account"
    assert to == ["alice@example.com"] and "iPhone" in body and "<html" in html


def test_a_user_without_an_email_address_gets_the_signal_only(
    django_user_model, notify, signals_sent, django_capture_on_commit_callbacks
):
    carol = django_user_model.objects.create_user("carol", password=PASSWORD)
    sign_in(make_client(), carol, django_capture_on_commit_callbacks)
    sign_in(make_client(user_agent=IPHONE), carol, django_capture_on_commit_callbacks)

    assert len(signals_sent) == 1 and mail.outbox == []


@pytest.mark.parametrize(
    ("earlier", "now", "new"),
    [
        ("Firefox 128", "Firefox 131", False),  # an update keeps the fingerprint
        ("Firefox", "Firefox 131", False),
        ("Firefox Focus 12", "Firefox 131", True),  # a longer name is another browser
        ("Firefox 128", "Firefox Focus 12", True),
        ("Opera Mini 4.1 beta 7", "Opera Mini 4.1 beta 9", False),
        ("C++ (x.y)* 1", "C++ (x.y)* 2", False),  # regex characters are literal
        ("Cxx (xxy)x 1", "C++ (x.y)* 2", True),
        ("Navegador ñ 3", "Navegador ñ 4", False),
    ],
)
def test_a_browser_is_known_by_its_name_without_the_version(
    rf: Any, user: Any, django_assert_num_queries: Any, earlier: str, now: str, new: bool
) -> None:
    """Without the device cookie, one query compares the fingerprint in the database."""
    from django.utils import timezone

    from django_sessionmgr.notifications import is_new_device

    def row(browser: str) -> UserSession:
        return UserSession.objects.create(
            user=user,
            device_browser=browser,
            device_os="Windows",
            device_family="Other",
            ip_address="203.0.113.9",
            expires_at=timezone.now(),
        )

    row(earlier)
    latest = row(now)
    with django_assert_num_queries(1):
        assert is_new_device(rf.get("/"), user, latest) is new


def _login_queries(user: Any, captured: Any) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    table = UserSession._meta.db_table
    sign_in(make_client(), user, captured)  # the account's first sign-in
    with CaptureQueriesContext(connection) as queries:
        sign_in(make_client(user_agent=IPHONE), user, captured)
    return [q["sql"] for q in queries if "EXISTS" in q["sql"].upper() and table in q["sql"]]


def test_with_no_one_listening_the_login_skips_the_check(
    user, settings, django_capture_on_commit_callbacks
):
    """Setting off and no receiver but the app's email: no query for a new device."""
    settings.SESSIONMGR = {"NOTIFY_NEW_DEVICE": False}
    assert _login_queries(user, django_capture_on_commit_callbacks) == []


def test_a_project_receiver_alone_turns_the_check_on(
    user, settings, signals_sent, django_capture_on_commit_callbacks
):
    settings.SESSIONMGR = {"NOTIFY_NEW_DEVICE": False}
    assert len(_login_queries(user, django_capture_on_commit_callbacks)) == 1
    assert len(signals_sent) == 1


def test_with_no_one_listening_no_device_cookie_is_set(user, settings):
    settings.SESSIONMGR = {"NOTIFY_NEW_DEVICE": False}
    response = make_client().post(
        "/accounts/login/", {"username": user.get_username(), "password": PASSWORD}
    )
    assert response.status_code == 302
    assert DEVICE_COOKIE not in response.cookies


# The notice cannot be switched off or shaped by whoever
# signs in with the password.


def test_no_cookie_and_a_new_address_is_a_new_device_whatever_the_user_agent(
    user, notify, signals_sent, django_capture_on_commit_callbacks
):
    # The user signs in with Chrome on Windows; the attacker sends a Chrome on
    # Windows user agent of another version, no device cookie, and a new address.
    sign_in(make_client(user_agent=CHROME_WINDOWS), user, django_capture_on_commit_callbacks)
    other_version = CHROME_WINDOWS.replace("120.0.0.0", "99.0.1.2")
    attacker = make_client(user_agent=other_version, ip="198.51.100.66")
    sign_in(attacker, user, django_capture_on_commit_callbacks)

    assert [str(sent["session"].pk) for sent in signals_sent] == [current_row_id(attacker)]
    assert len(mail.outbox) == 1


def test_no_cookie_the_same_fingerprint_and_a_known_network_is_known(
    user, settings, signals_sent, django_capture_on_commit_callbacks
):
    settings.SESSIONMGR = {
        "NOTIFY_NEW_DEVICE": True,
        "SITE_URL": SITE_URL,
        "IP_ADDRESS_STORAGE": "truncated",
    }
    sign_in(make_client(ip="198.51.100.7"), user, django_capture_on_commit_callbacks)
    # Cookies cleared, another address of the same network (as stored: /24).
    sign_in(make_client(ip="198.51.100.8"), user, django_capture_on_commit_callbacks)
    assert signals_sent == []
    sign_in(make_client(ip="192.0.2.8"), user, django_capture_on_commit_callbacks)
    assert len(signals_sent) == 1


def test_without_stored_addresses_every_cookieless_sign_in_is_new(
    user, settings, signals_sent, django_capture_on_commit_callbacks
):
    settings.SESSIONMGR = {"NOTIFY_NEW_DEVICE": True, "IP_ADDRESS_STORAGE": "none"}
    sign_in(make_client(), user, django_capture_on_commit_callbacks)
    sign_in(make_client(), user, django_capture_on_commit_callbacks)
    assert len(signals_sent) == 1


def test_the_link_never_comes_from_the_host_header(
    user, notify, settings, django_capture_on_commit_callbacks
):
    settings.ALLOWED_HOSTS = ["*"]  # common behind a load balancer
    sign_in(make_client(), user, django_capture_on_commit_callbacks)
    sign_in(
        make_client(user_agent=IPHONE, ip="198.51.100.66", HTTP_HOST="evil.example"),
        user,
        django_capture_on_commit_callbacks,
    )
    (message,) = mail.outbox
    for body in (message.body, message.alternatives[0][0]):
        assert "evil.example" not in body
        assert f"{SITE_URL}/account/sessions/" in body


def test_without_a_base_url_the_email_has_no_link(
    user, settings, django_capture_on_commit_callbacks
):
    settings.SESSIONMGR = {"NOTIFY_NEW_DEVICE": True}
    settings.ALLOWED_HOSTS = ["*"]
    sign_in(make_client(), user, django_capture_on_commit_callbacks)
    sign_in(
        make_client(user_agent=IPHONE, ip="198.51.100.66", HTTP_HOST="evil.example"),
        user,
        django_capture_on_commit_callbacks,
    )
    (message,) = mail.outbox
    for body in (message.body, message.alternatives[0][0]):
        assert "evil.example" not in body and "/account/sessions/" not in body
        assert "open the sessions page of your account" in body


def test_client_supplied_names_stay_out_of_the_subject(
    user, notify, django_capture_on_commit_callbacks
):
    sign_in(make_client(), user, django_capture_on_commit_callbacks)
    forged = "IT support - no action needed"
    sign_in(
        make_client(
            user_agent=CHROME_WINDOWS.replace("Windows NT 10.0; Win64; x64", "Linux; Android 14"),
            ip="198.51.100.66",
            HTTP_SEC_CH_UA_PLATFORM='"Android"',
            HTTP_SEC_CH_UA_MODEL=f'"{forged}"',
        ),
        user,
        django_capture_on_commit_callbacks,
    )
    (message,) = mail.outbox
    assert message.subject == "New sign-in to your account"
    for body in (message.body, message.alternatives[0][0]):
        # Named in the body, and marked as the device's own claim.
        assert forged in body
        assert "As reported by the device, which can claim any name." in body


@pytest.fixture
def sites_framework(settings: Any, sites_installed: None) -> Iterator[Any]:
    """django.contrib.sites installed, its table created, a current Site."""
    from django.contrib.sites.models import Site
    from django.db import connection

    with connection.schema_editor() as editor:
        editor.create_model(Site)
    try:
        site = Site.objects.create(domain="accounts.example.org", name="Example Accounts")
        settings.SITE_ID = site.pk
        Site.objects.clear_cache()
        yield site
    finally:
        Site.objects.clear_cache()
        with connection.schema_editor() as editor:
            editor.delete_model(Site)


@pytest.mark.django_db(transaction=True)
def test_without_site_url_the_link_comes_from_the_sites_framework(
    user, settings, sites_framework, django_capture_on_commit_callbacks
):
    settings.SESSIONMGR = {"NOTIFY_NEW_DEVICE": True}
    settings.ALLOWED_HOSTS = ["*"]
    sign_in(make_client(), user, django_capture_on_commit_callbacks)
    sign_in(
        make_client(user_agent=IPHONE, ip="198.51.100.66", HTTP_HOST="evil.example"),
        user,
        django_capture_on_commit_callbacks,
    )
    (message,) = mail.outbox
    for body in (message.body, message.alternatives[0][0]):
        assert "https://accounts.example.org/account/sessions/" in body
        assert "evil.example" not in body
