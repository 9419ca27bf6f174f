"""The OpenAPI schema of the self-service API (drf-spectacular, an optional extra)."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import pytest
from django.contrib.staticfiles import finders

from django_sessionmgr.api import schema as schema_shim
from tests.api.test_self_service import SESSION_FIELDS


@pytest.fixture
def openapi() -> dict[str, Any]:
    # tests/settings.py selects drf-spectacular's AutoSchema when it is installed.
    pytest.importorskip("drf_spectacular", reason="the openapi extra is not installed")
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    GENERATOR_STATS.reset()
    generated: dict[str, Any] = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(generated)
    problems = [
        message
        for message in [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
        if "UserSessionViewSet" in message and "Staff" not in message
    ]
    GENERATOR_STATS.reset()
    assert problems == []
    return generated


def component(openapi: dict[str, Any], field: dict[str, Any]) -> dict[str, Any]:
    """The component a property refers to, directly or through ``allOf``."""
    ref = field["$ref"] if "$ref" in field else field["allOf"][0]["$ref"]
    found: dict[str, Any] = openapi["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return found


def responses(openapi: dict[str, Any], path: str, method: str) -> set[str]:
    return set(openapi["paths"][path][method]["responses"])


def test_every_endpoint_documents_its_answers(openapi):
    assert responses(openapi, "/api/sessions/", "get") == {"200", "400", "401", "403"}
    assert responses(openapi, "/api/sessions/current/", "get") == {"200", "401", "403", "404"}
    assert responses(openapi, "/api/sessions/{id}/", "get") == {"200", "401", "403", "404"}
    assert responses(openapi, "/api/sessions/{id}/", "delete") == {
        "204",
        "400",
        "401",
        "403",
        "404",
    }
    assert responses(openapi, "/api/sessions/revoke-others/", "post") == {"200", "401", "403"}
    assert set(openapi["paths"]["/api/sessions/{id}/"]) == {"get", "delete", "patch"}
    assert set(openapi["paths"]["/api/sessions/revoke-others/"]) == {"post"}


def test_list_parameters_and_page(openapi):
    operation = openapi["paths"]["/api/sessions/"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    page_schema = component(
        openapi, operation["responses"]["200"]["content"]["application/json"]["schema"]
    )

    assert set(parameters) == {"limit", "offset", "status"}
    assert set(parameters["status"]["schema"]["enum"]) == {
        "active",
        "ended",
        "expired",
        "revoked",
        "all",
    }
    assert parameters["status"]["schema"]["default"] == "active"
    assert set(page_schema["properties"]) == {"count", "next", "previous", "results"}


def test_session_schema_matches_the_contract(openapi):
    session = openapi["components"]["schemas"]["UserSession"]
    device = component(openapi, session["properties"]["device"])
    location = component(openapi, session["properties"]["location"])

    assert set(session["properties"]) == SESSION_FIELDS
    assert all(field["readOnly"] for field in session["properties"].values())
    assert "session_key" not in str(openapi)
    assert set(component(openapi, session["properties"]["status"])["enum"]) == {
        "active",
        "ended",
        "expired",
        "revoked",
    }
    assert set(device["properties"]) == {"browser", "os", "device", "type"}
    assert set(component(openapi, device["properties"]["type"])["enum"]) == {
        "desktop",
        "mobile",
        "tablet",
        "bot",
        "other",
    }
    assert session["properties"]["location"]["nullable"] is True
    assert set(location["properties"]) == {"city", "country"}


def test_revoke_others_answer_and_current_session_error(openapi):
    revoke_others = openapi["paths"]["/api/sessions/revoke-others/"]["post"]
    counted = component(
        openapi, revoke_others["responses"]["200"]["content"]["application/json"]["schema"]
    )
    refused = openapi["paths"]["/api/sessions/{id}/"]["delete"]["responses"]["400"]

    body = component(openapi, revoke_others["requestBody"]["content"]["application/json"]["schema"])
    assert set(body["properties"]) == {"password"}  # REAUTH_FOR_REVOKE_OTHERS
    assert "required" not in body
    assert "reauthentication_required" in revoke_others["responses"]["403"]["description"]
    assert set(counted["properties"]) == {"revoked"}
    assert "current_session" in refused["description"]


@pytest.fixture
def shim_without_spectacular(monkeypatch):
    """The schema shim as it loads when drf-spectacular is not installed."""
    for name in [
        m for m in sys.modules if m == "drf_spectacular" or m.startswith("drf_spectacular.")
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "drf_spectacular", None)  # makes the import fail
    yield importlib.reload(schema_shim)
    monkeypatch.undo()
    importlib.reload(schema_shim)


def test_without_drf_spectacular_the_annotations_change_nothing(shim_without_spectacular):
    shim = shim_without_spectacular

    def view() -> str:
        return "unchanged"

    decorated = shim.extend_schema(summary="x", responses={200: shim.OpenApiResponse()})(view)
    viewset = shim.extend_schema_view(list=shim.extend_schema())(view)
    parameter = shim.OpenApiParameter("status", shim.OpenApiTypes.STR, shim.OpenApiParameter.QUERY)
    error = shim.inline_serializer(name="Error", fields={})

    assert decorated is view and viewset is view
    assert shim.extend_schema_field(object())(view) is view
    assert shim.extend_schema_serializer(many=False)(view) is view
    assert parameter.args == ("status", None, "query")
    assert shim.OpenApiExample("name").args == ("name",)
    assert type(error).__name__ == "Error"


def test_with_drf_spectacular_the_annotations_are_the_real_ones():
    drf_spectacular_utils = pytest.importorskip("drf_spectacular.utils")

    assert schema_shim.extend_schema is drf_spectacular_utils.extend_schema


@pytest.fixture
def example_project_docs(settings):
    """The example project's URLs and its drf-spectacular settings, over the test settings."""
    pytest.importorskip("drf_spectacular_sidecar", reason="the demo extra is not installed")
    from drf_spectacular.settings import patched_settings

    from example_project import settings as example

    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, *example.INSTALLED_APPS[-2:]]
    # Its URLs mount the docs only when drf-spectacular is installed: import them afresh.
    sys.modules.pop("example_project.urls", None)
    settings.ROOT_URLCONF = "example_project.urls"
    # drf-spectacular reads its settings once, at import.
    with patched_settings(example.SPECTACULAR_SETTINGS):
        yield
    sys.modules.pop("example_project.urls", None)


@pytest.mark.django_db
def test_example_project_serves_the_schema_and_offline_docs(example_project_docs, client):
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert b"/api/sessions/revoke-others/:" in schema.content
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    # runserver serves it from the sidecar app's static files.
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
