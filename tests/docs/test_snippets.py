"""The docs' code is true to the code.

- Every ```python block in README.md, CONTRIBUTING.md and docs/ compiles.
- A block right after a ``<!-- test: NAME -->`` line runs, and ``CHECKS[NAME]``
  then checks that it does what the page says, against the test settings.
- Every ``manage.py`` command the docs name exists; the system check ids listed
  in the settings page are exactly those the code can raise; the session JSON
  shown in the API page has exactly the serializer's fields; and the committed
  OpenAPI schema that the API page is drawn from matches the views.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import logging
import re
import sys
import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.apps import apps
from django.contrib import admin
from django.core import mail
from django.core.cache import cache
from django.core.management import get_commands
from django.test import Client, RequestFactory, TestCase, override_settings
from django.urls import include, path, resolve, reverse
from django.utils.module_loading import import_string

from django_sessionmgr import checks
from django_sessionmgr.api.serializers import UserSessionSerializer
from django_sessionmgr.api.views import UserSessionViewSet
from django_sessionmgr.conf import DEFAULTS, app_settings
from django_sessionmgr.models import UserSession
from django_sessionmgr.signals import session_anomaly, session_revoked, session_started

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").rglob("*.md")],
    key=str,
)
FENCE = re.compile(r"^```(\w*)\s*$")
MARKER = re.compile(r"^<!-- test: ([\w-]+) -->$")
#: Before an example answer of the API (tests/docs/test_facts.py checks it).
ERROR_MARKER = re.compile(r"^<!-- error: ([\w-]+) -->$")
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    language: str
    code: str
    test: str | None
    error: str | None = None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> Iterator[Block]:
    """The fenced blocks of a Markdown page, with the test marker before each."""
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        start = index
        index += 1
        while index < len(lines) and lines[index].strip() != "```":
            index += 1
        marker = MARKER.match(lines[start - 1]) if start else None
        error = ERROR_MARKER.match(lines[start - 1]) if start else None
        yield Block(
            page,
            start + 1,
            opening.group(1),
            "\n".join(lines[start + 1 : index]),
            marker.group(1) if marker else None,
            error.group(1) if error else None,
        )
        index += 1


ALL_BLOCKS = [block for page in PAGES if page.exists() for block in blocks(page)]
PYTHON_BLOCKS = [block for block in ALL_BLOCKS if block.language == "python"]
TESTED_BLOCKS = [block for block in ALL_BLOCKS if block.test and block.language != "django"]
#: Marked template blocks: each has its own test below.
TEMPLATE_BLOCKS = {block.test: block for block in ALL_BLOCKS if block.language == "django"}


def run(block: Block, **names: Any) -> dict[str, Any]:
    """Run a snippet as its own module; ``names`` are what the page leaves implied."""
    namespace: dict[str, Any] = {"__name__": f"docs_snippet_{block.test}", **names}
    exec(compile(block.code, block.where, "exec"), namespace)
    return namespace


def sign_in(user: Any, user_agent: str = IPHONE) -> Client:
    """A client signed in through the real login view (``force_login`` sends no headers)."""
    client = Client(headers={"user-agent": user_agent})
    response = client.post("/accounts/login/", {"username": user.username, "password": "pw"})
    assert response.status_code == 302
    return client


def as_urlconf(name: str, urlpatterns: list[Any]) -> str:
    """Register ``urlpatterns`` as an importable URLconf module; return its name."""
    module = types.ModuleType(name)
    module.urlpatterns = urlpatterns  # type: ignore[attr-defined]
    sys.modules[name] = module
    return name


# The checks, one per marked snippet -----------------------------------------


def check_install(namespace: dict[str, Any]) -> None:
    """The install snippet, as the README shows it, wires up a working app."""
    for app in namespace["INSTALLED_APPS"]:
        assert apps.is_installed(app), app
    middleware = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        *namespace["MIDDLEWARE"],
    ]
    with override_settings(MIDDLEWARE=middleware):
        assert checks.check_middleware() == []
    urlconf = as_urlconf("docs_snippet_install_urls", namespace["urlpatterns"])
    with override_settings(ROOT_URLCONF=urlconf):
        assert reverse("sessionmgr:list") == "/account/sessions/"
        assert resolve("/api/sessions/").func.cls is UserSessionViewSet  # type: ignore[attr-defined]
        assert resolve("/admin/").namespace == "admin"


def check_settings_defaults(namespace: dict[str, Any]) -> None:
    """The settings page lists every key, with the default the code uses."""
    assert namespace["SESSIONMGR"] == DEFAULTS
    with override_settings(SESSIONMGR=namespace["SESSIONMGR"]):
        assert checks.check_settings() == []


def check_settings_example(namespace: dict[str, Any]) -> None:
    with override_settings(SESSIONMGR=namespace["SESSIONMGR"]):
        assert checks.check_settings() == []
        assert app_settings.ACTIVITY_UPDATE_INTERVAL == 300
        assert app_settings.TRUSTED_PROXY_COUNT == 1


def check_signal_email(namespace: dict[str, Any]) -> None:
    """The sign-out alert sends one email per user, counting their sessions."""
    from django.contrib.auth import get_user_model

    try:
        users = get_user_model().objects
        alice = users.create_user("alice", "alice@example.com", "pw")
        bob = users.create_user("bob", "", "pw")
        for person in (alice, alice, bob):
            sign_in(person)
        revoked = UserSession.objects.filter(user__in=[alice, bob]).revoke(reason="stolen laptop")
        assert revoked == 3
        assert [(message.to, message.body) for message in mail.outbox] == [
            (["alice@example.com"], "2 of your sessions were signed out (stolen laptop).")
        ]
    finally:
        assert session_revoked.disconnect(dispatch_uid="myapp.sign_out_alert")


def check_signal_started(namespace: dict[str, Any]) -> None:
    from django.contrib.auth import get_user_model

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    audit = logging.getLogger("myapp.audit")
    audit.addHandler(handler)
    audit.setLevel(logging.INFO)
    try:
        alice = get_user_model().objects.create_user("alice", "alice@example.com", "pw")
        sign_in(alice)
        row = UserSession.objects.get(user=alice)
        assert [record.getMessage() for record in records] == [
            f"alice signed in from {row.device_summary}"
        ]
    finally:
        audit.removeHandler(handler)
        assert session_started.disconnect(dispatch_uid="myapp.log_session_started")


def check_throttle_rates(namespace: dict[str, Any]) -> None:
    """With the documented rates, the eleventh revoke in a minute is refused."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    alice = get_user_model().objects.create_user("alice", "alice@example.com", "pw")
    client = sign_in(alice)
    rest_framework = {**getattr(settings, "REST_FRAMEWORK", {}), **namespace["REST_FRAMEWORK"]}
    cache.clear()
    try:
        with override_settings(REST_FRAMEWORK=rest_framework):
            answers = [client.post("/api/sessions/revoke-others/").status_code for _ in range(11)]
    finally:
        cache.clear()
    assert answers == [200] * 10 + [429]


def check_override_viewset(namespace: dict[str, Any]) -> None:
    """The subclassed viewset drops a field and hides bots, as the page says."""
    from django.contrib.auth import get_user_model

    alice = get_user_model().objects.create_user("alice", "alice@example.com", "pw")
    sign_in(alice, GOOGLEBOT)
    client = sign_in(alice, IPHONE)
    assert UserSession.objects.filter(user=alice).count() == 2
    urlconf = as_urlconf("docs_snippet_override_urls", namespace["urlpatterns"])
    with override_settings(ROOT_URLCONF=urlconf):
        response = client.get("/api/sessions/")
    assert response.status_code == 200
    [session] = response.json()["results"]
    assert session["device"]["type"] == "mobile"
    assert "user_agent" not in session
    assert "id" in session


def check_openapi_settings(namespace: dict[str, Any]) -> None:
    from drf_spectacular.settings import SPECTACULAR_DEFAULTS

    for app in namespace["INSTALLED_APPS"]:
        assert importlib.util.find_spec(app) is not None, app
    import_string(namespace["REST_FRAMEWORK"]["DEFAULT_SCHEMA_CLASS"])
    assert set(namespace["SPECTACULAR_SETTINGS"]) <= set(SPECTACULAR_DEFAULTS)


def check_openapi_urls(namespace: dict[str, Any]) -> None:
    """The schema view, mounted as shown, documents the app's endpoints."""
    urlpatterns = [
        *namespace["urlpatterns"],
        path("api/", include("django_sessionmgr.api.urls")),
    ]
    urlconf = as_urlconf("docs_snippet_openapi_urls", urlpatterns)
    with override_settings(ROOT_URLCONF=urlconf):
        response = Client().get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/sessions/revoke-others/:" in response.content


def check_client_hints(namespace: dict[str, Any]) -> None:
    [login] = namespace["urlpatterns"]
    response = login.callback(RequestFactory().get("/accounts/login/"))
    assert response.headers["Accept-CH"] == "Sec-CH-UA-Platform-Version, Sec-CH-UA-Model"


def check_redis_cache(namespace: dict[str, Any]) -> None:
    """The Redis snippet names a shared cache for the sessions: no W002, unlike
    the same engine on the default local-memory cache."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    names = ("CACHES", "SESSION_ENGINE", "SESSION_CACHE_ALIAS")
    with override_settings(**{name: namespace[name] for name in names}):
        assert isinstance(caches[namespace["SESSION_CACHE_ALIAS"]], RedisCache)
        assert checks.check_session_cache() == []
    with override_settings(SESSION_ENGINE=namespace["SESSION_ENGINE"]):
        assert [m.id for m in checks.check_session_cache()] == ["django_sessionmgr.W002"]


def check_signal_anomaly_webhook(namespace: dict[str, Any]) -> None:
    """A sign-in from a new country posts one alert to the webhook, over real HTTP."""
    from django.contrib.auth import get_user_model

    posted: list[dict[str, Any]] = []

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/hook"
    try:
        with override_settings(GEOIP_PATH=str(ROOT / "tests/data/geoip"), SECURITY_WEBHOOK_URL=url):
            get_user_model().objects.create_user("alice", "alice@example.com", "pw")
            for ip in ("81.2.69.142", "175.16.199.1"):  # London, then Changchun
                with TestCase.captureOnCommitCallbacks(execute=True):
                    Client(REMOTE_ADDR=ip).post(
                        "/accounts/login/", {"username": "alice", "password": "pw"}
                    )
        row = UserSession.objects.get(location_country="CN")
        assert posted == [
            {"text": f"alice's session {row.pk} signed in from a new country (Changchun, CN)."}
        ]
    finally:
        server.shutdown()
        server.server_close()
        assert session_anomaly.disconnect(dispatch_uid="myapp.anomaly_alert")


CHECKS: dict[str, tuple[Callable[[dict[str, Any]], None], dict[str, Any]]] = {
    "install": (check_install, {"path": path, "include": include, "admin": admin}),
    "settings-defaults": (check_settings_defaults, {}),
    "settings-example": (check_settings_example, {}),
    "signal-email": (check_signal_email, {}),
    "signal-started": (check_signal_started, {}),
    "signal-anomaly-webhook": (check_signal_anomaly_webhook, {}),
    "throttle-rates": (check_throttle_rates, {}),
    "override-viewset": (check_override_viewset, {}),
    "openapi-settings": (check_openapi_settings, {}),
    "openapi-urls": (check_openapi_urls, {}),
    "client-hints": (check_client_hints, {}),
    "redis-cache": (check_redis_cache, {}),
}


# The tests -------------------------------------------------------------------


def test_the_pages_have_python_to_check():
    assert len(PYTHON_BLOCKS) >= 10
    assert {block.test for block in TESTED_BLOCKS} == set(CHECKS)


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda block: block.where)
def test_every_python_block_compiles(block: Block):
    ast.parse(block.code, filename=block.where)


@pytest.mark.parametrize("block", TESTED_BLOCKS, ids=lambda block: f"{block.test}@{block.where}")
@pytest.mark.django_db
def test_runnable_snippets_do_what_the_page_says(block: Block):
    assert block.language == "python", f"{block.where}: a test marker before a non-Python block"
    check, names = CHECKS[block.test]  # type: ignore[index]
    check(run(block, **names))


def test_every_command_named_exists():
    named: set[str] = set()
    for page in PAGES:
        if page.exists():
            named |= set(re.findall(r"manage\.py (\w+)", page.read_text(encoding="utf-8")))
    commands_page = (ROOT / "docs/commands.md").read_text(encoding="utf-8")
    named |= set(re.findall(r"^## (\w+)$", commands_page, re.MULTILINE))
    assert {"sessionmgr_adopt", "sessionmgr_revoke", "sessionmgr_prune"} <= named
    assert named - set(get_commands()) == set()


def test_the_check_ids_listed_are_those_the_code_raises():
    listed = set(
        re.findall(r"`(django_sessionmgr\.[EW]\d{3})`", (ROOT / "docs/settings.md").read_text())
    )
    raised = set(
        re.findall(r'id="(django_sessionmgr\.[EW]\d{3})"', Path(checks.__file__).read_text())
    )
    assert listed == raised


def test_the_session_json_shown_has_the_serializer_fields():
    [shown] = [
        json.loads(block.code)
        for block in ALL_BLOCKS
        if block.page.name == "api.md" and block.language == "json" and not block.error
    ]
    assert list(shown) == UserSessionSerializer.Meta.fields


def test_the_committed_openapi_schema_matches_the_views():
    """docs/api.md draws its tables from docs/openapi.yaml: `make docs` rewrites it."""
    generators = pytest.importorskip("drf_spectacular.generators")
    committed = yaml.safe_load((ROOT / "docs/openapi.yaml").read_text(encoding="utf-8"))
    fresh = generators.SchemaGenerator(urlconf="tests.urls").get_schema(request=None, public=True)
    ours = {name: item for name, item in committed["paths"].items() if name.startswith("/api/")}
    ours.pop("/api/schema/", None)
    assert json.loads(json.dumps(fresh["paths"])) == ours
    assert (
        json.loads(json.dumps(fresh["components"]["schemas"]))
        == (committed["components"]["schemas"])
    )


def test_the_readme_stays_a_front_page():
    """At most 150 lines: what, why, the two commands, install, links; the rest is in docs/."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    assert "make demo\nmake test\n" in readme
    linked = set(re.findall(r"\]\(docs/([\w/-]+\.md)", readme))
    pages = {str(page.relative_to(ROOT / "docs")) for page in (ROOT / "docs").rglob("*.md")}
    assert linked <= pages
    assert {"quickstart.md", "install.md", "settings.md", "api.md", "commands.md"} <= linked


@pytest.mark.django_db
def test_the_base_override_shown_puts_the_pages_in_the_sites_layout(
    tmp_path, settings, client, django_user_model
):
    """docs/pages.md's ``django_sessionmgr/base.html``, found through ``DIRS``,
    puts every page inside the site's own base template."""
    block = TEMPLATE_BLOCKS["base-override"]
    (tmp_path / "django_sessionmgr").mkdir()
    (tmp_path / "django_sessionmgr" / "base.html").write_text(block.code, encoding="utf-8")
    (tmp_path / "base.html").write_text(
        "<!DOCTYPE html><html><head>{% block extra_head %}{% endblock %}</head>"
        "<body><header>The site</header>{% block content %}{% endblock %}</body></html>",
        encoding="utf-8",
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    user = django_user_model.objects.create_user("alice", password="pw")
    client.force_login(user)

    for url in ("/account/sessions/", "/account/sessions/revoke-others/confirm/"):
        html = client.get(url).content.decode()
        assert html.count("<html") == 1, url
        assert "<header>The site</header>" in html, url
        assert '<main class="sessionmgr">' in html, url
        assert "django_sessionmgr/sessionmgr.css" in html, url
