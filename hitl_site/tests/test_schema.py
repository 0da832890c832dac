"""The OpenAPI schema and its Swagger UI are served, without credentials."""

import pytest
import yaml

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_served_without_credentials(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "hitl_site intake API"


def test_schema_has_the_refund_request_paths(schema):
    paths = schema["paths"]

    assert set(paths["/api/v1/refund-requests/"]) >= {"get", "post"}
    assert "get" in paths["/api/v1/refund-requests/{public_id}/"]


def test_schema_documents_the_idempotency_key_header(schema):
    post = schema["paths"]["/api/v1/refund-requests/"]["post"]

    headers = [p["name"] for p in post["parameters"] if p["in"] == "header"]
    assert "Idempotency-Key" in headers


def test_schema_documents_the_api_key_scheme(schema):
    scheme = schema["components"]["securitySchemes"]["IntegrationApiKey"]

    assert scheme == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": scheme["description"],
    }
    post = schema["paths"]["/api/v1/refund-requests/"]["post"]
    assert {"IntegrationApiKey": []} in post["security"]


def test_schema_intake_body_lists_the_required_fields(schema):
    body = schema["components"]["schemas"]["RefundRequestCreateRequest"]

    assert set(body["required"]) >= {"channel", "customer", "order", "message"}


def test_swagger_ui_is_served_from_local_static_files(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/schema/" in html
    assert "swagger-ui" in html
    assert "cdn.jsdelivr.net" not in html
