"""Every amount in an API response is a two-decimal string ("20.00"), whatever its source."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from refunds.api.fields import MONEY_RESPONSE_PATTERN
from refunds.models import Proposal, RefundRequest
from refunds.tests.factories import RefundDecisionFactory, final_decision, intake_payload

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api:refund-request-list")
TWO_DECIMALS = re.compile(r"^\d+\.\d{2}$")

# Every money value in a refund request as the API shows it (detail, list rows, create).
MONEY_FIELDS = [
    ("requested_amount",),
    ("order", "amount"),
    ("proposal", "amount"),
    ("decision", "amount"),
]


def detail_url(public_id) -> str:
    return reverse("api:refund-request-detail", kwargs={"public_id": public_id})


def value_at(body: dict, path: tuple[str, ...]):
    for key in path:
        body = body[key]
    return body


def add_proposal(request: RefundRequest, amount: Decimal) -> Proposal:
    """A draft as the pipeline stores it: the model's decision dumped to JSON as it came
    (a model that writes ``20.0`` is valid, so ``"20.0"`` is what the row holds)."""
    decision = RefundDecisionFactory(amount=amount).model_dump(mode="json")
    return Proposal.objects.create(
        request=request, provider="openai", model_name="test-model", decision=decision
    )


@pytest.fixture
def decided_request(api_client, integration) -> RefundRequest:
    """A request with every money field filled: a requested amount, a draft whose amount
    has one decimal, and a final decision made with one decimal."""
    response = api_client.post(LIST_URL, intake_payload(requested_amount="19.5"), format="json")
    assert response.status_code == 201, response.content
    request = RefundRequest.objects.get()
    add_proposal(request, Decimal("20.0"))
    return final_decision(request=request, amount="7.5")


def read_responses(client, request: RefundRequest, endpoint: str) -> list[dict]:
    """The request as each read endpoint shows it."""
    if endpoint == "detail":
        return [client.get(detail_url(request.public_id)).json()]
    return client.get(LIST_URL).json()["results"]


@pytest.mark.parametrize("field", MONEY_FIELDS, ids=".".join)
@pytest.mark.parametrize("endpoint", ["detail", "list"])
def test_every_money_value_in_read_responses_has_two_decimals(
    api_client, decided_request, endpoint, field
):
    bodies = read_responses(api_client, decided_request, endpoint)

    assert bodies
    for body in bodies:
        value = value_at(body, field)
        assert isinstance(value, str) and TWO_DECIMALS.match(value), (field, value)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        (("requested_amount",), "19.50"),
        (("order", "amount"), "20.00"),
        (("proposal", "amount"), "20.00"),
        (("decision", "amount"), "7.50"),
    ],
    ids=lambda v: ".".join(v) if isinstance(v, tuple) else v,
)
def test_read_response_money_values(api_client, decided_request, field, expected):
    body = api_client.get(detail_url(decided_request.public_id)).json()

    assert value_at(body, field) == expected


def test_proposal_amount_drafted_as_20_0_is_shown_as_20_00(api_client, integration):
    api_client.post(LIST_URL, intake_payload(), format="json")
    proposal = add_proposal(RefundRequest.objects.get(), Decimal("20.0"))
    assert proposal.decision["amount"] == "20.0"  # what the draft row really holds

    body = api_client.get(detail_url(proposal.request.public_id)).json()

    assert body["proposal"]["amount"] == "20.00"


@pytest.mark.parametrize(
    ("drafted", "shown"),
    [(Decimal("20"), "20.00"), (Decimal("0"), "0.00"), (Decimal("-0"), "0.00")],
)
def test_proposal_amount_without_cents_gets_two_decimals(api_client, integration, drafted, shown):
    api_client.post(LIST_URL, intake_payload(), format="json")
    request = RefundRequest.objects.get()
    add_proposal(request, drafted)

    body = api_client.get(detail_url(request.public_id)).json()

    assert body["proposal"]["amount"] == shown


def test_failed_draft_shows_a_null_proposal_amount(api_client, integration):
    api_client.post(LIST_URL, intake_payload(), format="json")
    request = RefundRequest.objects.get()
    Proposal.objects.create(
        request=request, provider="openai", model_name="m", error_code="model_unavailable"
    )

    body = api_client.get(detail_url(request.public_id)).json()

    assert body["proposal"]["amount"] is None
    assert body["proposal"]["error_code"] == "model_unavailable"


def test_create_response_writes_amounts_sent_as_json_integers_with_two_decimals(api_client):
    raw = intake_payload()
    raw["order"]["amount"] = 20
    raw["requested_amount"] = 20

    body = api_client.post(LIST_URL, raw, format="json").json()

    assert body["requested_amount"] == "20.00"
    assert body["order"]["amount"] == "20.00"


def _decimal_paths(document: dict, schema: dict, prefix: tuple[str, ...] = ()):
    """(path, property schema) of every decimal in ``schema``, following component refs."""
    for name, prop in schema.get("properties", {}).items():
        for part in [prop, *prop.get("allOf", [])]:
            ref = part.get("$ref")
            if ref:
                component = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
                yield from _decimal_paths(document, component, (*prefix, name))
        if prop.get("format") == "decimal":
            yield (*prefix, name), prop


def test_money_table_covers_every_decimal_in_the_response_schema():
    """A new amount in the representation must join MONEY_FIELDS (and so the walk above),
    and must be a MoneyField (the only field whose response schema has this pattern)."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    representation = document["components"]["schemas"]["RefundRequest"]

    decimals = dict(_decimal_paths(document, representation))

    assert set(decimals) == set(MONEY_FIELDS)
    assert {prop["pattern"] for prop in decimals.values()} == {MONEY_RESPONSE_PATTERN}
