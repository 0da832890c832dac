"""The docs' worked example, end to end on the demo data: a premium customer refunded once
before writes "My package arrived damaged and this is the second time I've had an issue.
I want a full refund immediately." about a 42.00 USD order."""

from unittest import mock

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from hitl_site.demo import WORKED_EXAMPLE_MESSAGE, WORKED_EXAMPLE_ORDER, demo_seed
from refunds.models import GateEvaluation, Order, RefundRequest
from refunds.states import RefundStatus
from refunds.tasks import refund_request_process

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def post_worked_example(django_capture_on_commit_callbacks) -> RefundRequest:
    """Seeds the demo and posts the example through the API with the demo key, as the
    README's curl does, then runs the queued task."""
    seeded = demo_seed()
    order = Order.objects.select_related("customer").get(external_id=WORKED_EXAMPLE_ORDER)
    customer = order.customer
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {seeded['api_key']}")
    body = {
        "channel": "chat",
        "customer": {
            "external_id": customer.external_id,
            "name": customer.name,
            "email": customer.email,
            "tier": customer.tier,
            "country": customer.country,
        },
        "order": {
            "external_id": order.external_id,
            "amount": str(order.amount),
            "currency": order.currency,
            "items": order.items,
            "ordered_at": order.ordered_at.isoformat(),
            "delivered_at": order.delivered_at.isoformat(),
            "status": order.status,
        },
        "message": WORKED_EXAMPLE_MESSAGE,
    }
    with (
        mock.patch("refunds.jobs.async_task") as async_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(reverse("api:refund-request-list"), body, format="json")
    assert response.status_code == 201, response.content
    refund_request_process(*async_task.call_args.args[1:])
    return RefundRequest.objects.get(public_id=response.json()["id"])


def test_worked_example_reaches_review_for_the_amount_the_repeat_complaint_and_the_tone(
    django_capture_on_commit_callbacks,
):
    request = post_worked_example(django_capture_on_commit_callbacks)

    evaluation = GateEvaluation.objects.get(request=request)
    assert request.status == RefundStatus.IN_REVIEW
    assert {"amount_over_ceiling", "repeat_complaint", "sentiment_requires_review"} <= set(
        evaluation.reason_codes
    )
    messages = {r["code"]: r["message"] for r in evaluation.reasons}
    assert "1 other refund request in the last 365 days" in messages["repeat_complaint"]
    assert "customer's words" in messages["repeat_complaint"]
    assert "frustrated" in messages["sentiment_requires_review"]


def test_worked_example_draft_cites_damaged_items_not_items_that_never_arrived(
    django_capture_on_commit_callbacks,
):
    request = post_worked_example(django_capture_on_commit_callbacks)

    proposal = request.proposals.get()
    assert proposal.sections[0]["id"] == "damaged-or-defective-items"
    assert proposal.decision["customer_sentiment"] == "frustrated"
    assert "repeat_complaint" in proposal.decision["risk_flags"]
