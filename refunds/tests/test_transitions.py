import pytest
from django.db import transaction

from audit.models import AuditEvent
from audit.services import Actor
from refunds.states import ALLOWED_TRANSITIONS, TERMINAL_STATUSES, RefundStatus
from refunds.tests.factories import RefundRequestFactory
from refunds.transitions import IllegalTransition, refund_request_transition

pytestmark = pytest.mark.django_db

ALL_STATUSES = list(RefundStatus)
LEGAL = [(src, dst) for src, moves in ALLOWED_TRANSITIONS.items() for dst in sorted(moves)]
ILLEGAL = [
    (src, dst)
    for src in ALL_STATUSES
    for dst in ALL_STATUSES
    if dst not in ALLOWED_TRANSITIONS[src]
]
SYSTEM = Actor.system("tests")


def request_in(status):
    request = RefundRequestFactory()
    type(request).objects.filter(pk=request.pk).update(status=status)
    request.refresh_from_db()
    return request


def test_every_status_has_an_entry_in_the_table():
    assert set(ALLOWED_TRANSITIONS) == set(RefundStatus)


def test_terminal_statuses_are_the_end_states():
    assert TERMINAL_STATUSES == {
        RefundStatus.EXECUTED,
        RefundStatus.REJECTED,
        RefundStatus.EXPIRED,
        RefundStatus.CLOSED,
    }


@pytest.mark.parametrize(("from_status", "to_status"), LEGAL)
def test_transition_allows_each_legal_move(from_status, to_status):
    request = request_in(from_status)

    refund_request_transition(request=request, to_status=to_status, actor=SYSTEM)

    request.refresh_from_db()
    assert request.status == to_status


@pytest.mark.parametrize(("from_status", "to_status"), ILLEGAL)
def test_transition_refuses_each_illegal_move(from_status, to_status):
    request = request_in(from_status)

    with pytest.raises(IllegalTransition) as excinfo:
        refund_request_transition(request=request, to_status=to_status, actor=SYSTEM)

    request.refresh_from_db()
    assert request.status == from_status
    assert excinfo.value.code == "illegal_transition"
    assert f"'{from_status}' to '{to_status}'" in excinfo.value.message


def test_transition_records_an_audit_event_with_from_to_and_actor():
    request = request_in(RefundStatus.RECEIVED)

    refund_request_transition(
        request=request,
        to_status=RefundStatus.DRAFTING,
        actor=Actor.model("offline"),
        reason="drafting started",
    )

    event = AuditEvent.objects.get(event_type="refund_request.transitioned")
    assert event.subject_id == str(request.pk)
    assert event.payload == {"from": "received", "to": "drafting", "reason": "drafting started"}
    assert (event.actor_type, event.actor_label) == ("model", "offline")


def test_illegal_transition_writes_no_audit_event():
    request = request_in(RefundStatus.EXECUTED)

    with pytest.raises(IllegalTransition):
        refund_request_transition(request=request, to_status=RefundStatus.EXECUTING, actor=SYSTEM)

    assert not AuditEvent.objects.filter(event_type="refund_request.transitioned").exists()


def test_transition_judges_the_stored_status_not_a_stale_object():
    request = request_in(RefundStatus.RECEIVED)
    stale = type(request).objects.get(pk=request.pk)
    refund_request_transition(request=request, to_status=RefundStatus.DRAFTING, actor=SYSTEM)
    refund_request_transition(request=request, to_status=RefundStatus.GATED, actor=SYSTEM)

    # The stale copy still says "received", but the row is "gated": gated -> drafting is illegal.
    with pytest.raises(IllegalTransition):
        refund_request_transition(request=stale, to_status=RefundStatus.DRAFTING, actor=SYSTEM)


def test_transition_with_expected_from_refuses_when_status_moved_on():
    request = request_in(RefundStatus.DRAFTING)

    with pytest.raises(IllegalTransition):
        refund_request_transition(
            request=request,
            to_status=RefundStatus.DRAFTING,
            actor=SYSTEM,
            expected_from=RefundStatus.RECEIVED,
        )


def test_transition_updates_status_changed_at():
    request = request_in(RefundStatus.RECEIVED)
    before = request.status_changed_at

    refund_request_transition(request=request, to_status=RefundStatus.DRAFTING, actor=SYSTEM)

    request.refresh_from_db()
    assert request.status_changed_at > before


def test_a_caller_that_catches_a_refusal_can_carry_on_in_its_transaction():
    refused, moved = request_in(RefundStatus.EXECUTED), request_in(RefundStatus.RECEIVED)

    with transaction.atomic():
        with pytest.raises(IllegalTransition):
            refund_request_transition(
                request=refused, to_status=RefundStatus.DRAFTING, actor=SYSTEM
            )
        refund_request_transition(request=moved, to_status=RefundStatus.DRAFTING, actor=SYSTEM)

    moved.refresh_from_db()
    assert moved.status == RefundStatus.DRAFTING
