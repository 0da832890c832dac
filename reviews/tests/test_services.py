from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from audit.integrity import Verdict
from audit.models import AuditEvent
from hitl_site import roles
from hitl_site.errors import ApplicationError
from refunds.decisions import final_payload_check
from refunds.models import OutboundMessage, RefundRequest
from refunds.states import RefundStatus
from refunds.tests.factories import RefundRequestFactory
from refunds.transitions import IllegalTransition
from reviews.models import ReviewDecision, ReviewTask, TaskStatus
from reviews.services import (
    review_decide,
    review_pii_reveal,
    review_sla_sweep,
    review_task_claim,
    review_task_open,
    review_task_reassign,
    review_task_release,
)
from reviews.tests.factories import queue, task_with_proposal

pytestmark = pytest.mark.django_db
REASONS = [
    {"code": "amount_over_ceiling", "message": "Over 25."},
    {"code": "high_risk_term", "message": "Mentions fraud."},
]


def events(kind: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event_type=kind).order_by("sequence"))


def reload(obj):
    obj.refresh_from_db()
    return obj


# --- opening ---------------------------------------------------------------------------------


def test_review_task_open_creates_task_with_sla_and_reasons():
    request = RefundRequestFactory(status=RefundStatus.IN_REVIEW)
    before = timezone.now()
    task = review_task_open(request=request, queue_slug="legal", priority=2, reasons=REASONS)
    assert task.queue == queue("legal") and task.priority == 2
    assert task.status == TaskStatus.OPEN
    assert task.reason_codes == ",amount_over_ceiling,high_risk_term,"
    assert task.due_at >= before + timedelta(minutes=queue("legal").sla_minutes)
    assert task.deadline_at > task.due_at
    assert events("review_task.opened")[0].payload["queue"] == "legal"


def test_review_task_open_is_idempotent_per_request():
    request = RefundRequestFactory(status=RefundStatus.IN_REVIEW)
    first = review_task_open(request=request, queue_slug="standard", priority=1, reasons=[])
    again = review_task_open(request=request, queue_slug="senior", priority=3, reasons=REASONS)
    assert again.pk == first.pk and again.queue.slug == "standard"
    assert ReviewTask.objects.filter(request=request).count() == 1


def test_review_task_open_refuses_a_request_not_in_review():
    request = RefundRequestFactory(status=RefundStatus.GATED)
    with pytest.raises(ApplicationError) as exc:
        review_task_open(request=request, queue_slug="standard", priority=1, reasons=[])
    assert exc.value.code == "not_in_review"


def test_review_task_open_unknown_queue_falls_back_to_standard():
    request = RefundRequestFactory(status=RefundStatus.IN_REVIEW)
    task = review_task_open(request=request, queue_slug="nope", priority=9, reasons=[])
    assert task.queue.slug == "standard" and task.priority == 3
    assert events("review_task.opened")[0].payload["fallback"] is True


# --- claims ----------------------------------------------------------------------------------


def test_claim_locks_task_to_one_reviewer(reviewer_of):
    task = task_with_proposal()
    alice, bob = reviewer_of("standard"), reviewer_of("standard")
    review_task_claim(task=task, user=alice)
    with pytest.raises(ApplicationError) as exc:
        review_task_claim(task=task, user=bob)
    assert exc.value.code == "task_claimed" and alice.username in exc.value.message
    with pytest.raises(ApplicationError) as exc:
        review_decide(task=task, user=bob, outcome="approve")
    assert exc.value.code == "task_claimed"


def test_expired_claim_can_be_taken_over(reviewer_of, settings):
    task = task_with_proposal()
    alice, bob = reviewer_of("standard"), reviewer_of("standard")
    review_task_claim(task=task, user=alice)
    ReviewTask.objects.filter(pk=task.pk).update(
        claim_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert review_task_claim(task=task, user=bob).assignee == bob


def test_release_by_assignee_or_senior_only(reviewer_of):
    task = task_with_proposal()
    alice, bob = reviewer_of("standard"), reviewer_of("standard")
    senior = reviewer_of("standard", role=roles.SENIOR_REVIEWER)
    review_task_claim(task=task, user=alice)
    with pytest.raises(ApplicationError):
        review_task_release(task=task, user=bob)
    assert review_task_release(task=task, user=senior).status == TaskStatus.OPEN
    review_task_claim(task=task, user=alice)
    released = review_task_release(task=task, user=alice)
    assert released.assignee is None and released.status == TaskStatus.OPEN


def test_reassign_needs_senior_and_a_target_of_the_queue(reviewer_of):
    task = task_with_proposal()
    alice, bob = reviewer_of("standard"), reviewer_of("standard")
    outsider = reviewer_of("legal")
    senior = reviewer_of("standard", role=roles.SENIOR_REVIEWER)
    with pytest.raises(ApplicationError) as exc:
        review_task_reassign(task=task, to_user=bob, by=alice)
    assert exc.value.status_code == 403
    with pytest.raises(ApplicationError) as exc:
        review_task_reassign(task=task, to_user=outsider, by=senior)
    assert exc.value.code == "invalid_assignee"
    review_task_claim(task=task, user=alice)
    version = reload(task).version
    assert review_task_reassign(task=task, to_user=bob, by=senior).assignee == bob
    # alice's open form is now stale: refused, nothing written
    with pytest.raises(ApplicationError) as exc:
        review_decide(task=task, user=alice, outcome="approve", expected_version=version)
    assert exc.value.code in ("task_changed", "task_claimed")
    assert not ReviewDecision.objects.exists()


def test_reviewer_of_another_queue_is_forbidden(reviewer_of):
    task = task_with_proposal()
    outsider = reviewer_of("legal")
    for call in (
        lambda: review_task_claim(task=task, user=outsider),
        lambda: review_decide(task=task, user=outsider, outcome="approve"),
    ):
        with pytest.raises(ApplicationError) as exc:
            call()
        assert exc.value.status_code == 403


def test_inactive_reviewer_is_refused(reviewer_of):
    task = task_with_proposal()
    user = reviewer_of("standard")
    user.is_active = False
    with pytest.raises(ApplicationError) as exc:
        review_decide(task=task, user=user, outcome="approve")
    assert exc.value.status_code == 403


# --- approving -------------------------------------------------------------------------------


def test_approve_finalizes_the_proposal_and_queues_execution(
    reviewer_of, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("refunds.jobs.enqueue_refund_request_execution", queued.append)
    task = task_with_proposal(amount="20.00")
    user = reviewer_of("standard")
    with django_capture_on_commit_callbacks(execute=True):
        decision = review_decide(task=task, user=user, outcome="approve")
    request = reload(task.request)
    assert request.status == RefundStatus.APPROVED
    assert (request.final_action, request.final_amount) == ("approve_refund", Decimal("20.00"))
    assert (
        decision.payload_hash == request.final_payload_hash
        and final_payload_check(request) == Verdict.VALID
    )
    assert decision.is_final and decision.amount_difference == Decimal("0.00")
    assert reload(task).status == TaskStatus.DECIDED
    assert queued == [request.pk]
    finalized = events("decision.finalized")[0]
    assert finalized.payload["source"] == "review" and finalized.actor_id == str(user.pk)


def test_approve_with_edits_records_difference_from_proposal(reviewer_of):
    task = task_with_proposal(amount="20.00")
    decision = review_decide(
        task=task,
        user=reviewer_of("standard"),
        outcome="approve_with_edits",
        action="approve_refund",
        amount=Decimal("12.5"),
        message="Partial refund, sorry!",
    )
    assert decision.amount == Decimal("12.50") and decision.proposed_amount == Decimal("20.00")
    assert decision.amount_difference == Decimal("-7.50")
    assert reload(task.request).final_amount == Decimal("12.50")
    assert decision.message == "Partial refund, sorry!"


@pytest.mark.parametrize(
    ("action", "amount", "message"),
    [
        ("approve_refund", "0", "not a refund"),
        ("deny_refund", "5.00", "Only a refund carries an amount"),
        ("pay_twice", "5.00", "Unknown action"),
        ("approve_refund", "-1", "zero or more"),
    ],
)
def test_approve_with_edits_validates(reviewer_of, action, amount, message):
    task = task_with_proposal(amount="20.00")
    with pytest.raises(ApplicationError) as exc:
        review_decide(
            task=task,
            user=reviewer_of("standard"),
            outcome="approve_with_edits",
            action=action,
            amount=Decimal(amount),
        )
    assert message in exc.value.message and exc.value.status_code == 400
    assert reload(task.request).status == RefundStatus.IN_REVIEW
    assert not ReviewDecision.objects.exists()


def test_approve_over_the_orders_remainder_is_refused_with_what_is_left(reviewer_of):
    task = task_with_proposal(amount="20.00")
    with pytest.raises(ApplicationError) as exc:
        review_decide(
            task=task,
            user=reviewer_of("standard"),
            outcome="approve_with_edits",
            action="approve_refund",
            amount=Decimal("25.00"),
        )
    assert exc.value.code == "refund_exceeds_remaining" and exc.value.status_code == 409
    assert "exceeds what is left to refund on the order (20.00 GBP" in exc.value.message
    assert reload(task.request).status == RefundStatus.IN_REVIEW
    assert not ReviewDecision.objects.exists()


def test_approve_without_a_proposal_is_refused(reviewer_of):
    task = task_with_proposal(proposal=False)
    with pytest.raises(ApplicationError) as exc:
        review_decide(task=task, user=reviewer_of("standard"), outcome="approve")
    assert "approve with edits" in exc.value.message


def test_approving_a_denial_finalizes_it_with_zero(reviewer_of):
    task = task_with_proposal(action="deny_refund")
    review_decide(task=task, user=reviewer_of("standard"), outcome="approve")
    request = reload(task.request)
    assert (request.final_action, request.final_amount) == ("deny_refund", Decimal("0.00"))


def test_no_one_decides_a_case_they_created(reviewer_of):
    task = task_with_proposal()
    user = reviewer_of("standard")
    RefundRequest.objects.filter(pk=task.request.pk).update(submitted_by=user)
    task.request.submitted_by = user
    with pytest.raises(ApplicationError) as exc:
        review_decide(task=task, user=user, outcome="approve")
    assert exc.value.status_code == 403


def test_review_decide_refuses_second_decision_with_who_and_when(reviewer_of):
    task = task_with_proposal()
    alice, bob = reviewer_of("standard"), reviewer_of("standard")
    review_decide(task=task, user=alice, outcome="approve")
    for user in (alice, bob):  # a double click, or a second reviewer
        with pytest.raises(ApplicationError) as exc:
            review_decide(task=task, user=user, outcome="reject", reason_code="other", comment="no")
        assert exc.value.code == "task_already_decided"
        assert f"Already decided by {alice.username} at" in exc.value.message
    assert ReviewDecision.objects.count() == 1
    assert reload(task.request).status == RefundStatus.APPROVED


def test_stale_version_is_refused(reviewer_of):
    task = task_with_proposal()
    user = reviewer_of("standard")
    with pytest.raises(ApplicationError) as exc:
        review_decide(task=task, user=user, outcome="approve", expected_version=task.version + 1)
    assert exc.value.code == "task_changed"


# --- four eyes -------------------------------------------------------------------------------


def test_four_eyes_first_approval_is_not_final(reviewer_of, settings):
    settings.REVIEW_FOUR_EYES_AMOUNT = "100.00"
    task = task_with_proposal(amount="150.00")
    alice, bob = reviewer_of("standard"), reviewer_of("standard")
    review_task_claim(task=task, user=alice)
    first = review_decide(task=task, user=alice, outcome="approve")
    assert first.pending and not first.is_final
    assert reload(task.request).status == RefundStatus.IN_REVIEW
    task = reload(task)
    assert task.status == TaskStatus.OPEN and task.assignee is None
    with pytest.raises(ApplicationError) as exc:
        review_decide(task=task, user=alice, outcome="approve")
    assert exc.value.code == "four_eyes_same_approver"
    second = review_decide(task=task, user=bob, outcome="approve")
    assert second.is_final and second.confirms == first and not reload(first).pending
    request = reload(task.request)
    assert request.status == RefundStatus.APPROVED
    assert request.final_payload_hash == first.payload_hash == second.payload_hash


def test_four_eyes_second_approver_with_different_amount_restarts(reviewer_of, settings):
    settings.REVIEW_FOUR_EYES_AMOUNT = "100.00"
    task = task_with_proposal(amount="150.00")
    alice, bob = reviewer_of("standard"), reviewer_of("standard")
    review_decide(task=task, user=alice, outcome="approve")
    edited = review_decide(
        task=task,
        user=bob,
        outcome="approve_with_edits",
        action="approve_refund",
        amount=Decimal("120.00"),
    )
    assert edited.pending and reload(task.request).status == RefundStatus.IN_REVIEW
    assert ReviewDecision.objects.filter(pending=True).count() == 1
    # alice may now confirm bob's figure: a different person from the pending approver
    final = review_decide(
        task=task,
        user=alice,
        outcome="approve_with_edits",
        action="approve_refund",
        amount=Decimal("120.00"),
    )
    assert final.is_final and reload(task.request).final_amount == Decimal("120.00")


def test_four_eyes_confirmation_across_an_integrity_key_rotation(reviewer_of, settings):
    """The first approval's keyed hash was made with the key before a rotation: the second
    approver still confirms it (verified with the retired key), and the final hash is
    made with the new key."""
    k1, k2 = "k1-secret-" + "a" * 40, "k2-secret-" + "b" * 40
    settings.REVIEW_FOUR_EYES_AMOUNT = "100.00"
    settings.HITL_INTEGRITY_KEY_ID, settings.HITL_INTEGRITY_KEY = "k1", k1
    task = task_with_proposal(amount="150.00")
    alice, bob = reviewer_of("standard"), reviewer_of("standard")
    first = review_decide(task=task, user=alice, outcome="approve")
    settings.HITL_INTEGRITY_KEY_ID, settings.HITL_INTEGRITY_KEY = "k2", k2
    settings.HITL_INTEGRITY_KEYS_OLD = f"k1:{k1}"

    second = review_decide(task=reload(task), user=bob, outcome="approve")

    assert second.is_final and second.confirms == first
    assert first.payload_hash.startswith("hmac-sha256:k1:")
    assert reload(task.request).final_payload_hash == second.payload_hash
    assert second.payload_hash.startswith("hmac-sha256:k2:")


def test_four_eyes_pending_approval_edited_in_the_database_is_not_confirmed(reviewer_of, settings):
    """Someone with database access lowers the pending first approval's amount and
    recomputes a plain hash, hoping the second approver's figure matches it: the second
    approval becomes a new first approval instead of a confirmation."""
    from refunds.decisions import FinalPayload

    settings.REVIEW_FOUR_EYES_AMOUNT = "100.00"
    task = task_with_proposal(amount="150.00")
    alice, bob = reviewer_of("standard"), reviewer_of("standard")
    first = review_decide(task=task, user=alice, outcome="approve")
    request = task.request
    lowered = FinalPayload(
        str(request.public_id), "approve_refund", Decimal("120.00"), request.currency
    )
    ReviewDecision.objects.filter(pk=first.pk).update(
        amount=Decimal("120.00"), payload_hash=lowered.digest()
    )

    second = review_decide(
        task=reload(task),
        user=bob,
        outcome="approve_with_edits",
        action="approve_refund",
        amount=Decimal("120.00"),
    )

    assert second.pending and not second.is_final
    assert reload(task.request).status == RefundStatus.IN_REVIEW


def test_four_eyes_not_needed_at_or_below_the_amount(reviewer_of, settings):
    settings.REVIEW_FOUR_EYES_AMOUNT = "100.00"
    task = task_with_proposal(amount="100.00")
    assert review_decide(task=task, user=reviewer_of("standard"), outcome="approve").is_final


def test_rejection_after_a_first_approval_closes_it(reviewer_of, settings):
    settings.REVIEW_FOUR_EYES_AMOUNT = "100.00"
    task = task_with_proposal(amount="150.00")
    first = review_decide(task=task, user=reviewer_of("standard"), outcome="approve")
    review_decide(
        task=task,
        user=reviewer_of("standard"),
        outcome="reject",
        reason_code="suspected_fraud",
        comment="Pattern of abuse.",
    )
    assert not reload(first).pending
    assert reload(task.request).status == RefundStatus.REJECTED


# --- reject, escalate, more info -------------------------------------------------------------


def test_reject_needs_reason_code_and_comment(reviewer_of):
    task = task_with_proposal()
    user = reviewer_of("standard")
    for kwargs in (
        {"reason_code": "", "comment": "x"},
        {"reason_code": "policy_not_met", "comment": "  "},
        {"reason_code": "made_up", "comment": "x"},
    ):
        with pytest.raises(ApplicationError):
            review_decide(task=task, user=user, outcome="reject", **kwargs)
    decision = review_decide(
        task=task,
        user=user,
        outcome="reject",
        reason_code="outside_window",
        comment="Bought 8 months ago.",
    )
    assert decision.is_final and decision.reason_code == "outside_window"
    message = OutboundMessage.objects.get(request=task.request)  # the customer is told
    assert message.kind == "denial" and "unable to offer a refund" in message.body
    assert reload(task.request).status == RefundStatus.REJECTED
    assert reload(task.request).final_payload_hash == ""


def test_escalate_moves_task_to_senior_queue_with_raised_priority(reviewer_of):
    task = task_with_proposal(priority=1)
    user = reviewer_of("standard")
    with pytest.raises(ApplicationError):
        review_decide(task=task, user=user, outcome="escalate", comment="")
    decision = review_decide(
        task=task, user=user, outcome="escalate", comment="Customer threatens a chargeback."
    )
    task = reload(task)
    assert not decision.is_final
    assert (task.queue.slug, task.status, task.priority) == ("senior", "escalated", 2)
    assert task.escalation_note == "Customer threatens a chargeback."
    assert reload(task.request).status == RefundStatus.ESCALATED
    # the standard reviewer no longer sees it; a senior of the senior queue decides it
    with pytest.raises(ApplicationError):
        review_decide(task=task, user=user, outcome="approve")
    senior = reviewer_of("senior", role=roles.SENIOR_REVIEWER)
    review_decide(task=task, user=senior, outcome="approve")
    assert reload(task.request).status == RefundStatus.APPROVED


def test_request_more_info_asks_the_customer(reviewer_of):
    task = task_with_proposal()
    user = reviewer_of("standard")
    with pytest.raises(ApplicationError):
        review_decide(task=task, user=user, outcome="request_more_info", message="")
    decision = review_decide(
        task=task,
        user=user,
        outcome="request_more_info",
        message="Could you send a photo of the damage?",
    )
    assert decision.message == "Could you send a photo of the damage?" and decision.is_final
    message = OutboundMessage.objects.get(request=task.request)
    assert (message.kind, message.body) == ("more_info", "Could you send a photo of the damage?")
    assert reload(task.request).status == RefundStatus.AWAITING_CUSTOMER
    assert reload(task).status == TaskStatus.DECIDED


def test_decision_on_a_request_no_longer_in_review_rolls_back(reviewer_of):
    task = task_with_proposal()
    type(task.request).objects.filter(pk=task.request.pk).update(status=RefundStatus.EXPIRED)
    with pytest.raises(IllegalTransition):
        review_decide(task=task, user=reviewer_of("standard"), outcome="approve")
    assert not ReviewDecision.objects.exists()
    assert reload(task).status == TaskStatus.OPEN


# --- PII -------------------------------------------------------------------------------------


def test_pii_reveal_needs_permission_and_is_audited(reviewer_of):
    task = task_with_proposal()
    with pytest.raises(ApplicationError):
        review_pii_reveal(task=task, user=reviewer_of("standard"))
    senior = reviewer_of("standard", role=roles.SENIOR_REVIEWER)
    review_pii_reveal(task=task, user=senior)
    event = events("review.pii_revealed")[0]
    assert event.actor_id == str(senior.pk) and event.payload["task"] == task.pk


# --- SLA -------------------------------------------------------------------------------------


def test_sla_sweep_escalates_overdue_tasks_to_senior(reviewer_of):
    task = task_with_proposal(priority=1)
    now = task.due_at + timedelta(minutes=1)
    assert review_sla_sweep(now=now) == {"expired": 0, "escalated": 1, "released": 0}
    task = reload(task)
    assert (task.queue.slug, task.priority, task.status) == ("senior", 2, "escalated")
    assert reload(task.request).status == RefundStatus.ESCALATED
    assert review_sla_sweep(now=now)["escalated"] == 0  # only once


def test_sla_sweep_keeps_legal_tasks_in_legal(reviewer_of):
    task = task_with_proposal(queue_slug="legal", priority=0)
    review_sla_sweep(now=task.due_at + timedelta(minutes=1))
    task = reload(task)
    assert (task.queue.slug, task.priority, task.status) == ("legal", 1, "escalated")


def test_sla_sweep_skips_live_claims_and_releases_stale_ones(reviewer_of):
    task = task_with_proposal()
    review_task_claim(task=task, user=reviewer_of("standard"))
    task = reload(task)
    overdue = task.due_at + timedelta(minutes=1)
    ReviewTask.objects.filter(pk=task.pk).update(claim_expires_at=overdue + timedelta(hours=1))
    assert review_sla_sweep(now=overdue)["escalated"] == 0
    later = overdue + timedelta(hours=2)
    counts = review_sla_sweep(now=later)
    assert counts["escalated"] == 1
    assert reload(task).assignee is None


def test_sla_sweep_releases_claims_that_ran_out(reviewer_of):
    task = task_with_proposal()
    review_task_claim(task=task, user=reviewer_of("standard"))
    now = reload(task).claim_expires_at + timedelta(seconds=1)
    assert review_sla_sweep(now=now)["released"] == 1
    assert reload(task).status == TaskStatus.OPEN


def test_sla_sweep_expires_past_hard_deadline_without_executing(
    reviewer_of, django_capture_on_commit_callbacks, monkeypatch
):
    executed = []
    monkeypatch.setattr("refunds.jobs.enqueue_refund_request_execution", executed.append)
    task = task_with_proposal()
    with django_capture_on_commit_callbacks(execute=True):
        counts = review_sla_sweep(now=task.deadline_at + timedelta(seconds=1))
    assert counts["expired"] == 1 and executed == []
    notice = OutboundMessage.objects.get(request=task.request)
    assert notice.kind == "case_open" and "still open" in notice.body
    task, request = reload(task), reload(task.request)
    assert task.status == TaskStatus.EXPIRED
    assert request.status == RefundStatus.EXPIRED and request.final_action == ""
    timed_out = events("review.timed_out")[0]
    assert "still open" in timed_out.payload["customer_notice"]
    assert not ReviewDecision.objects.exists()  # a timeout is not a human rejection
    with pytest.raises(ApplicationError) as exc:
        review_decide(task=task, user=reviewer_of("standard"), outcome="approve")
    assert exc.value.code == "task_expired"


def test_review_task_open_takes_what_the_gate_produces():
    """What the gate's REVIEW HOOK passes: its evaluation's queue, priority and reasons."""
    from decimal import Decimal as D

    from refunds.agent.schemas import RefundDecision
    from refunds.gate.services import refund_request_gate
    from refunds.tests.factories import OrderFactory
    from reviews.tests.factories import active_gate_policy

    active_gate_policy()  # (a transactional test's flush may have emptied the table)
    request = RefundRequestFactory(
        status=RefundStatus.GATED, order=OrderFactory(amount=D("300.00"))
    )
    decision = RefundDecision(
        action="approve_refund",
        amount=D("300.00"),
        currency="GBP",
        rationale="The customer says it is fraud.",
        policy_match="weak",
        needs_human_review=True,
        customer_sentiment="angry",
    )
    evaluation = refund_request_gate(request=request, decision=decision)
    assert evaluation.route == "review"
    task = review_task_open(
        request=request,
        queue_slug=evaluation.queue,
        priority=evaluation.priority,
        reasons=evaluation.reasons,
    )
    assert task.queue.slug == evaluation.queue == "legal"
    assert {r["code"] for r in task.reasons} == set(evaluation.reason_codes)
    assert f",{evaluation.reason_codes[0]}," in task.reason_codes


# --- Issue 14: edits and messages are never silently dropped -----------------------------------


@pytest.mark.parametrize(
    ("action", "amount"), [(None, Decimal("15.00")), ("deny_refund", None), ("x", Decimal("1"))]
)
def test_approve_as_proposed_refuses_other_figures(reviewer_of, action, amount):
    task = task_with_proposal(amount="20.00")

    with pytest.raises(ApplicationError) as exc:
        review_decide(
            task=task, user=reviewer_of("standard"), outcome="approve", action=action, amount=amount
        )

    assert exc.value.code == "invalid_decision" and "Approve with edits" in exc.value.message
    assert reload(task.request).status == RefundStatus.IN_REVIEW
    assert not ReviewDecision.objects.exists()


def test_approve_as_proposed_accepts_the_same_figures_written_differently(reviewer_of):
    task = task_with_proposal(amount="20.00")

    review_decide(
        task=task,
        user=reviewer_of("standard"),
        outcome="approve",
        action="approve_refund",
        amount=Decimal("20"),
    )

    assert reload(task.request).final_amount == Decimal("20.00")


def test_approval_message_is_sent_to_the_customer_through_the_webhook(reviewer_of, monkeypatch):
    from refunds.models import WebhookDelivery

    monkeypatch.setattr("refunds.webhooks.enqueue_webhook_delivery", lambda pk: None)
    task = task_with_proposal(amount="20.00")
    integration = task.request.integration
    integration.webhook_url = "https://shop.example/hooks"
    integration.save()

    decision = review_decide(
        task=task,
        user=reviewer_of("standard"),
        outcome="approve",
        message="Refunded in full; sorry about the crack.",
    )

    message = OutboundMessage.objects.get(request=task.request)
    assert (message.kind, message.body, message.idempotency_key) == (
        OutboundMessage.Kind.APPROVAL,
        "Refunded in full; sorry about the crack.",
        f"review-decision-{decision.pk}",
    )
    delivery = WebhookDelivery.objects.get(event="customer_message.created")
    assert delivery.payload["data"] == {
        "message_reference": message.reference,
        "kind": "approval",
        "body": "Refunded in full; sorry about the crack.",
    }
    assert events("review.decided")[0].payload["customer_message"] == message.reference


def test_approval_without_a_message_sends_no_message(reviewer_of):
    task = task_with_proposal(amount="20.00")

    review_decide(task=task, user=reviewer_of("standard"), outcome="approve")

    assert not OutboundMessage.objects.exists()


def test_an_approved_denial_sends_the_reviewers_words_once_not_the_standard_text(reviewer_of):
    from refunds.execution.executor import execution_run

    task = task_with_proposal(action="deny_refund")
    review_decide(
        task=task,
        user=reviewer_of("standard"),
        outcome="approve",
        message="The warranty ended in March, so we cannot refund it.",
    )

    outcome = execution_run(request_id=task.request.pk)

    assert outcome.status == RefundStatus.EXECUTED
    message = OutboundMessage.objects.get(request=task.request)  # one message, not two
    assert (message.kind, message.body) == (
        OutboundMessage.Kind.DENIAL,
        "The warranty ended in March, so we cannot refund it.",
    )
    from refunds.thread import case_thread

    (decision,) = [e for e in case_thread(request=task.request).entries if e.kind == "decision"]
    assert decision.note == f"sent to the customer as {message.reference} (below)"


def test_four_eyes_sends_the_approval_message_only_when_final(reviewer_of, settings):
    settings.REVIEW_FOUR_EYES_AMOUNT = "100.00"
    task = task_with_proposal(amount="150.00")
    alice, bob = reviewer_of("standard"), reviewer_of("standard")

    review_decide(task=task, user=alice, outcome="approve", message="Refunded, sorry!")
    assert not OutboundMessage.objects.exists()  # a first approval tells the customer nothing
    review_decide(task=reload(task), user=bob, outcome="approve")

    assert OutboundMessage.objects.get(request=task.request).body == "Refunded, sorry!"


def test_request_more_info_refuses_the_same_question_twice(reviewer_of):
    from refunds.tests.factories import asked_and_answered

    task = task_with_proposal()
    asked_and_answered(task.request, "Could you send a photo of the damage?", "Attached.")

    with pytest.raises(ApplicationError) as exc:
        review_decide(
            task=task,
            user=reviewer_of("standard"),
            outcome="request_more_info",
            message="could you send a photo  of the damage? ",
        )

    assert exc.value.code == "repeat_question" and exc.value.status_code == 400
    assert reload(task.request).status == RefundStatus.IN_REVIEW
    review_decide(
        task=task,
        user=reviewer_of("standard"),
        outcome="request_more_info",
        message="Which of the two mugs is cracked?",
    )
    assert reload(task.request).status == RefundStatus.AWAITING_CUSTOMER
