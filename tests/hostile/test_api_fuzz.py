"""Schemathesis against the app's own OpenAPI schema (drf-spectacular).

Every self-service and staff operation gets a bounded number of generated
requests, signed in as a normal user and as staff, through the real WSGI
handler. The checks: no 5xx, and every status code, content type, header and
body conforms to the schema. Findings are fixed in the app, never by loosening
the schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="the fuzz tests need schemathesis")
pytest.importorskip("drf_spectacular", reason="the fuzz tests need drf-spectacular")

from django.contrib.auth.models import Permission  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.signals import request_finished, request_started  # noqa: E402
from django.db import close_old_connections  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from django_sessionmgr.models import UserSession  # noqa: E402
from tests.helpers import PASSWORD, logged_in_client  # noqa: E402

pytestmark = [pytest.mark.fuzz, pytest.mark.slow, pytest.mark.django_db]

#: Generated requests per operation and role; keeps the whole run to minutes.
MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def wsgi_app() -> Iterator[Callable[..., Any]]:
    """Django's WSGI handler, kept off the connection-closing signals.

    Requests run inside the test's transaction, as Django's test client runs
    them; closing the connection at the end of a request would end it.
    """
    handler = WSGIHandler()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        # Again on every call: the test client reconnects them after each of its requests.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        return handler(environ, start_response)

    yield app
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(wsgi_app: Callable[..., Any]) -> Any:
    from drf_spectacular.generators import SchemaGenerator

    raw = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = wsgi_app
    return schema


@pytest.fixture
def fuzzer(role: str, django_user_model: Any) -> Any:
    user = django_user_model.objects.create_user(f"fuzz-{role}", password=PASSWORD)
    if role == "staff":
        user.is_staff = True
        user.save()
        user.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="django_sessionmgr",
                codename__in=["view_usersession", "revoke_usersession"],
            )
        )
    return user


@pytest.fixture
def sign_in(fuzzer: Any) -> Callable[[], dict[str, Any]]:
    """Cookies and CSRF header of a fresh session, for each generated request.

    A fuzzed revoke may end the session it was sent from; the next request
    still needs a signed-in user to reach the code behind the permission check.
    """

    def credentials() -> dict[str, Any]:
        client = logged_in_client(fuzzer)
        client.get("/accounts/login/")
        session, csrf = client.cookies["sessionid"].value, client.cookies["csrftoken"].value
        return {
            "cookies": {"sessionid": session, "csrftoken": csrf},
            "headers": {"X-CSRFToken": csrf},
        }

    return credentials


@pytest.fixture
def aim(fuzzer: Any, django_user_model: Any) -> Callable[[Any], Any]:
    """Point a generated case at sessions that exist, so it gets past the 404s.

    Self-service operations aim at the fuzzer's own other session, staff
    operations at another user's.
    """
    target = django_user_model.objects.create_user("fuzz-target", password=PASSWORD)
    ipad = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)"
    logged_in_client(fuzzer, user_agent=ipad)
    logged_in_client(target, user_agent=ipad)
    own = [str(UserSession.objects.get(user=fuzzer).pk)]
    other = [str(UserSession.objects.get(user=target).pk)]

    def aimed(case: Any) -> Any:
        staff = case.operation.path.startswith("/api/admin/")
        ids = other if staff else own
        if case.path_parameters and "id" in case.path_parameters:
            case.path_parameters["id"] = ids[0]
        if isinstance(case.body, dict):
            if "ids" in case.body:
                case.body["ids"] = ids
            if "users" in case.body:
                case.body["users"] = [target.pk]
        return case

    return aimed


def fuzz(strategy: Any, credentials: Callable[[], dict[str, Any]]) -> set[int]:
    """Run the generated cases of one operation; return the status codes seen."""
    seen: set[int] = set()

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def call(case: Any) -> None:
        seen.add(case.call_and_validate(checks=CHECKS, **credentials()).status_code)

    call()
    return seen


@pytest.mark.parametrize("role", ["user", "staff"])
def test_api_conforms_to_its_schema(role, api_schema, sign_in, aim):
    failures: dict[str, BaseException] = {}
    statuses: dict[str, set[int]] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        generated = operation.as_strategy()
        try:
            statuses[operation.label] = fuzz(st.one_of(generated, generated.map(aim)), sign_in)
        except Exception as error:
            failures[operation.label] = error
    assert not failures, "\n\n".join(f"{label}: {error}" for label, error in failures.items())

    # The requests reached the code behind the permission checks, and only where allowed.
    succeeded = {label for label, codes in statuses.items() if min(codes) < 300}
    staff_operations = {label for label in statuses if "/api/admin/" in label}
    if role == "staff":
        assert succeeded == set(statuses)
    else:
        assert succeeded == set(statuses) - staff_operations
        assert all(statuses[label] == {403} for label in staff_operations)
