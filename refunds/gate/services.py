"""Writes for the gate: judging a drafted request, and creating/activating policy versions."""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audit.services import Actor, record_event
from hitl_site.errors import ApplicationError
from refunds import events
from refunds.agent.schemas import RefundDecision
from refunds.decisions import refund_request_finalize
from refunds.models import GateEvaluation, GatePolicyVersion, RefundRequest
from refunds.states import RefundStatus
from refunds.transitions import refund_request_lock_with_order
from refunds.workflow import refund_request_enter_review

from .engine import evaluate_gate
from .policy import POLICY_FIELD_NAMES, gate_policy_diff, policy_changes_to_json
from .selectors import gate_context_for_request, gate_policy_active
from .snapshots import gate_context_to_json, gate_reasons_to_json
from .text import normalize_terms
from .vocabulary import ROUTE_AUTO

GATE_ACTOR = Actor.system("gate")


@transaction.atomic
def refund_request_gate(
    *, request: RefundRequest, decision: RefundDecision | None, failure_code: str | None = None
) -> GateEvaluation:
    """Routes a drafted request with the active gate policy and moves it on.

    Precondition: ``request`` is in status ``gated`` (else ``ApplicationError``
    ``not_gated``). ``decision`` is the validated proposal, or None with ``failure_code``
    when drafting failed (a hard rule then sends the case to review).

    Side effects, in one transaction: stores a ``GateEvaluation`` (route, reasons, queue,
    priority, the decision and context judged); audits ``gate.evaluated``; on ``auto`` sets
    the final decision through ``refund_request_finalize`` (``gated -> auto_approved``,
    execution queued on commit); on ``review``
    sets the gate's priority on the request, moves ``gated -> in_review`` and opens the
    review task (``refunds.workflow.refund_request_enter_review``).
    """
    # Customer, order, then request (the lock order of refunds/transitions.py; the
    # pipeline holds them already): the remainder the gate judges is then the one
    # refund_request_finalize re-checks under the same order lock, so an auto-approval over
    # it goes to review (a hard rule) instead of failing at finalize.
    _, locked = refund_request_lock_with_order(request_id=request.pk)
    if locked.status != RefundStatus.GATED:
        raise ApplicationError(
            f"Refund request {locked.public_id} is '{locked.status}', not 'gated'; only a "
            "gated request can be routed.",
            code="not_gated",
        )
    policy = gate_policy_active()
    context = gate_context_for_request(request=locked)
    result = evaluate_gate(
        decision=decision, failure_code=failure_code, context=context, policy=policy.to_snapshot()
    )
    reasons = gate_reasons_to_json(result.reasons)
    evaluation = GateEvaluation.objects.create(
        request=locked,
        policy_version=policy,
        route=result.route,
        reasons=reasons,
        queue=result.queue,
        priority=result.priority,
        decision=None if decision is None else decision.model_dump(mode="json"),
        failure_code=failure_code or "",
        context=gate_context_to_json(context),
    )
    record_event(
        event_type=events.GATE_EVALUATED,
        actor=GATE_ACTOR,
        subject=locked,
        payload={
            "evaluation": evaluation.pk,
            "route": result.route,
            "reasons": reasons,
            "queue": result.queue,
            "priority": result.priority,
            "policy_version": policy.version,
            "failure_code": failure_code or "",
        },
    )
    payload = {
        "gate_evaluation": evaluation.pk,
        "policy_version": policy.version,
        "reasons": list(result.reason_codes),
        "queue": result.queue,
        "priority": result.priority,
    }
    if result.route == ROUTE_AUTO and decision is not None:
        # The engine never auto-approves without a proposal; the check keeps it explicit.
        refund_request_finalize(
            request=request,
            action=decision.action.value,
            amount=decision.amount,
            actor=GATE_ACTOR,
            source="gate",
            extra=payload,
        )
    else:
        refund_request_enter_review(
            request=request,
            queue_slug=result.queue,
            priority=result.priority,
            reasons=reasons,
            actor=GATE_ACTOR,
            reason="sent to human review by the gate",
            payload=payload,
            expected_from=RefundStatus.GATED,
        )
    return evaluation


# --- Policy versions --------------------------------------------------------------------------


def _normalised(values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(POLICY_FIELD_NAMES)
    if unknown:
        raise ApplicationError(
            f"Unknown policy settings: {', '.join(sorted(unknown))}.",
            code="invalid_gate_policy",
            status_code=422,
        )
    cleaned = dict(values)
    if "risk_terms" in cleaned:
        cleaned["risk_terms"] = list(normalize_terms(cleaned["risk_terms"]))
    for key in (
        "auto_actions",
        "review_sentiments",
        "review_tiers",
        "review_countries",
        "priority_tiers",
    ):
        if key in cleaned:
            cleaned[key] = list(dict.fromkeys(cleaned[key]))
    if "review_countries" in cleaned:
        cleaned["review_countries"] = [c.strip().upper() for c in cleaned["review_countries"]]
    if "currency_ceilings" in cleaned:
        cleaned["currency_ceilings"] = {
            str(c).strip().upper(): str(a) for c, a in cleaned["currency_ceilings"].items()
        }
    return cleaned


@transaction.atomic
def gate_policy_version_create(
    *,
    values: Mapping[str, Any],
    change_note: str,
    actor: Actor,
    created_by=None,
    based_on: GatePolicyVersion | None = None,
) -> GatePolicyVersion:
    """Creates a new, inactive policy version from ``based_on`` (default: the active
    version) with ``values`` applied on top. Settings not in ``values`` are copied.

    Raises ``ApplicationError`` (422, ``invalid_gate_policy``, the field errors in
    ``extra``) for invalid values and (``gate_policy_unchanged``) when nothing differs from
    ``based_on``. Audited as ``gate_policy.version_created`` with the diff.
    """
    base = based_on or gate_policy_active()
    new_values = {name: getattr(base, name) for name in POLICY_FIELD_NAMES}
    new_values.update(_normalised(values))
    # Lock the active row so concurrent creators serialise on the version number.
    list(GatePolicyVersion.objects.select_for_update().filter(is_active=True))
    number = (GatePolicyVersion.objects.aggregate(top=Max("version"))["top"] or 0) + 1
    version = GatePolicyVersion(
        version=number,
        change_note=change_note.strip(),
        based_on=base,
        created_by=created_by,
        **new_values,
    )
    try:
        version.full_clean()
    except ValidationError as exc:
        raise ApplicationError(
            "The policy values are invalid: "
            + "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()),
            code="invalid_gate_policy",
            status_code=422,
            extra={"errors": exc.message_dict},
        ) from exc
    changes = gate_policy_diff(base.to_snapshot(), version.to_snapshot())
    if not changes:
        raise ApplicationError(
            f"Nothing differs from version {base.version}; no new version was created.",
            code="gate_policy_unchanged",
            status_code=422,
        )
    version.save(force_insert=True)
    record_event(
        event_type=events.GATE_POLICY_VERSION_CREATED,
        actor=actor,
        subject=version,
        payload={
            "version": version.version,
            "based_on": base.version,
            "change_note": version.change_note,
            "changes": policy_changes_to_json(changes),
        },
    )
    return version


@transaction.atomic
def gate_policy_version_activate(*, version: GatePolicyVersion, actor: Actor) -> GatePolicyVersion:
    """Makes ``version`` the one active version (the previous one is deactivated in the
    same transaction). Raises ``ApplicationError`` (``already_active``) if it already is.
    Audited as ``gate_policy.version_activated`` with the diff from the previous version."""
    previous = GatePolicyVersion.objects.select_for_update().filter(is_active=True).first()
    target = GatePolicyVersion.objects.select_for_update().get(pk=version.pk)
    if target.is_active:
        raise ApplicationError(
            f"Version {target.version} is already active.", code="already_active"
        )
    now = timezone.now()
    if previous is not None:
        GatePolicyVersion.objects.filter(pk=previous.pk).update(is_active=False)
    GatePolicyVersion.objects.filter(pk=target.pk).update(is_active=True, activated_at=now)
    changes = gate_policy_diff(previous.to_snapshot() if previous else None, target.to_snapshot())
    record_event(
        event_type=events.GATE_POLICY_VERSION_ACTIVATED,
        actor=actor,
        subject=target,
        payload={
            "version": target.version,
            "previous_version": previous.version if previous else None,
            "changes": policy_changes_to_json(changes),
        },
    )
    version.is_active, version.activated_at = True, now
    return version
