"""Bad input is a 400 with ``{"code", "detail", "errors"?}``, never a 500."""

import json

import pytest
from django.urls import reverse

from refunds.models import Customer, RefundRequest
from refunds.tests.factories import intake_payload

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api:refund-request-list")


def post_json(client, body):
    return client.post(LIST_URL, body, format="json")


def post_raw(client, raw: str | bytes, content_type: str = "application/json"):
    return client.post(LIST_URL, raw, content_type=content_type)


def with_number(body: dict, path: tuple[str, ...], literal: str) -> str:
    """The body as JSON text with the value at ``path`` written as a bare ``literal``
    (``json.dumps`` cannot write ``20.10`` exactly or ``NaN`` on purpose)."""
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = "@@NUMBER@@"
    return json.dumps(body).replace('"@@NUMBER@@"', literal)


def assert_validation_error(response, *path: str):
    """A 400 in the validation shape, with an error listed at ``path`` in ``errors``."""
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert body["detail"] == "Invalid input."
    errors = body["errors"]
    for key in path:
        assert key in errors, body
        errors = errors[key]
    assert isinstance(errors, list) and errors and all(isinstance(e, str) for e in errors)
    assert not RefundRequest.objects.exists()
    return body


def assert_parse_error(response, code: str):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    assert not RefundRequest.objects.exists()
    return body


# --- The body as a whole ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('{"channel": "web",', id="truncated"),
        pytest.param("{'channel': 'web'}", id="single-quotes"),
        pytest.param('{"channel": "web"} trailing', id="trailing-garbage"),
        pytest.param(b'{"message": "\xff\xfe"}', id="not-utf8"),
        pytest.param("not json at all", id="plain-text"),
    ],
)
def test_malformed_json_is_400(api_client, raw):
    assert_parse_error(post_raw(api_client, raw), "malformed_json")


def test_deeply_nested_json_is_400_not_a_recursion_error(api_client):
    raw = "[" * 30_000 + "]" * 30_000

    assert_parse_error(post_raw(api_client, raw), "malformed_json")


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/xml",
    ],
)
def test_wrong_content_type_is_400(api_client, content_type):
    response = post_raw(api_client, json.dumps(intake_payload()), content_type=content_type)

    body = assert_parse_error(response, "unsupported_media_type")
    assert "application/json" in body["detail"]


def test_form_encoded_post_is_400(api_client):
    response = api_client.post(LIST_URL, {"channel": "web", "message": "hi"})  # multipart

    assert_parse_error(response, "unsupported_media_type")


def test_empty_body_is_400_listing_the_required_fields(api_client):
    response = post_raw(api_client, "")

    body = assert_validation_error(response, "channel")
    assert {"customer", "order", "message"} <= set(body["errors"])


def test_empty_object_is_400(api_client):
    assert_validation_error(post_raw(api_client, "{}"), "message")


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("[]", id="empty-array"),
        pytest.param(json.dumps([intake_payload()]), id="array-of-bodies"),
        pytest.param('"a string"', id="string"),
        pytest.param("42", id="number"),
        pytest.param("null", id="null"),
        pytest.param("true", id="boolean"),
    ],
)
def test_body_that_is_not_an_object_is_400(api_client, raw):
    assert_validation_error(post_raw(api_client, raw), "non_field_errors")


def test_body_over_the_size_limit_is_400_body_too_large(api_client, settings):
    body = intake_payload(message="x" * 100)
    body["padding"] = "x" * settings.API_MAX_BODY_BYTES

    response = post_json(api_client, body)

    body = assert_parse_error(response, "body_too_large")
    assert str(settings.API_MAX_BODY_BYTES) in body["detail"]


def test_body_just_under_the_size_limit_is_parsed(api_client, settings):
    settings.API_MAX_BODY_BYTES = 4096
    body = intake_payload()
    body["padding"] = ""
    body["padding"] = "x" * (4096 - len(json.dumps(body).encode()))
    assert len(json.dumps(body).encode()) == 4096

    response = post_raw(api_client, json.dumps(body))

    assert response.status_code == 201, response.json()


def test_body_one_byte_over_a_lowered_limit_is_refused(api_client, settings):
    settings.API_MAX_BODY_BYTES = 4096
    body = intake_payload()
    body["padding"] = ""
    body["padding"] = "x" * (4097 - len(json.dumps(body).encode()))

    assert_parse_error(post_raw(api_client, json.dumps(body)), "body_too_large")


# --- Required fields ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        ("channel",),
        ("customer",),
        ("order",),
        ("message",),
        ("customer", "external_id"),
        ("customer", "name"),
        ("customer", "country"),
        ("order", "external_id"),
        ("order", "amount"),
        ("order", "currency"),
        ("order", "ordered_at"),
    ],
    ids="-".join,
)
def test_missing_required_field_is_400(api_client, path):
    body = intake_payload()
    target = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]

    assert_validation_error(post_json(api_client, body), *path)


@pytest.mark.parametrize(
    "path",
    [
        ("channel",),
        ("customer",),
        ("order",),
        ("message",),
        ("customer", "external_id"),
        ("order", "amount"),
        ("order", "currency"),
    ],
    ids="-".join,
)
def test_required_field_as_null_is_400(api_client, path):
    body = intake_payload()
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = None

    assert_validation_error(post_json(api_client, body), *path)


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        pytest.param({"customer": "c-1"}, ("customer", "non_field_errors"), id="customer-string"),
        pytest.param({"order": ["o-1"]}, ("order", "non_field_errors"), id="order-list"),
        pytest.param(
            {"order": {"items": {"sku": "S1"}}},
            ("order", "items", "non_field_errors"),
            id="items-object",
        ),
        pytest.param({"message": {"text": "hi"}}, ("message",), id="message-object"),
        pytest.param(
            {"order": {"ordered_at": "yesterday"}}, ("order", "ordered_at"), id="bad-date"
        ),
        pytest.param(
            {"customer": {"email": "not-an-email"}}, ("customer", "email"), id="bad-email"
        ),
        pytest.param({"priority": 9}, ("priority",), id="bad-priority"),
        pytest.param({"customer": {"tier": "platinum"}}, ("customer", "tier"), id="bad-tier"),
    ],
)
def test_wrong_type_or_format_is_400(api_client, overrides, path):
    assert_validation_error(post_json(api_client, intake_payload(**overrides)), *path)


# --- Money --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        pytest.param({"order": {"amount": "-1.00"}}, ("order", "amount"), id="order-amount"),
        pytest.param({"requested_amount": "-5.00"}, ("requested_amount",), id="requested"),
        pytest.param(
            {"order": {"items": [{"sku": "S", "name": "W", "quantity": 1, "unit_price": "-1"}]}},
            ("order", "items", "0", "unit_price"),
            id="unit-price",
        ),
    ],
)
def test_negative_amount_is_400(api_client, overrides, path):
    assert_validation_error(post_json(api_client, intake_payload(**overrides)), *path)


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        pytest.param({"order": {"amount": "20.001"}}, ("order", "amount"), id="order-string"),
        pytest.param({"requested_amount": "10.005"}, ("requested_amount",), id="requested-string"),
    ],
)
def test_amount_with_three_decimals_is_400(api_client, overrides, path):
    assert_validation_error(post_json(api_client, intake_payload(**overrides)), *path)


@pytest.mark.parametrize("path", [("order", "amount"), ("requested_amount",)], ids="-".join)
def test_amount_as_json_number_with_three_decimals_is_400(api_client, path):
    raw = with_number(intake_payload(), path, "10.005")

    assert_validation_error(post_raw(api_client, raw), *path)


def test_amount_over_the_precision_limit_is_400(api_client):
    raw = with_number(intake_payload(), ("order", "amount"), "12345678901.00")

    assert_validation_error(post_raw(api_client, raw), "order", "amount")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_refused(api_client, literal):
    raw = with_number(intake_payload(), ("requested_amount",), literal)

    assert_parse_error(post_raw(api_client, raw), "malformed_json")


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "inf", "sNaN"])
def test_nan_and_infinity_strings_are_refused(api_client, value):
    response = post_json(api_client, intake_payload(requested_amount=value))

    assert_validation_error(response, "requested_amount")


@pytest.mark.parametrize(
    "literal",
    [
        pytest.param("1e9999999999999999999", id="exponent-beyond-decimal-range"),
        pytest.param("1" * 5000, id="integer-beyond-int-digit-limit"),
    ],
)
def test_absurd_number_literal_is_400(api_client, literal):
    raw = with_number(intake_payload(), ("order", "amount"), literal)

    response = post_raw(api_client, raw)

    assert response.status_code == 400, response.content
    assert not RefundRequest.objects.exists()


@pytest.mark.parametrize("literal", ["1e20", "1e-7"])
def test_amount_in_exponent_notation_beyond_the_field_is_400(api_client, literal):
    raw = with_number(intake_payload(), ("order", "amount"), literal)

    assert_validation_error(post_raw(api_client, raw), "order", "amount")


@pytest.mark.parametrize("currency", ["XYZ", "EURO", "", "€"])
def test_unknown_currency_is_400(api_client, currency):
    response = post_json(api_client, intake_payload(order={"currency": currency}))

    assert_validation_error(response, "order", "currency")


@pytest.mark.parametrize("country", ["XX", "GBR", "", "uk"])
def test_unknown_country_is_400(api_client, country):
    response = post_json(api_client, intake_payload(customer={"country": country}))

    assert_validation_error(response, "customer", "country")
    assert not Customer.objects.exists()


@pytest.mark.parametrize("amount", ["0", "0.00", "-0.00"])
def test_zero_requested_amount_is_400(api_client, amount):
    response = post_json(api_client, intake_payload(requested_amount=amount))

    assert_validation_error(response, "requested_amount")


def test_requested_amount_above_the_order_amount_is_400(api_client):
    response = post_json(
        api_client, intake_payload(order={"amount": "20.00"}, requested_amount="20.01")
    )

    body = assert_validation_error(response, "requested_amount")
    assert "20.00 GBP" in body["errors"]["requested_amount"][0]


# --- Message, channel, dates ------------------------------------------------------------------


def test_message_over_the_limit_is_400(api_client, settings):
    message = "x" * (settings.API_MAX_MESSAGE_CHARS + 1)

    assert_validation_error(post_json(api_client, intake_payload(message=message)), "message")


@pytest.mark.parametrize("message", ["", "   ", "\n\t  \n"])
def test_empty_or_whitespace_message_is_400(api_client, message):
    assert_validation_error(post_json(api_client, intake_payload(message=message)), "message")


@pytest.mark.parametrize("channel", ["fax", "", "WEB", "phone"])
def test_unknown_channel_is_400(api_client, channel):
    assert_validation_error(post_json(api_client, intake_payload(channel=channel)), "channel")


def test_delivery_before_the_order_is_400(api_client):
    response = post_json(
        api_client,
        intake_payload(
            order={"ordered_at": "2026-11-03T10:00:00Z", "delivered_at": "2026-11-01T10:00:00Z"}
        ),
    )

    assert_validation_error(response, "order", "delivered_at")


def test_unknown_fields_are_ignored(api_client):
    response = post_json(api_client, intake_payload(status="executed", surprise=True))

    assert response.status_code == 201, response.json()
    assert RefundRequest.objects.get().status == "received"


# --- Other routes and methods ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_unsupported_method_on_the_list_is_405_json(api_client, method):
    response = getattr(api_client, method)(LIST_URL, {}, format="json")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
