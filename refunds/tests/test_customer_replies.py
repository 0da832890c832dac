"""POST /api/v1/refund-requests/{id}/replies/: the customer's answer re-opens the case."""

from unittest import mock

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from refunds.execution.executor import execution_run
from refunds.models import CustomerReply, RefundRequest
from refunds.states import RefundStatus
from refunds.tests.factories import IntegrationFactory, OrderFactory, final_decision

pytestmark = pytest.mark.django_db
S = RefundStatus


def url(request):
    return reverse("api:refund-request-replies", kwargs={"public_id": request.public_id})


@pytest.fixture
def waiting(integration):
    """A request of ``integration`` whose request for more information was executed."""
    request = final_decision(
        action="request_more_info",
        amount="0",
        order=OrderFactory(customer__integration=integration),
    )
    assert execution_run(request_id=request.pk).status == S.AWAITING_CUSTOMER
    return RefundRequest.objects.get(pk=request.pk)


def test_reply_reopens_the_case_and_queues_drafting(
    api_client, waiting, django_capture_on_commit_callbacks
):
    with (
        mock.patch("refunds.jobs.async_task") as async_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = api_client.post(
            url(waiting), {"message": "Here is a photo of the box."}, format="json"
        )

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == S.RECEIVED and body["id"] == str(waiting.public_id)
    assert response["Location"] == body["status_url"]
    assert RefundRequest.objects.get(pk=waiting.pk).status == S.RECEIVED
    assert CustomerReply.objects.get().message == "Here is a photo of the box."
    assert async_task.call_args.args == ("refunds.tasks.refund_request_process", waiting.pk)
    event = AuditEvent.objects.filter(event_type="customer.replied").get()
    assert event.actor_type == "integration" and event.subject_id == str(waiting.pk)


def test_reply_to_a_request_not_awaiting_the_customer_is_a_conflict(api_client, integration):
    request = final_decision(amount="5", order=OrderFactory(customer__integration=integration))

    response = api_client.post(url(request), {"message": "hello"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"
    assert not CustomerReply.objects.exists()


def test_another_integrations_request_is_not_found(api_client, api_key_for):
    other = IntegrationFactory()
    request = final_decision(
        action="request_more_info", amount="0", order=OrderFactory(customer__integration=other)
    )
    execution_run(request_id=request.pk)

    response = api_client.post(url(request), {"message": "hello"}, format="json")

    assert response.status_code == 404
    assert RefundRequest.objects.get(pk=request.pk).status == S.AWAITING_CUSTOMER


def test_reply_needs_an_api_key(waiting):
    response = APIClient().post(url(waiting), {"message": "hello"}, format="json")

    assert response.status_code == 401


@pytest.mark.parametrize("body", [{}, {"message": ""}, {"message": "x" * 5001}, ["message"]])
def test_bad_reply_is_refused_with_400(api_client, waiting, body, settings):
    response = api_client.post(url(waiting), body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert RefundRequest.objects.get(pk=waiting.pk).status == S.AWAITING_CUSTOMER


def test_reply_is_in_the_api_schema(client):
    response = client.get(reverse("api-schema"))

    assert response.status_code == 200
    assert b"/replies/" in response.content
