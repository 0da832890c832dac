"""Writes for the refunds domain: intake and integration keys."""

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import Actor, record_event
from hitl_site.errors import ApplicationError

from . import events, jobs
from .models import Customer, Integration, IntegrationAPIKey, Order, RefundRequest
from .states import RefundStatus
from .webhooks import webhook_record_for_transition


@dataclass(frozen=True)
class IntakeResult:
    request: RefundRequest
    created: bool  # False when an Idempotency-Key replay returned an existing request


def request_fingerprint(data: dict[str, Any]) -> str:
    """A hash of the validated body, so a retry with reformatted JSON still matches."""
    encoded = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _upsert(model, *, lookup: dict[str, Any], fields: dict[str, Any], **create_only: Any):
    """Locks and updates the row matching ``lookup``, or creates it. Unlike
    ``update_or_create`` it writes only fields that changed, and needs one statement for
    an unchanged row (intake sees the same customer again and again) instead of four."""
    row = model.objects.select_for_update().filter(**lookup).first()
    if row is None:
        try:
            with transaction.atomic():
                return model.objects.create(**lookup, **fields, **create_only)
        except IntegrityError:  # created concurrently since we looked: update that one
            row = model.objects.select_for_update().get(**lookup)
    changed = [name for name, value in fields.items() if getattr(row, name) != value]
    if changed:
        for name in changed:
            setattr(row, name, fields[name])
        row.save(update_fields=[*changed, "updated_at"])
    return row


def _customer_upsert(*, integration: Integration, snapshot: dict[str, Any]) -> Customer:
    """Fields the snapshot leaves out keep their stored values."""
    fields = {k: v for k, v in snapshot.items() if k != "external_id"}
    lookup = {"integration": integration, "external_id": snapshot["external_id"]}
    return _upsert(Customer, lookup=lookup, fields=fields)


def _order_upsert(
    *, integration: Integration, customer: Customer, snapshot: dict[str, Any]
) -> Order:
    """Updates the order's facts but never moves an existing order to another customer:
    a mismatch is evidence the gate must see, not something intake should paper over."""
    fields = {k: v for k, v in snapshot.items() if k != "external_id"}
    if "items" in fields:
        # A JSONField cannot hold Decimal: unit prices are stored as exact strings ("9.95").
        fields["items"] = [
            {**item, "unit_price": str(item["unit_price"])} for item in fields["items"]
        ]
    lookup = {"integration": integration, "external_id": snapshot["external_id"]}
    return _upsert(Order, lookup=lookup, fields=fields, customer=customer)


def _replay(*, integration: Integration, idempotency_key: str, fingerprint: str) -> IntakeResult:
    existing = RefundRequest.objects.get(integration=integration, idempotency_key=idempotency_key)
    if existing.idempotency_fingerprint != fingerprint:
        raise ApplicationError(
            "This Idempotency-Key was already used with a different request body. "
            "Use a new key for a new request.",
            code="idempotency_key_reused",
            status_code=422,
        )
    return IntakeResult(request=existing, created=False)


def refund_request_create(
    *, integration: Integration, data: dict[str, Any], idempotency_key: str | None = None
) -> IntakeResult:
    """Records a new request from validated intake ``data`` and queues its processing.

    Upserts the customer and order by external id within ``integration``. With an
    ``idempotency_key``, a retry with the same body returns the first request (also when
    two arrive at once: the unique constraint picks one winner, the loser replays it) and
    a different body raises ``ApplicationError`` (422, ``idempotency_key_reused``).
    Side effects: audit ``refund_request.received``; on commit, enqueues the pipeline.
    """
    fingerprint = request_fingerprint(data)
    if (
        idempotency_key
        and RefundRequest.objects.filter(
            integration=integration, idempotency_key=idempotency_key
        ).exists()
    ):
        return _replay(
            integration=integration, idempotency_key=idempotency_key, fingerprint=fingerprint
        )
    try:
        with transaction.atomic():
            request = _create(
                integration=integration,
                data=data,
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
            )
    except IntegrityError:
        if not idempotency_key:
            raise
        return _replay(
            integration=integration, idempotency_key=idempotency_key, fingerprint=fingerprint
        )
    return IntakeResult(request=request, created=True)


def _create(
    *, integration: Integration, data: dict[str, Any], idempotency_key: str | None, fingerprint: str
) -> RefundRequest:
    customer = _customer_upsert(integration=integration, snapshot=data["customer"])
    order = _order_upsert(integration=integration, customer=customer, snapshot=data["order"])
    requested_amount: Decimal | None = data.get("requested_amount")
    request = RefundRequest.objects.create(
        integration=integration,
        channel=data["channel"],
        external_reference=data.get("external_reference", ""),
        conversation_id=data.get("conversation_id", ""),
        customer=customer,
        order=order,
        message=data["message"],
        requested_amount=requested_amount,
        currency=order.currency,
        priority=data.get("priority", RefundRequest.Priority.NORMAL),
        idempotency_key=idempotency_key or None,
        idempotency_fingerprint=fingerprint if idempotency_key else "",
    )
    record_event(
        event_type=events.REFUND_REQUEST_RECEIVED,
        actor=Actor.integration(integration),
        subject=request,
        payload={
            "public_id": request.public_id,
            "channel": request.channel,
            "customer": customer.external_id,
            "order": order.external_id,
            "requested_amount": requested_amount,
            "currency": request.currency,
            "idempotency_key": idempotency_key,
        },
    )
    webhook_record_for_transition(request=request, from_status="", to_status=RefundStatus.RECEIVED)
    transaction.on_commit(lambda: jobs.enqueue_refund_request_processing(request.pk))
    return request


@transaction.atomic
def integration_api_key_create(
    *, integration: Integration, name: str, actor: Actor
) -> tuple[IntegrationAPIKey, str]:
    """Creates a key and returns it with the plain secret, which is never stored or shown
    again. Audited as ``integration.api_key_created``."""
    if not integration.is_active:
        raise ApplicationError(f"Integration {integration} is inactive.", code="inactive")
    api_key, plain = IntegrationAPIKey.objects.create_key(integration=integration, name=name[:50])
    record_event(
        event_type=events.INTEGRATION_API_KEY_CREATED,
        actor=actor,
        subject=integration,
        payload={"prefix": api_key.prefix, "name": api_key.name},
    )
    return api_key, plain


@transaction.atomic
def integration_api_key_revoke(*, api_key: IntegrationAPIKey, actor: Actor) -> IntegrationAPIKey:
    """Revokes a key for good (the library refuses un-revoking). Audited."""
    if api_key.revoked:
        return api_key
    api_key.revoked = True
    api_key.save(update_fields=["revoked"])
    record_event(
        event_type=events.INTEGRATION_API_KEY_REVOKED,
        actor=actor,
        subject=api_key.integration,
        payload={"prefix": api_key.prefix, "name": api_key.name, "revoked_at": timezone.now()},
    )
    return api_key
