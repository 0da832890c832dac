"""The hook points through which apps built on refunds plug in (refunds/hooks.py)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from refunds import hooks
from refunds.admin_scope import case_scope_for_admin
from refunds.gate.services import refund_request_gate
from refunds.models import GateEvaluation, RefundRequest
from refunds.states import RefundStatus
from refunds.tests.factories import RefundDecisionFactory, RefundRequestFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_reviews_app_registers_its_task_opener_and_case_scope():
    from reviews.permissions import case_scope_for_user
    from reviews.services import review_task_open

    assert hooks.review_task_opener.get() is review_task_open
    assert hooks.case_scope_provider.get() is case_scope_for_user


def test_a_hook_without_an_implementation_is_a_configuration_error():
    hook: hooks.Hook = hooks.Hook("example", "for the test")

    with pytest.raises(ImproperlyConfigured, match="example"):
        hook.get()


def test_entering_review_calls_the_registered_opener_with_the_gate_queue():
    calls = []
    request = RefundRequestFactory(status=RefundStatus.GATED, order__amount=Decimal("40.00"))

    with hooks.review_task_opener.override(lambda **kwargs: calls.append(kwargs)):
        refund_request_gate(
            request=request, decision=RefundDecisionFactory(rationale="possible fraud here")
        )

    evaluation = GateEvaluation.objects.get(request=request)
    assert [(c["request"].pk, c["queue_slug"], c["priority"]) for c in calls] == [
        (request.pk, evaluation.queue, evaluation.priority)
    ]
    assert calls[0]["reasons"] == evaluation.reasons


def test_a_case_cannot_enter_review_with_no_task_opener_registered():
    request = RefundRequestFactory(status=RefundStatus.GATED, order__amount=Decimal("40.00"))

    with (
        hooks.review_task_opener.override(None),
        pytest.raises(ImproperlyConfigured, match="review_task_opener"),
    ):
        refund_request_gate(
            request=request, decision=RefundDecisionFactory(rationale="possible fraud here")
        )

    request.refresh_from_db()
    assert request.status == RefundStatus.GATED


def test_the_admin_scope_asks_the_registered_provider():
    user = UserFactory()
    seen = []

    def provider(user, *, field="pk"):
        seen.append((user, field))
        return None

    with hooks.case_scope_provider.override(provider):
        assert case_scope_for_admin(user, field="request_id") is None
    assert seen == [(user, "request_id")]


def test_the_admin_scope_fails_closed_with_no_provider():
    with hooks.case_scope_provider.override(None), pytest.raises(ImproperlyConfigured):
        case_scope_for_admin(UserFactory())
    assert RefundRequest.objects.count() == 0
