"""The gate services: routing a gated request, and creating and activating policy versions."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import Actor
from hitl_site.errors import ApplicationError
from refunds.gate.services import (
    gate_policy_version_activate,
    gate_policy_version_create,
    refund_request_gate,
)
from refunds.gate.vocabulary import GatePolicySnapshot
from refunds.models import GateEvaluation, GatePolicyVersion, RefundRequest
from refunds.states import RefundStatus
from refunds.tests.factories import (
    CustomerFactory,
    GatePolicyVersionFactory,
    OrderFactory,
    RefundDecisionFactory,
    RefundRequestFactory,
    UserFactory,
    final_decision,
)

pytestmark = pytest.mark.django_db

ADMIN = Actor.system("tests")


@pytest.fixture
def gated_request():
    return RefundRequestFactory(status=RefundStatus.GATED, order__amount=Decimal("40.00"))


def _events(event_type):
    return list(AuditEvent.objects.filter(event_type=event_type))


# --- refund_request_gate ----------------------------------------------------------------------


def test_refund_request_gate_auto_approves_a_clean_proposal(gated_request):
    refund_request_gate(request=gated_request, decision=RefundDecisionFactory())

    gated_request.refresh_from_db()
    assert gated_request.status == RefundStatus.AUTO_APPROVED


def test_auto_approval_is_finalized_with_a_payload_hash_and_queues_execution(
    gated_request, django_capture_on_commit_callbacks
):
    from unittest import mock

    from audit.integrity import Verdict
    from refunds.decisions import final_payload_check

    with (
        mock.patch("refunds.jobs.async_task") as async_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        refund_request_gate(request=gated_request, decision=RefundDecisionFactory())

    gated_request.refresh_from_db()
    assert final_payload_check(gated_request) == Verdict.VALID
    async_task.assert_called_once_with(
        "refunds.tasks.refund_request_execute",
        gated_request.pk,
        task_name=mock.ANY,
        group="refund-execution",
    )


def test_refund_request_gate_sets_the_final_decision_on_auto_approval(gated_request):
    refund_request_gate(
        request=gated_request, decision=RefundDecisionFactory(amount=Decimal("12.34"))
    )

    gated_request.refresh_from_db()
    assert (gated_request.final_action, gated_request.final_amount) == (
        "approve_refund",
        Decimal("12.34"),
    )
    assert gated_request.decided_at is not None


def test_refund_request_gate_sends_an_angry_customer_to_review(gated_request):
    refund_request_gate(
        request=gated_request, decision=RefundDecisionFactory(customer_sentiment="angry")
    )

    gated_request.refresh_from_db()
    assert gated_request.status == RefundStatus.IN_REVIEW
    assert gated_request.final_action == ""


def test_refund_request_gate_stores_route_reasons_and_policy_version(gated_request):
    evaluation = refund_request_gate(
        request=gated_request, decision=RefundDecisionFactory(amount=Decimal("30.00"))
    )

    stored = GateEvaluation.objects.get(request=gated_request)
    assert stored == evaluation
    assert (stored.route, stored.reason_codes, stored.queue) == (
        "review",
        ["amount_over_ceiling"],
        "standard",
    )
    assert stored.policy_version == GatePolicyVersion.objects.get(is_active=True)


def test_refund_request_gate_stores_the_decision_and_context_it_judged(gated_request):
    decision = RefundDecisionFactory()

    evaluation = refund_request_gate(request=gated_request, decision=decision)

    assert evaluation.decision == decision.model_dump(mode="json")
    assert evaluation.context["refundable_remaining"] == "40.00"
    assert evaluation.context["customer_message"] == gated_request.message


def test_refund_request_gate_audits_the_evaluation(gated_request):
    refund_request_gate(
        request=gated_request, decision=RefundDecisionFactory(needs_human_review=True)
    )

    (event,) = _events("gate.evaluated")
    assert event.payload["route"] == "review"
    assert event.payload["reasons"][0]["code"] == "model_requested_review"
    assert event.payload["policy_version"] == 1


def test_refund_request_gate_puts_reasons_and_queue_in_the_transition_event(gated_request):
    refund_request_gate(
        request=gated_request,
        decision=RefundDecisionFactory(rationale="Customer mentions a lawsuit."),
    )

    (event,) = _events("refund_request.transitioned")
    assert (event.payload["to"], event.payload["queue"], event.payload["reasons"]) == (
        "in_review",
        "legal",
        ["high_risk_term"],
    )


def test_refund_request_gate_sets_the_review_priority_on_the_request():
    request = RefundRequestFactory(status=RefundStatus.GATED, order__customer__tier="premium")

    refund_request_gate(request=request, decision=RefundDecisionFactory(customer_sentiment="angry"))

    request.refresh_from_db()
    assert request.priority == RefundRequest.Priority.HIGH


def test_refund_request_gate_reviews_a_failed_draft(gated_request):
    evaluation = refund_request_gate(
        request=gated_request, decision=None, failure_code="model_unavailable"
    )

    assert evaluation.reason_codes == ["model_failed"]
    assert (evaluation.decision, evaluation.failure_code) == (None, "model_unavailable")


def test_refund_request_gate_refuses_a_request_that_is_not_gated():
    request = RefundRequestFactory(status=RefundStatus.DRAFTING)

    with pytest.raises(ApplicationError) as exc:
        refund_request_gate(request=request, decision=RefundDecisionFactory())

    assert exc.value.code == "not_gated"
    assert not GateEvaluation.objects.exists()


def test_refund_request_gate_reviews_an_order_of_another_customer():
    order = OrderFactory()
    other = CustomerFactory(integration=order.integration)
    request = RefundRequestFactory(status=RefundStatus.GATED, order=order, customer=other)

    evaluation = refund_request_gate(request=request, decision=RefundDecisionFactory())

    assert evaluation.reason_codes == ["order_owner_mismatch"]


def test_refund_request_gate_counts_refunds_already_granted_on_the_order():
    order = OrderFactory(amount=Decimal("40.00"))
    RefundRequestFactory(
        order=order,
        status=RefundStatus.EXECUTED,
        final_action="approve_refund",
        final_amount=Decimal("25.00"),
        decided_at=timezone.now(),
    )
    request = RefundRequestFactory(order=order, status=RefundStatus.GATED)

    evaluation = refund_request_gate(
        request=request, decision=RefundDecisionFactory(amount=Decimal("20.00"))
    )

    # The earlier refund was the same customer's: a repeat complaint too.
    assert evaluation.reason_codes == ["amount_exceeds_refundable", "repeat_complaint"]


def _repeat_complaint_rule_off():
    """The earlier request on the same order is also a repeat complaint; these tests are
    about the remainder alone."""
    gate_policy_version_activate(
        version=gate_policy_version_create(
            values={"repeat_complaint_min_requests": None}, change_note="no repeat", actor=ADMIN
        ),
        actor=ADMIN,
    )


@pytest.mark.parametrize("amount", ["20.00", "15.01"])
def test_an_auto_approval_past_what_other_approvals_reserved_goes_to_senior_review(amount):
    """The other refund is approved but not yet paid: it still holds its share, so the
    gate sends the one that would overspend the order to a human, as the finalize check
    would refuse it."""
    _repeat_complaint_rule_off()
    order = OrderFactory(amount=Decimal("40.00"))
    final_decision(amount="25.00", order=order)  # approved (reserved), not executed
    request = RefundRequestFactory(order=order, status=RefundStatus.GATED)

    evaluation = refund_request_gate(
        request=request, decision=RefundDecisionFactory(amount=Decimal(amount))
    )

    assert evaluation.reason_codes == ["amount_exceeds_refundable"]
    assert evaluation.queue == "senior"
    assert evaluation.context["refundable_remaining"] == "15.00"
    request.refresh_from_db()
    assert (request.status, request.final_action) == (RefundStatus.IN_REVIEW, "")


def test_an_auto_approval_of_what_is_left_after_reservations_goes_through():
    _repeat_complaint_rule_off()
    order = OrderFactory(amount=Decimal("40.00"))
    final_decision(amount="25.00", order=order)
    request = RefundRequestFactory(order=order, status=RefundStatus.GATED)

    refund_request_gate(request=request, decision=RefundDecisionFactory(amount=Decimal("15.00")))

    assert RefundRequest.objects.get(pk=request.pk).status == RefundStatus.AUTO_APPROVED


def test_refund_request_gate_applies_the_prior_refund_ceiling_of_the_active_policy():
    gate_policy_version_activate(
        version=gate_policy_version_create(
            values={"max_prior_refunds_90d": 0}, change_note="strict", actor=ADMIN
        ),
        actor=ADMIN,
    )
    earlier = RefundRequestFactory(
        status=RefundStatus.EXECUTED,
        final_action="approve_refund",
        final_amount=Decimal("5.00"),
        decided_at=timezone.now(),
    )
    request = RefundRequestFactory(status=RefundStatus.GATED, order__customer=earlier.customer)

    evaluation = refund_request_gate(request=request, decision=RefundDecisionFactory())

    assert evaluation.reason_codes == ["prior_refunds_exceeded", "repeat_complaint"]
    assert evaluation.policy_version.version == 2


def test_refund_request_gate_rolls_back_everything_when_the_transition_fails(
    gated_request, monkeypatch
):
    from refunds.gate import services

    def boom(**kwargs):
        raise ApplicationError("nope")

    monkeypatch.setattr(services, "refund_request_enter_review", boom)
    monkeypatch.setattr(services, "refund_request_finalize", boom)

    with pytest.raises(ApplicationError):
        refund_request_gate(request=gated_request, decision=RefundDecisionFactory())

    assert not GateEvaluation.objects.exists()
    assert not _events("gate.evaluated")


# --- Policy versions --------------------------------------------------------------------------


def test_default_policy_version_1_is_active_with_the_brief_values():
    (version,) = GatePolicyVersion.objects.all()

    assert version.is_active
    assert version.to_snapshot() == GatePolicySnapshot(version=1)


def test_gate_policy_version_create_makes_an_inactive_new_version():
    user = UserFactory()

    version = gate_policy_version_create(
        values={"auto_approve_ceiling": Decimal("30.00")},
        change_note="raise",
        actor=Actor.user(user),
        created_by=user,
    )

    assert (version.version, version.is_active, version.created_by) == (2, False, user)
    assert version.based_on.version == 1


def test_gate_policy_version_create_copies_the_unchanged_settings():
    version = gate_policy_version_create(
        values={"review_countries": ["us"]}, change_note="US", actor=ADMIN
    )

    assert version.to_snapshot().risk_terms == GatePolicySnapshot(version=1).risk_terms
    assert version.review_countries == ["US"]


def test_gate_policy_version_create_audits_the_diff():
    gate_policy_version_create(
        values={"auto_approve_ceiling": Decimal("30.00")}, change_note="raise", actor=ADMIN
    )

    (event,) = _events("gate_policy.version_created")
    assert event.payload["changes"] == [
        {"field": "auto_approve_ceiling", "old": "25.00", "new": "30.00"}
    ]
    assert event.payload["change_note"] == "raise"


def test_gate_policy_version_create_normalises_risk_terms():
    version = gate_policy_version_create(
        values={"risk_terms": [" Fraud", "FRAUD", "Injuries"]}, change_note="terms", actor=ADMIN
    )

    assert version.risk_terms == ["fraud", "injuries"]


@pytest.mark.parametrize(
    "values",
    [
        {"auto_approve_ceiling": Decimal("-1")},
        {"auto_approve_ceiling": Decimal("100000.01")},
        {"currency_ceilings": {"XXQ": "10"}},
        {"currency_ceilings": {"EUR": "-5"}},
        {"risk_terms": ["ab"]},
        {"review_countries": ["ZZ"]},
        {"auto_actions": ["launch_rocket"]},
        {"queue_routes": {"high_risk_term": "nowhere"}},
        {"max_prior_refunds_90d": 5000},
    ],
    ids=[
        "negative ceiling",
        "huge ceiling",
        "unknown currency",
        "negative currency ceiling",
        "too short term",
        "unknown country",
        "unknown action",
        "unknown queue",
        "huge prior refunds",
    ],
)
def test_gate_policy_version_create_refuses_invalid_values(values):
    with pytest.raises(ApplicationError) as exc:
        gate_policy_version_create(values=values, change_note="bad", actor=ADMIN)

    assert exc.value.code == "invalid_gate_policy"
    assert GatePolicyVersion.objects.count() == 1


def test_gate_policy_version_create_refuses_a_version_without_changes():
    with pytest.raises(ApplicationError) as exc:
        gate_policy_version_create(
            values={"auto_approve_ceiling": Decimal("25.00")}, change_note="same", actor=ADMIN
        )

    assert exc.value.code == "gate_policy_unchanged"


def test_gate_policy_version_activate_makes_it_the_only_active_version():
    draft = GatePolicyVersionFactory(auto_approve_ceiling=Decimal("10"))

    gate_policy_version_activate(version=draft, actor=ADMIN)

    assert list(GatePolicyVersion.objects.filter(is_active=True)) == [draft]


def test_gate_policy_version_activate_audits_who_and_what_changed():
    draft = GatePolicyVersionFactory(auto_approve_ceiling=Decimal("10"))

    gate_policy_version_activate(version=draft, actor=ADMIN)

    (event,) = _events("gate_policy.version_activated")
    assert (event.actor_label, event.payload["previous_version"]) == ("tests", 1)
    assert event.payload["changes"] == [
        {"field": "auto_approve_ceiling", "old": "25.00", "new": "10.00"}
    ]


def test_gate_policy_version_activate_refuses_the_active_version():
    with pytest.raises(ApplicationError) as exc:
        gate_policy_version_activate(version=GatePolicyVersion.objects.get(), actor=ADMIN)

    assert exc.value.code == "already_active"


def test_gate_policy_database_refuses_a_second_active_version():
    draft = GatePolicyVersionFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        GatePolicyVersion.objects.filter(pk=draft.pk).update(is_active=True)


def test_gate_policy_version_refuses_to_be_edited_in_place():
    version = GatePolicyVersion.objects.get()
    version.auto_approve_ceiling = Decimal("99")

    with pytest.raises(PermissionError):
        version.save()


def test_a_case_routed_to_review_gets_an_open_review_task_in_the_gate_queue(gated_request):
    from reviews.models import ReviewTask

    refund_request_gate(
        request=gated_request, decision=RefundDecisionFactory(rationale="possible fraud here")
    )

    task = ReviewTask.objects.get(request=gated_request)
    evaluation = GateEvaluation.objects.get(request=gated_request)
    assert task.queue.slug == evaluation.queue
    assert task.priority == evaluation.priority


def test_gate_context_counts_other_requests_of_the_customer_but_not_the_same_conversation():
    from datetime import timedelta

    from refunds.gate.selectors import gate_context_for_request

    now = timezone.now()
    customer = RefundRequestFactory().customer  # one earlier request, any outcome
    same_conversation = RefundRequestFactory(order__customer=customer, conversation_id="c-7")
    too_old = RefundRequestFactory(order__customer=customer)
    RefundRequest.objects.filter(pk=too_old.pk).update(created_at=now - timedelta(days=400))
    request = RefundRequestFactory(order__customer=customer, conversation_id="c-7")

    context = gate_context_for_request(request=request)

    assert same_conversation.customer == customer
    assert context.earlier_requests_365d == 1
