"""The keyed final-payload hash and the executor's cross-check with the audit log: a
database writer can change a decision, but cannot make the executor pay it."""

import json
import uuid
from decimal import Decimal
from importlib import import_module
from unittest import mock

import pytest
from django.apps import apps
from django.db import connection

from audit.integrity import Verdict, parse_hash, plain_hash
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from refunds.decisions import FinalPayload, final_payload_check
from refunds.execution.executor import execution_run, idempotency_key_for
from refunds.models import Execution, LedgerRefund, RefundRequest
from refunds.states import RefundStatus
from refunds.tests.factories import RefundRequestFactory, final_decision

from .test_execution_executor import SpyPayment, backends

pytestmark = pytest.mark.django_db
S = RefundStatus
K1 = "k1-secret-" + "a" * 40
K2 = "k2-secret-" + "b" * 40
rekey_pending_decisions = import_module(
    "refunds.migrations.0013_keyed_payload_hashes"
).rekey_pending_decisions


def reload(request: RefundRequest) -> RefundRequest:
    return RefundRequest.objects.get(pk=request.pk)


def refused_events(request) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            event_type="execution.refused", subject_id=str(request.pk)
        ).order_by("sequence")
    )


def run_and_expect_refusal(request, fragment: str):
    spy = SpyPayment()
    outcome = execution_run(request_id=request.pk, backends=backends(spy))

    assert outcome.status == "failed", outcome
    assert fragment in outcome.detail
    assert spy.calls == [] and not LedgerRefund.objects.exists()
    assert reload(request).status == S.EXECUTION_FAILED
    [event] = refused_events(request)
    assert event.payload["error"] == outcome.detail
    return outcome


# --- the keyed hash ----------------------------------------------------------------------------


def test_final_payload_hash_is_keyed_and_differs_from_the_plain_hash():
    request = final_decision(amount="5")

    assert request.final_payload_hash.startswith("hmac-sha256:dev:")
    payload = FinalPayload.of(request)
    assert parse_hash(request.final_payload_hash).digest != plain_hash(payload.canonical())
    assert final_payload_check(request) == Verdict.VALID


def test_amount_changed_with_a_recomputed_unkeyed_hash_is_refused():
    """The attack the plain hash allowed: change the amount, recompute SHA-256."""
    request = final_decision(amount="5")
    RefundRequest.objects.filter(pk=request.pk).update(final_amount=Decimal("20"))
    changed = reload(request)
    RefundRequest.objects.filter(pk=request.pk).update(
        final_payload_hash=FinalPayload.of(changed).digest()
    )

    run_and_expect_refusal(request, "unkeyed SHA-256")


# --- the cross-check with the decision.finalized audit event ---------------------------------


def test_stored_hash_differing_from_the_audit_event_is_refused_with_an_audit_event():
    """Someone holding the integrity key (but not the audit log) re-hashes a changed
    amount: the hash matches the fields, but not what the decision's audit event says."""
    request = final_decision(amount="5")
    RefundRequest.objects.filter(pk=request.pk).update(final_amount=Decimal("20"))
    changed = reload(request)
    RefundRequest.objects.filter(pk=request.pk).update(
        final_payload_hash=FinalPayload.of(changed).hash()
    )
    assert final_payload_check(reload(request)) == Verdict.VALID

    outcome = run_and_expect_refusal(request, "differs from the one recorded in audit event")

    finalized = AuditEvent.objects.get(event_type="decision.finalized", subject_id=str(request.pk))
    assert f"#{finalized.sequence} (decision.finalized)" in outcome.detail
    assert Execution.objects.get(request=request).last_error == outcome.detail


def test_replayed_earlier_decision_of_the_same_request_is_refused():
    """A request decided twice (the case went back to the customer): restoring the first,
    larger decision with its own genuine keyed hash does not get it paid."""
    request = final_decision(amount="15")
    first_amount, first_hash = request.final_amount, request.final_payload_hash
    RefundRequest.objects.filter(pk=request.pk).update(status=S.IN_REVIEW)
    final_decision(request=reload(request), amount="5")
    RefundRequest.objects.filter(pk=request.pk).update(
        final_amount=first_amount, final_payload_hash=first_hash
    )
    assert final_payload_check(reload(request)) == Verdict.VALID

    run_and_expect_refusal(request, "differs from the one recorded in audit event")


def test_decision_audit_event_edited_to_vouch_for_another_hash_is_refused():
    request = final_decision(amount="5")
    RefundRequest.objects.filter(pk=request.pk).update(final_amount=Decimal("20"))
    changed = reload(request)
    forged_hash = FinalPayload.of(changed).hash()
    RefundRequest.objects.filter(pk=request.pk).update(final_payload_hash=forged_hash)
    event = AuditEvent.objects.get(event_type="decision.finalized", subject_id=str(request.pk))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE audit_auditevent SET payload = %s WHERE id = %s",
            [json.dumps({**event.payload, "payload_hash": forged_hash}), event.pk],
        )
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")

    run_and_expect_refusal(request, "does not verify against its keyed hash")


def test_decision_without_a_finalized_audit_event_is_refused():
    """Final fields and a genuine keyed hash written straight into the row, bypassing
    ``refund_request_finalize``: no audit event vouches for them."""
    request = RefundRequestFactory(final_action="approve_refund", final_amount=Decimal("5"))
    RefundRequest.objects.filter(pk=request.pk).update(
        status=S.APPROVED, final_payload_hash=FinalPayload.of(request).hash()
    )

    run_and_expect_refusal(request, "no decision.finalized event")


def test_intact_decision_passes_the_cross_check_and_is_paid():
    request = final_decision(amount="5")
    spy = SpyPayment()

    outcome = execution_run(request_id=request.pk, backends=backends(spy))

    assert outcome.status == S.EXECUTED
    assert len(spy.calls) == 1


# --- rotation ----------------------------------------------------------------------------------


def test_decision_hashed_before_a_rotation_is_paid_after_it(settings):
    settings.HITL_INTEGRITY_KEY_ID, settings.HITL_INTEGRITY_KEY = "k1", K1
    request = final_decision(amount="5")
    key_before = idempotency_key_for(request)
    assert request.final_payload_hash.startswith("hmac-sha256:k1:")

    settings.HITL_INTEGRITY_KEY_ID, settings.HITL_INTEGRITY_KEY = "k2", K2
    settings.HITL_INTEGRITY_KEYS_OLD = f"k1:{K1}"
    spy = SpyPayment()
    outcome = execution_run(request_id=request.pk, backends=backends(spy))

    assert outcome.status == S.EXECUTED
    assert idempotency_key_for(request) == key_before  # the provider sees the same key
    report = audit_chain_verify()
    assert report.ok and set(report.keys) == {"k1", "k2"}


def test_decision_hashed_with_a_key_no_longer_configured_is_refused_and_named(settings):
    settings.HITL_INTEGRITY_KEY_ID, settings.HITL_INTEGRITY_KEY = "k1", K1
    request = final_decision(amount="5")
    settings.HITL_INTEGRITY_KEY_ID, settings.HITL_INTEGRITY_KEY = "k2", K2

    run_and_expect_refusal(request, "integrity key 'k1', which is not configured")


def test_idempotency_key_is_the_one_from_before_keyed_hashes():
    """Derived from the unkeyed digest, as before the upgrade, so an execution in flight
    across the upgrade (or a key rotation) resends with the same key."""
    request = final_decision(amount="5")
    payload = FinalPayload.of(request)
    old_formula = uuid.uuid5(
        uuid.NAMESPACE_URL,
        f"{request.public_id}|{plain_hash(payload.canonical())}|{request.decided_at.isoformat()}",
    )

    assert idempotency_key_for(request) == f"hitl-{old_formula}"


# --- decisions made before keyed hashes (the upgrade's migration) ----------------------------


def legacy_decision(**kwargs) -> RefundRequest:
    """A final decision as the code before keyed hashes made it: a plain SHA-256, also in
    the ``decision.finalized`` event."""
    with mock.patch("refunds.decisions.keyed_hash", plain_hash):
        request = final_decision(**kwargs)
    assert parse_hash(request.final_payload_hash).legacy
    return request


def test_unkeyed_decision_is_not_paid_until_the_migration_rekeys_it():
    request = legacy_decision(amount="5")

    run_and_expect_refusal(request, "unkeyed SHA-256")


def test_migration_rekeys_pending_unkeyed_decisions_that_the_audit_log_vouches_for():
    request = legacy_decision(amount="5")
    old = request.final_payload_hash
    executing = legacy_decision(amount="7")
    RefundRequest.objects.filter(pk=executing.pk).update(status=S.EXECUTING)
    started = Execution.objects.create(
        request=executing,
        payload_hash=executing.final_payload_hash,
        decided_at=executing.decided_at,
        idempotency_key=idempotency_key_for(executing),
        action="approve_refund",
        amount=Decimal("7"),
        currency=executing.currency,
    )
    done = legacy_decision(amount="3")
    RefundRequest.objects.filter(pk=done.pk).update(status=S.EXECUTED)

    rekey_pending_decisions(apps, None)

    rekeyed = reload(request)
    assert rekeyed.final_payload_hash.startswith("hmac-sha256:dev:")
    assert final_payload_check(rekeyed) == Verdict.VALID
    event = AuditEvent.objects.get(
        event_type="decision.payload_rekeyed", subject_id=str(request.pk)
    )
    assert event.payload == {"previous_hash": old, "payload_hash": rekeyed.final_payload_hash}
    started.refresh_from_db()
    assert started.payload_hash == reload(executing).final_payload_hash
    assert started.idempotency_key == idempotency_key_for(reload(executing))
    assert reload(done).final_payload_hash == done.final_payload_hash  # history left alone
    assert audit_chain_verify().ok
    spy = SpyPayment()
    assert execution_run(request_id=request.pk, backends=backends(spy)).status == S.EXECUTED


def test_migration_leaves_an_unkeyed_decision_changed_since_its_approval(settings):
    """Changed before the upgrade, plain hash recomputed: the audit event still records
    the approved hash, so the migration does not bless the change, and the executor
    refuses it."""
    request = legacy_decision(amount="5")
    RefundRequest.objects.filter(pk=request.pk).update(final_amount=Decimal("50"))
    changed = reload(request)
    RefundRequest.objects.filter(pk=request.pk).update(
        final_payload_hash=FinalPayload.of(changed).digest()
    )

    rekey_pending_decisions(apps, None)

    assert parse_hash(reload(request).final_payload_hash).legacy
    assert not AuditEvent.objects.filter(event_type="decision.payload_rekeyed").exists()
    run_and_expect_refusal(request, "unkeyed SHA-256")
