"""GET /api/v1/refund-requests/[{id}/]: status, cursor pagination, filters, isolation."""

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse
from django.utils import timezone

from refunds.models import RefundRequest
from refunds.states import RefundStatus
from refunds.tests.factories import IntegrationFactory, RefundRequestFactory, intake_payload

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api:refund-request-list")


def detail_url(public_id) -> str:
    return reverse("api:refund-request-detail", kwargs={"public_id": public_id})


def make_request(integration, **fields) -> RefundRequest:
    return RefundRequestFactory(order__customer__integration=integration, **fields)


def make_requests(integration, count: int) -> list[RefundRequest]:
    """``count`` requests on one order, created_at one minute apart (oldest first)."""
    first = make_request(integration)
    RefundRequest.objects.bulk_create(
        RefundRequest(
            integration=integration,
            customer=first.customer,
            order=first.order,
            channel="web",
            message=f"Request {n}",
            currency="GBP",
        )
        for n in range(count - 1)
    )
    start = timezone.now() - timedelta(days=1)
    for n, pk in enumerate(RefundRequest.objects.order_by("pk").values_list("pk", flat=True)):
        RefundRequest.objects.filter(pk=pk).update(created_at=start + timedelta(minutes=n))
    return list(RefundRequest.objects.order_by("pk"))


def ids(response) -> list[str]:
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def other_integration(db):
    return IntegrationFactory()


# --- Detail -------------------------------------------------------------------------------


def test_detail_returns_status_and_timestamps(api_client, integration):
    created = api_client.post(LIST_URL, intake_payload(), format="json").json()

    response = api_client.get(created["status_url"])

    assert response.status_code == 200
    body = response.json()
    refund_request = RefundRequest.objects.get()
    assert body["id"] == created["id"] == str(refund_request.public_id)
    assert body["status"] == "received"
    assert body["status_url"] == created["status_url"]
    assert body["channel"] == "web"
    assert body["external_reference"] == "ticket-1"
    assert body["customer"] == "c-1"
    assert body["order"] == {"external_id": "o-1", "amount": "20.00", "currency": "GBP"}
    assert body["requested_amount"] == "20.00"
    assert body["currency"] == "GBP"
    assert body["priority"] == RefundRequest.Priority.NORMAL
    for field in ("created_at", "updated_at", "status_changed_at"):
        assert datetime.fromisoformat(body[field]) == getattr(refund_request, field)


def test_detail_proposal_and_decision_are_null_before_processing(api_client, integration):
    refund_request = make_request(integration)

    body = api_client.get(detail_url(refund_request.public_id)).json()

    assert body["proposal"] is None
    assert body["decision"] is None


def test_detail_shows_the_current_status(api_client, integration):
    refund_request = make_request(integration)
    RefundRequest.objects.filter(pk=refund_request.pk).update(status=RefundStatus.IN_REVIEW)

    assert api_client.get(detail_url(refund_request.public_id)).json()["status"] == "in_review"


def test_detail_is_looked_up_by_public_id_not_pk(api_client, integration):
    refund_request = make_request(integration)

    response = api_client.get(f"/api/v1/refund-requests/{refund_request.pk}/")

    assert response.status_code == 404


def test_detail_of_another_integrations_request_is_404(api_client, other_integration):
    theirs = make_request(other_integration)

    response = api_client.get(detail_url(theirs.public_id))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert str(theirs.public_id) not in response.content.decode()


def test_detail_of_unknown_id_is_404(api_client):
    response = api_client.get(detail_url(uuid.uuid4()))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("method", ["put", "patch", "delete", "post"])
def test_detail_is_read_only(api_client, integration, method):
    refund_request = make_request(integration)

    response = getattr(api_client, method)(
        detail_url(refund_request.public_id), {"status": "approved"}, format="json"
    )

    assert response.status_code == 405
    refund_request.refresh_from_db()
    assert refund_request.status == RefundStatus.RECEIVED


# --- List and pagination ------------------------------------------------------------------


def test_list_shows_only_the_integrations_own_requests(api_client, integration, other_integration):
    mine = make_request(integration)
    theirs = make_request(other_integration)

    response = api_client.get(LIST_URL)

    assert response.status_code == 200
    assert ids(response) == [str(mine.public_id)]
    assert str(theirs.public_id) not in response.content.decode()


def test_list_is_newest_first(api_client, integration):
    requests = make_requests(integration, 3)

    response = api_client.get(LIST_URL)

    assert ids(response) == [str(r.public_id) for r in reversed(requests)]


def test_list_is_cursor_paginated_and_next_link_walks_every_row_once(api_client, integration):
    requests = make_requests(integration, 5)
    seen = []

    response = api_client.get(LIST_URL, {"page_size": 2})
    pages = 1
    while True:
        assert response.status_code == 200
        body = response.json()
        assert len(body["results"]) <= 2
        seen += ids(response)
        if not body["next"]:
            break
        assert "cursor" in parse_qs(urlparse(body["next"]).query)
        response = api_client.get(body["next"])
        pages += 1

    assert pages == 3
    assert seen == [str(r.public_id) for r in reversed(requests)]


def test_list_previous_link_goes_back(api_client, integration):
    make_requests(integration, 4)
    first = api_client.get(LIST_URL, {"page_size": 2}).json()
    second = api_client.get(first["next"]).json()

    back = api_client.get(second["previous"]).json()

    assert [r["id"] for r in back["results"]] == [r["id"] for r in first["results"]]


def test_list_pagination_is_stable_when_rows_share_a_timestamp(api_client, integration):
    requests = make_requests(integration, 5)
    RefundRequest.objects.update(created_at=timezone.now())
    seen = []
    url, params = LIST_URL, {"page_size": 2}
    while url:
        body = api_client.get(url, params).json()
        seen += [r["id"] for r in body["results"]]
        url, params = body["next"], None

    assert sorted(seen) == sorted(str(r.public_id) for r in requests)
    assert len(seen) == len(set(seen))


def test_list_page_size_is_capped_at_200(api_client, integration):
    make_requests(integration, 201)

    response = api_client.get(LIST_URL, {"page_size": 1000})

    body = response.json()
    assert len(body["results"]) == 200
    assert body["next"]


def test_list_default_page_size_is_50(api_client, integration):
    make_requests(integration, 51)

    assert len(api_client.get(LIST_URL).json()["results"]) == 50


@pytest.mark.parametrize("page_size", ["0", "-3", "abc", ""])
def test_list_unusable_page_size_falls_back_to_the_default(api_client, integration, page_size):
    make_requests(integration, 3)

    response = api_client.get(LIST_URL, {"page_size": page_size})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


def test_list_garbled_cursor_is_a_json_404_not_a_500(api_client, integration):
    make_request(integration)

    response = api_client.get(LIST_URL, {"cursor": "%%%not-a-cursor"})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_list_query_count_does_not_grow_with_the_rows(
    api_client, integration, django_assert_num_queries
):
    make_requests(integration, 2)
    # The API key (with its integration), the page, the proposals (one prefetch for the page).
    with django_assert_num_queries(3):
        api_client.get(LIST_URL)

    make_requests(integration, 20)
    with django_assert_num_queries(3):
        response = api_client.get(LIST_URL)

    assert len(response.json()["results"]) == 22


# --- Filters ------------------------------------------------------------------------------


def test_filter_by_status(api_client, integration):
    _received, in_review, approved = (make_request(integration) for _ in range(3))
    RefundRequest.objects.filter(pk=in_review.pk).update(status=RefundStatus.IN_REVIEW)
    RefundRequest.objects.filter(pk=approved.pk).update(status=RefundStatus.APPROVED)

    response = api_client.get(LIST_URL, {"status": "in_review"})

    assert ids(response) == [str(in_review.public_id)]


def test_filter_by_several_statuses(api_client, integration):
    received, in_review, approved = (make_request(integration) for _ in range(3))
    RefundRequest.objects.filter(pk=in_review.pk).update(status=RefundStatus.IN_REVIEW)
    RefundRequest.objects.filter(pk=approved.pk).update(status=RefundStatus.APPROVED)

    response = api_client.get(LIST_URL, {"status": ["received", "approved"]})

    assert set(ids(response)) == {str(received.public_id), str(approved.public_id)}


def test_filter_by_channel(api_client, integration):
    make_request(integration, channel="web")
    chat = make_request(integration, channel="chat")

    response = api_client.get(LIST_URL, {"channel": "chat"})

    assert ids(response) == [str(chat.public_id)]


def test_filter_by_external_reference(api_client, integration):
    make_request(integration, external_reference="ticket-1")
    wanted = make_request(integration, external_reference="ticket-2")

    response = api_client.get(LIST_URL, {"external_reference": "ticket-2"})

    assert ids(response) == [str(wanted.public_id)]


def test_filter_by_conversation_id(api_client, integration):
    make_request(integration, conversation_id="conv-1")
    wanted = make_request(integration, conversation_id="conv-2")

    response = api_client.get(LIST_URL, {"conversation_id": "conv-2"})

    assert ids(response) == [str(wanted.public_id)]


def test_filter_by_created_after_and_before(api_client, integration):
    requests = make_requests(integration, 4)  # created one minute apart
    after = requests[1].created_at.isoformat()
    before = requests[3].created_at.isoformat()

    response = api_client.get(LIST_URL, {"created_after": after, "created_before": before})

    assert ids(response) == [str(requests[2].public_id), str(requests[1].public_id)]


def test_filter_never_reveals_another_integrations_requests(api_client, other_integration):
    make_request(other_integration, external_reference="ticket-x")

    response = api_client.get(LIST_URL, {"external_reference": "ticket-x"})

    assert ids(response) == []


def test_filters_and_pagination_combine(api_client, integration):
    make_requests(integration, 5)
    RefundRequest.objects.filter(
        pk__in=RefundRequest.objects.order_by("pk").values("pk")[:3]
    ).update(channel="chat")

    first = api_client.get(LIST_URL, {"channel": "chat", "page_size": 2}).json()
    second = api_client.get(first["next"]).json()

    assert len(first["results"]) == 2
    assert len(second["results"]) == 1
    assert second["next"] is None
    assert {r["channel"] for r in first["results"] + second["results"]} == {"chat"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"status": ["received", "bogus"]}, "status"),
        ({"channel": "fax"}, "channel"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_before": "2026-13-45"}, "created_before"),
    ],
)
def test_invalid_filter_value_is_400(api_client, integration, params, field):
    response = api_client.get(LIST_URL, params)

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"]


def test_unknown_query_parameters_are_ignored(api_client, integration):
    make_request(integration)

    response = api_client.get(LIST_URL, {"colour": "blue"})

    assert response.status_code == 200
    assert len(ids(response)) == 1


def test_list_for_an_integration_with_no_requests_is_empty(api_client, other_integration):
    make_request(other_integration)

    body = api_client.get(LIST_URL).json()

    assert body["results"] == []
    assert body["next"] is None


def test_detail_with_a_non_uuid_id_is_a_json_404(api_client):
    response = api_client.get("/api/v1/refund-requests/not-a-uuid/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_detail_shows_the_final_decision_once_made(api_client, integration):
    from audit.services import Actor
    from refunds.decisions import refund_request_finalize

    request = RefundRequestFactory(
        integration=integration,
        order__integration=integration,
        order__customer__integration=integration,
    )
    RefundRequest.objects.filter(pk=request.pk).update(status=RefundStatus.IN_REVIEW)
    refund_request_finalize(
        request=request,
        action="approve_refund",
        amount=Decimal("7.5"),
        actor=Actor.system("tests"),
        source="review",
    )

    body = api_client.get(f"/api/v1/refund-requests/{request.public_id}/").json()

    assert body["status"] == "approved"
    assert body["decision"]["action"] == "approve_refund"
    assert body["decision"]["amount"] == "7.50"
