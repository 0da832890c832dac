import pytest
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import Actor, record_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor_client(client, role_user):
    client.force_login(role_user("auditor"))
    return client


def test_auditor_can_list_audit_events(auditor_client, chain):
    response = auditor_client.get(reverse("admin:audit_auditevent_changelist"))

    assert response.status_code == 200
    assert b"test.event" in response.content


def test_audit_event_admin_offers_no_add(admin_client, chain):
    assert admin_client.get(reverse("admin:audit_auditevent_add")).status_code == 403


def test_audit_event_admin_refuses_change_even_for_superuser(admin_client, chain):
    url = reverse("admin:audit_auditevent_change", args=[chain[0].pk])

    response = admin_client.post(url, {"event_type": "forged"})

    chain[0].refresh_from_db()
    assert response.status_code == 403
    assert chain[0].event_type == "test.event"


def test_audit_event_admin_refuses_delete_even_for_superuser(admin_client, chain):
    url = reverse("admin:audit_auditevent_delete", args=[chain[0].pk])

    assert admin_client.post(url, {"post": "yes"}).status_code == 403


@pytest.fixture
def two_cases(db):
    """Two reviewed requests, each with events about the request and about its task."""
    from reviews.tests.factories import ReviewTaskFactory

    cases = []
    for n in range(2):
        task = ReviewTaskFactory()
        for event_type, subject in (
            ("refund_request.received", task.request),
            ("review_task.claimed", task),
            ("review.decided", task.request),
        ):
            record_event(
                event_type=event_type,
                actor=Actor.system("tests"),
                subject=subject,
                payload={"case": n},
            )
        cases.append(task.request)
    return cases


def listed_sequences(response) -> set[int]:
    return {event.sequence for event in response.context["cl"].result_list}


@pytest.mark.parametrize(
    "reference",
    [
        lambda r: str(r.pk),
        lambda r: str(r.public_id),
        lambda r: str(r.public_id)[:8],  # the short id the lists show
        lambda r: str(r.public_id).upper(),
    ],
    ids=["id", "uuid", "uuid-prefix", "uuid-uppercase"],
)
def test_audit_list_filters_by_refund_request(auditor_client, two_cases, reference):
    mine = two_cases[0]
    url = reverse("admin:audit_auditevent_changelist")

    response = auditor_client.get(url, {"request": reference(mine)})

    events = response.context["cl"].result_list
    assert response.status_code == 200
    assert sorted(e.event_type for e in events) == [
        "refund_request.received",
        "review.decided",
        "review_task.claimed",  # the request's review task's events too
    ]
    assert {e.payload["case"] for e in events} == {0}
    assert 'name="request" value="' + reference(mine) + '"' in response.content.decode()


def test_audit_list_request_filter_keeps_other_filters(auditor_client, two_cases):
    url = reverse("admin:audit_auditevent_changelist")

    response = auditor_client.get(
        url, {"request": two_cases[1].pk, "event_type": "review_task.claimed"}
    )

    assert [e.payload["case"] for e in response.context["cl"].result_list] == [1]
    html = response.content.decode()
    assert '<input type="hidden" name="event_type" value="review_task.claimed">' in html


def test_audit_list_request_filter_says_when_nothing_matches(auditor_client, two_cases):
    response = auditor_client.get(
        reverse("admin:audit_auditevent_changelist"), {"request": "no-such-request"}
    )

    assert response.status_code == 200
    assert listed_sequences(response) == set()
    assert "No refund request matches “no-such-request”." in response.content.decode()


def test_audit_list_reads_as_words_with_times_to_the_second(auditor_client, two_cases, settings):
    settings.TIME_ZONE = "UTC"
    response = auditor_client.get(reverse("admin:audit_auditevent_changelist"))
    html = response.content.decode()
    event = AuditEvent.objects.filter(event_type="review_task.claimed").first()

    assert '<span title="review_task.claimed">Review task claimed</span>' in html
    assert event.created_at.strftime("%Y-%m-%d %H:%M:%S") in html
    assert "System: tests" in html
    request = two_cases[0]
    assert f'href="?request={request.pk}"' in html and f"Refund request {request.pk}" in html
    # the filters name event and subject types in words too
    assert ">Review task claimed</a>" in html and ">Refund request</a>" in html


def test_audit_event_page_shows_the_payload_as_a_readable_list(auditor_client, two_cases):
    event = record_event(
        event_type="decision.finalized",
        actor=Actor.system("tests"),
        subject=two_cases[0],
        payload={"action": "approve_refund", "four_eyes_first_approver": None, "ok": True},
    )

    html = auditor_client.get(
        reverse("admin:audit_auditevent_change", args=[event.pk])
    ).content.decode()

    assert '<span class="hitl-key">Action:</span> approve refund' in html
    assert '<span class="hitl-key">First approver (four eyes):</span> —' in html
    assert '<span class="hitl-key">Ok:</span> Yes' in html
