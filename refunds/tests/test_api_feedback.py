"""POST /api/v1/refund-requests/{id}/feedback/: the customer's satisfaction score, once per
final request, with the path the case took."""

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from refunds.models import CustomerFeedback, RefundRequest
from refunds.states import RefundStatus
from refunds.tests.factories import (
    GateEvaluationFactory,
    IntegrationFactory,
    OrderFactory,
    RefundRequestFactory,
)
from reviews.tests.factories import active_gate_policy

pytestmark = pytest.mark.django_db
S = RefundStatus
Path = CustomerFeedback.Path


def url(request):
    return reverse("api:refund-request-feedback", kwargs={"public_id": request.public_id})


def case(integration, *, status=S.EXECUTED, action="approve_refund", route="review"):
    """A request of ``integration`` in ``status``, decided ``action`` after the gate's
    ``route`` (``route=None``: never gated)."""
    request = RefundRequestFactory(order=OrderFactory(customer__integration=integration))
    RefundRequest.objects.filter(pk=request.pk).update(
        status=status, final_action=action, final_amount=Decimal("10.00") if action else None
    )
    if route:
        GateEvaluationFactory(request=request, route=route, policy_version=active_gate_policy())
    request.refresh_from_db()
    return request


def test_feedback_on_an_executed_request_is_stored_with_its_path_and_audited(
    api_client, integration
):
    request = case(integration, route="auto")

    response = api_client.post(url(request), {"score": 4, "comment": "Quick."}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] == str(request.public_id)
    assert (body["score"], body["comment"], body["path"]) == (4, "Quick.", Path.AUTO_APPROVED)
    feedback = CustomerFeedback.objects.get()
    assert (feedback.request_id, feedback.score, feedback.path) == (request.pk, 4, "auto_approved")
    event = AuditEvent.objects.filter(event_type="customer.feedback_given").get()
    assert event.actor_type == "integration" and event.subject_id == str(request.pk)
    assert event.payload["score"] == 4 and "Quick." not in str(event.payload)


@pytest.mark.parametrize(
    "status, action, route, path",
    [
        (S.EXECUTED, "approve_refund", "auto", Path.AUTO_APPROVED),
        (S.EXECUTED, "approve_refund", "review", Path.HUMAN_REVIEWED),
        (S.EXECUTED, "offer_replacement", "review", Path.HUMAN_REVIEWED),
        (S.CLOSED, "approve_refund", "review", Path.HUMAN_REVIEWED),
        (S.REJECTED, "", "review", Path.DENIED),
        (S.EXECUTED, "deny_refund", "auto", Path.DENIED),
        (S.EXPIRED, "", None, Path.NO_DECISION),
    ],
)
def test_feedback_path_says_how_the_case_was_decided(
    api_client, integration, status, action, route, path
):
    request = case(integration, status=status, action=action, route=route)

    response = api_client.post(url(request), {"score": 3}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["path"] == path


def test_the_latest_gate_evaluation_decides_the_path(api_client, integration):
    request = case(integration, route="review")  # first judged: review; re-drafted, then:
    GateEvaluationFactory(request=request, route="auto", policy_version=active_gate_policy())

    response = api_client.post(url(request), {"score": 5}, format="json")

    assert response.json()["path"] == Path.AUTO_APPROVED


def test_repeating_the_same_feedback_returns_the_same_response(api_client, integration):
    request = case(integration)
    first = api_client.post(url(request), {"score": 2, "comment": "Slow"}, format="json")

    again = api_client.post(url(request), {"score": 2, "comment": "Slow"}, format="json")

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert CustomerFeedback.objects.count() == 1
    assert AuditEvent.objects.filter(event_type="customer.feedback_given").count() == 1


@pytest.mark.parametrize("body", [{"score": 3}, {"score": 2, "comment": "Changed my mind"}])
def test_different_feedback_after_the_first_is_a_conflict(api_client, integration, body):
    request = case(integration)
    api_client.post(url(request), {"score": 2}, format="json")

    response = api_client.post(url(request), body, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "feedback_already_given"
    assert CustomerFeedback.objects.get().score == 2


@pytest.mark.parametrize(
    "status", [S.RECEIVED, S.IN_REVIEW, S.AWAITING_CUSTOMER, S.APPROVED, S.EXECUTING]
)
def test_feedback_before_the_request_is_final_is_a_conflict(api_client, integration, status):
    request = case(integration, status=status)

    response = api_client.post(url(request), {"score": 5}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "request_not_final"
    assert not CustomerFeedback.objects.exists()


@pytest.mark.parametrize("score", [0, 6, 3.5, "4", "good", True, None])
def test_a_score_that_is_not_a_whole_number_from_1_to_5_is_a_field_error(
    api_client, integration, score
):
    request = case(integration)

    response = api_client.post(url(request), {"score": score}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "score" in response.json()["errors"]
    assert not CustomerFeedback.objects.exists()


def test_a_missing_score_is_a_field_error(api_client, integration):
    response = api_client.post(url(case(integration)), {"comment": "hi"}, format="json")

    assert response.status_code == 400 and "score" in response.json()["errors"]


def test_another_integrations_request_is_not_found(api_client):
    request = case(IntegrationFactory())

    response = api_client.post(url(request), {"score": 5}, format="json")

    assert response.status_code == 404
    assert not CustomerFeedback.objects.exists()


def test_feedback_needs_an_api_key(integration):
    response = APIClient().post(url(case(integration)), {"score": 5}, format="json")

    assert response.status_code == 401
