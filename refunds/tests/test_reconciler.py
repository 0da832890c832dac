"""The reconciler re-drives final decisions with no finished execution: lost tasks (Redis
broker), crashed workers, ambiguous provider answers; and leaves live work alone."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from refunds.execution.reconciler import executions_reconcile, executions_to_redrive
from refunds.models import Execution, LedgerRefund, RefundRequest
from refunds.states import RefundStatus
from refunds.tests.factories import final_decision

pytestmark = pytest.mark.django_db
S = RefundStatus


def age(request, seconds=600):
    RefundRequest.objects.filter(pk=request.pk).update(
        status_changed_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_decision_whose_task_was_lost_is_executed():
    request = final_decision(amount="5")
    age(request)

    report = executions_reconcile(inline=True)

    assert report.outcomes == {request.pk: S.EXECUTED}
    assert LedgerRefund.objects.count() == 1


def test_fresh_decision_is_left_to_its_own_task(settings):
    settings.HITL_RECONCILE_GRACE = 120
    final_decision(amount="5")

    assert executions_to_redrive() == []


def test_crashed_execution_is_resumed_once_its_lock_expires():
    request = final_decision(amount="5")
    with (
        mock.patch("refunds.execution.executor._record", side_effect=KeyboardInterrupt),
        pytest.raises(KeyboardInterrupt),
    ):
        from refunds.execution.executor import execution_run

        execution_run(request_id=request.pk)
    Execution.objects.update(
        locked_until=timezone.now() + timedelta(minutes=1), lock_owner="dead-worker"
    )
    assert executions_to_redrive() == []

    Execution.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    report = executions_reconcile(inline=True)

    assert report.outcomes == {request.pk: S.EXECUTED}
    assert LedgerRefund.objects.count() == 1


def test_ambiguous_outcome_is_retried_when_due():
    request = final_decision(amount="5")
    Execution.objects.create(
        request=request,
        payload_hash=request.final_payload_hash,
        decided_at=request.decided_at,
        idempotency_key="hitl-test-key",
        action="approve_refund",
        amount=request.final_amount,
        currency="GBP",
        phase=Execution.Phase.PROVIDER_CALLED,
        attempts=1,
        first_called_at=timezone.now(),
        next_attempt_at=timezone.now() + timedelta(minutes=1),
    )
    RefundRequest.objects.filter(pk=request.pk).update(status=S.EXECUTING)
    assert executions_to_redrive() == []

    Execution.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))

    assert executions_to_redrive() == [request.pk]


def test_finished_and_failed_executions_are_left_alone():
    done = final_decision(amount="5")
    failed = final_decision(amount="0")
    executions_reconcile(inline=True, grace_seconds=0)
    assert RefundRequest.objects.get(pk=done.pk).status == S.EXECUTED
    assert RefundRequest.objects.get(pk=failed.pk).status == S.EXECUTION_FAILED

    assert executions_to_redrive(grace_seconds=0) == []


def test_without_inline_the_executions_are_queued():
    request = final_decision(amount="5")
    age(request)

    with mock.patch("refunds.jobs.async_task") as async_task:
        report = executions_reconcile()

    assert report.outcomes == {request.pk: "queued"}
    assert async_task.call_args.args == ("refunds.tasks.refund_request_execute", request.pk)


def test_command_reports_what_it_did(capsys):
    request = final_decision(amount="5")

    call_command("reconcile_executions", "--inline", "--grace", "0")

    out = capsys.readouterr().out
    assert f"request {request.pk}: executed" in out and "Re-driven: 1." in out


def test_the_reconciler_and_the_webhook_sweep_are_scheduled():
    funcs = set(Schedule.objects.values_list("func", flat=True))

    assert {"refunds.tasks.executions_reconcile", "refunds.tasks.webhooks_deliver_due"} <= funcs


def test_scheduled_task_runs_the_reconciler():
    from refunds.tasks import executions_reconcile as task

    request = final_decision(amount="5")
    age(request)
    with mock.patch("refunds.jobs.async_task") as async_task:
        task()

    async_task.assert_called_once()
