"""The OpenAPI 3 schema and the interactive docs."""

import pytest
from django.contrib.staticfiles import finders
from drf_spectacular.validation import validate_schema

from cases.api.urls import router

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # raises on an invalid document


def test_every_route_and_method_is_in_the_schema(schema):
    paths = schema["paths"]
    for prefix, _viewset, _basename in router.registry:
        assert any(path.startswith(f"/api/{prefix}/") for path in paths), prefix
    assert set(paths["/api/evidence/{id}/"]) == {"get"}  # never PUT or PATCH
    assert set(paths["/api/cases/{case_id}/accounts/"]) == {"get", "post"}
    assert set(paths["/api/cases/{case_id}/accounts/{account_id}/"]) == {"delete"}


def test_every_operation_documents_the_error_shape(schema):
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {"error"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status in ("401", "403", "429"):
                assert responses[status]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"
                }, (method, path, status)
            if method in ("post", "put", "patch"):
                assert {"400", "409", "413", "415"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)


def test_security_schemes_are_the_token_and_the_session(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["tokenAuth"]["description"],
    }
    assert "cookieAuth" in schemes


def test_list_parameters_carry_their_bounds(schema):
    params = {p["name"]: p for p in schema["paths"]["/api/accounts/"]["get"]["parameters"]}
    assert params["team"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
    assert params["page_size"]["schema"]["minimum"] == 1
    assert params["search"]["schema"]["maxLength"] == 200
    assert set(params["platform"]["schema"]["enum"]) >= {"x", "facebook", "telegram", "other"}


def test_the_docs_page_needs_nothing_inline_and_nothing_from_another_host(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    csp = page["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<style" not in html and "<script>" not in html
    assert "https://" not in html and "http://" not in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{name}"), name
