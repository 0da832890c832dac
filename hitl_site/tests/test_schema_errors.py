"""The schema declares each operation's error responses as the ``Error`` component, and the
errors the API really sends validate against what the schema declares."""

import uuid

import pytest
from django.core.cache import cache
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft202012Validator
from rest_framework.test import APIClient

from audit.services import Actor
from refunds.models import IntegrationAPIKey
from refunds.services import integration_api_key_revoke
from refunds.tests.factories import OrderFactory, RefundRequestFactory, intake_payload

pytestmark = pytest.mark.django_db

LIST = "/api/v1/refund-requests/"
DETAIL = "/api/v1/refund-requests/{public_id}/"
REPLIES = "/api/v1/refund-requests/{public_id}/replies/"
FEEDBACK = "/api/v1/refund-requests/{public_id}/feedback/"
ERROR_REF = "#/components/schemas/Error"

# What each operation can answer with besides success, and why (see hitl_site/openapi.py).
EXPECTED_ERRORS = {
    # invalid filter value; invalid cursor
    (LIST, "get"): {400, 401, 403, 404, 429},
    # invalid body; Idempotency-Key reused with another body
    (LIST, "post"): {400, 401, 403, 422, 429},
    # unknown or another integration's request
    (DETAIL, "get"): {401, 403, 404, 429},
    # invalid body; unknown request; not awaiting the customer
    (REPLIES, "post"): {400, 401, 403, 404, 409, 429},
    # invalid score; unknown request; not final yet, or feedback given with another body
    (FEEDBACK, "post"): {400, 401, 403, 404, 409, 429},
}


@pytest.fixture(scope="module")
def document() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture(autouse=True)
def _clear_throttle_buckets():
    cache.clear()
    yield
    cache.clear()


def operations(document):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield (path, method), operation


def error_statuses(operation) -> set[int]:
    return {int(status) for status in operation["responses"] if status.startswith("4")}


def validator_for(document, schema: dict) -> Draft202012Validator:
    """Validates against ``schema``, resolving its refs in the document's components."""
    return Draft202012Validator({**schema, "components": document["components"]})


# --- The generated schema -----------------------------------------------------------------


def test_every_operation_is_in_the_expected_errors_table(document):
    assert {key for key, _ in operations(document)} == set(EXPECTED_ERRORS)


@pytest.mark.parametrize(("path", "method"), sorted(EXPECTED_ERRORS))
def test_every_operation_declares_its_error_responses_as_the_error_component(
    document, path, method
):
    operation = document["paths"][path][method]

    assert error_statuses(operation) == EXPECTED_ERRORS[path, method]
    for status in EXPECTED_ERRORS[path, method]:
        response = operation["responses"][str(status)]
        assert response["description"]
        assert response["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}


def test_error_component_has_the_exception_handlers_shape(document):
    error = document["components"]["schemas"]["Error"]

    assert set(error["properties"]) == {"code", "detail", "errors"}
    assert error["required"] == ["code", "detail"]
    assert error["properties"]["errors"]["allOf"] == [
        {"$ref": "#/components/schemas/ErrorFieldErrors"}
    ]


def test_the_declared_examples_validate_against_the_error_component(document):
    error = validator_for(document, {"$ref": ERROR_REF})
    for _, operation in operations(document):
        for status in error_statuses(operation):
            error.validate(
                operation["responses"][str(status)]["content"]["application/json"]["example"]
            )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"detail": "No code."}, id="no-code"),
        pytest.param({"code": "invalid", "detail": 400}, id="detail-not-text"),
        pytest.param(
            {"code": "invalid", "detail": "x", "errors": {"amount": "not a list"}},
            id="field-errors-not-a-list",
        ),
        pytest.param(
            {"code": "invalid", "detail": "x", "errors": {"items": {"0": {"unit_price": [3]}}}},
            id="nested-message-not-text",
        ),
    ],
)
def test_error_component_refuses_other_shapes(document, body):
    assert not validator_for(document, {"$ref": ERROR_REF}).is_valid(body)


# --- Real error responses against the schema -------------------------------------------------


@pytest.fixture
def theirs():
    return RefundRequestFactory()


@pytest.fixture
def mine(integration):
    return RefundRequestFactory(order=OrderFactory(customer__integration=integration))


def _invalid_fields(client, **_):
    body = intake_payload(
        order={"amount": "abc", "items": [{"sku": "S", "name": "W", "quantity": 0}]}
    )
    return client.post(LIST, body, format="json")


def _malformed_json(client, **_):
    return client.post(LIST, "{not json", content_type="application/json")


def _invalid_filter(client, **_):
    return client.get(LIST, {"status": "bogus"})


def _empty_reply(client, mine, **_):
    return client.post(REPLIES.format(public_id=mine.public_id), {}, format="json")


def _no_key(client, **_):
    return APIClient().get(LIST)


def _unknown_key(client, **_):
    return APIClient().get(LIST, HTTP_AUTHORIZATION="Api-Key abc.def")


def _revoked_key(client, **_):
    integration_api_key_revoke(api_key=IntegrationAPIKey.objects.get(), actor=Actor.system("t"))
    return client.get(DETAIL.format(public_id=uuid.uuid4()))


def _unknown_request(client, **_):
    return client.get(DETAIL.format(public_id=uuid.uuid4()))


def _another_integrations_request(client, theirs, **_):
    return client.post(REPLIES.format(public_id=theirs.public_id), {"message": "hi"}, format="json")


def _garbled_cursor(client, **_):
    return client.get(LIST, {"cursor": "%%%not-a-cursor"})


def _reply_when_not_awaiting(client, mine, **_):
    return client.post(REPLIES.format(public_id=mine.public_id), {"message": "hi"}, format="json")


def _idempotency_key_reused(client, **_):
    headers = {"HTTP_IDEMPOTENCY_KEY": "k-1"}
    client.post(LIST, intake_payload(), format="json", **headers)
    return client.post(LIST, intake_payload(message="Another."), format="json", **headers)


def _throttled(client, integration, **_):
    integration.throttle_rate = "1/min"
    integration.save(update_fields=["throttle_rate"])
    client.get(LIST)
    return client.get(LIST)


@pytest.mark.parametrize(
    ("make_error", "operation", "status", "code"),
    [
        (_invalid_fields, (LIST, "post"), 400, "invalid"),
        (_malformed_json, (LIST, "post"), 400, "malformed_json"),
        (_invalid_filter, (LIST, "get"), 400, "invalid"),
        (_empty_reply, (REPLIES, "post"), 400, "invalid"),
        (_no_key, (LIST, "get"), 401, "not_authenticated"),
        (_unknown_key, (LIST, "get"), 401, "invalid_api_key"),
        (_revoked_key, (DETAIL, "get"), 403, "api_key_revoked"),
        (_unknown_request, (DETAIL, "get"), 404, "not_found"),
        (_another_integrations_request, (REPLIES, "post"), 404, "not_found"),
        (_garbled_cursor, (LIST, "get"), 404, "not_found"),
        (_reply_when_not_awaiting, (REPLIES, "post"), 409, "illegal_transition"),
        (_idempotency_key_reused, (LIST, "post"), 422, "idempotency_key_reused"),
        (_throttled, (LIST, "get"), 429, "throttled"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else v[1] if isinstance(v, tuple) else None,
)
def test_real_error_responses_validate_against_the_declared_schema(
    document, api_client, integration, mine, theirs, make_error, operation, status, code
):
    response = make_error(api_client, integration=integration, mine=mine, theirs=theirs)

    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    path, method = operation
    declared = document["paths"][path][method]["responses"]
    assert str(status) in declared, f"{method.upper()} {path} does not declare {status}"
    validator_for(
        document, declared[str(status)]["content"]["application/json"]["schema"]
    ).validate(body)


def test_field_errors_of_a_list_item_validate_as_nested_field_errors(document, api_client):
    body = _invalid_fields(api_client).json()

    assert body["errors"]["order"]["amount"] == ["A valid number is required."]
    assert "quantity" in body["errors"]["order"]["items"]["0"]
    validator_for(document, {"$ref": ERROR_REF}).validate(body)
