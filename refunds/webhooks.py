"""Outbound webhooks: what an integration is told, signed with HMAC, retried with backoff.

Each webhook is a ``WebhookDelivery`` row first (the delivery log), then a django-q2 task
sends it; a periodic sweep (``webhooks_deliver_due``) sends whatever is due, so a lost or
failed task only delays a delivery. Delivery is at least once: receivers dedupe on the
``X-Hitl-Delivery`` id.

Headers: ``X-Hitl-Event``, ``X-Hitl-Delivery``, ``X-Hitl-Signature: t=<unix>,v1=<hex>``
where ``v1 = HMAC-SHA256(secret, "<t>." + body)``.
"""

import json
import logging
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from .models import Integration, IntegrationWebhook, RefundRequest, WebhookDelivery
from .money import format_money
from .signing import sign
from .states import RefundStatus

logger = logging.getLogger(__name__)

S = RefundStatus
# The status changes an integration cares about, and the event each becomes.
STATUS_EVENTS: dict[str, str] = {
    S.RECEIVED: "refund_request.received",
    S.IN_REVIEW: "refund_request.in_review",
    S.ESCALATED: "refund_request.in_review",
    S.AUTO_APPROVED: "refund_request.decided",
    S.APPROVED: "refund_request.decided",
    S.REJECTED: "refund_request.decided",
    S.AWAITING_CUSTOMER: "refund_request.awaiting_customer",
    S.EXECUTED: "refund_request.executed",
    S.EXECUTION_FAILED: "refund_request.failed",
    S.CLOSED: "refund_request.closed",
    S.EXPIRED: "refund_request.expired",
}
MAX_BACKOFF_SECONDS = 3600


def webhook_secret_for(integration: Integration) -> IntegrationWebhook:
    settings_row, _ = IntegrationWebhook.objects.get_or_create(integration=integration)
    return settings_row


def _request_data(request: RefundRequest) -> dict[str, Any]:
    amount = request.final_amount  # two decimals, as in the API's responses
    return {
        "id": str(request.public_id),
        "status": request.status,
        "external_reference": request.external_reference,
        "conversation_id": request.conversation_id,
        "final_action": request.final_action or None,
        "final_amount": None if amount is None else format_money(amount),
        "currency": request.currency,
    }


def webhook_delivery_create(
    *,
    integration: Integration,
    event: str,
    data: dict[str, Any],
    request: RefundRequest | None = None,
) -> WebhookDelivery | None:
    """Records a webhook for ``integration`` in the caller's transaction and queues its
    sending on commit. Returns None (and records nothing) if the integration has no webhook
    URL or its webhook is switched off."""
    if not integration.webhook_url:
        return None
    if not webhook_secret_for(integration).is_active:
        return None
    public_id = uuid.uuid4()
    payload = json.loads(
        json.dumps(
            {
                "id": str(public_id),
                "event": event,
                "created_at": timezone.now(),
                "refund_request": _request_data(request) if request is not None else None,
                "data": data,
            },
            cls=DjangoJSONEncoder,
        )
    )
    delivery = WebhookDelivery.objects.create(
        public_id=public_id,
        integration=integration,
        request=request,
        event=event,
        url=integration.webhook_url,
        payload=payload,
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(lambda: enqueue_webhook_delivery(delivery.pk), robust=True)
    return delivery


def webhook_record_for_transition(
    *, request: RefundRequest, from_status: str, to_status: str
) -> WebhookDelivery | None:
    """Records the webhook for a status change inside the transaction that makes it (an
    outbox row): the delivery commits with the change or not at all, so a crash after the
    commit cannot lose it (the sweep sends it if its task is lost). ``request`` is the
    locked row in its new state, with its integration loaded."""
    event = STATUS_EVENTS.get(to_status)
    if event is None or not request.integration.webhook_url:
        return None  # most integrations have no URL: no further read for them
    return webhook_delivery_create(
        integration=request.integration,
        request=request,
        event=event,
        data={"from": from_status, "to": to_status},
    )


def enqueue_webhook_delivery(delivery_id: int) -> None:
    from django_q.tasks import async_task

    async_task(
        "refunds.tasks.webhook_delivery_send",
        delivery_id,
        task_name=f"webhook-delivery-{delivery_id}",
        group="webhooks",
    )


def backoff_seconds(attempts: int) -> int:
    return min(settings.HITL_WEBHOOK_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


def webhook_body(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()


def webhook_delivery_send(
    *, delivery_id: int, transport: httpx.BaseTransport | None = None
) -> WebhookDelivery | None:
    """Sends one pending delivery (a no-op for one already delivered or given up).

    A 2xx answer marks it delivered; anything else schedules the next attempt with
    exponential backoff, until ``HITL_WEBHOOK_MAX_ATTEMPTS``, after which it is marked
    failed (visible in the admin's delivery log, where it can be re-queued).
    """
    now = timezone.now()
    # Claim it: push next_attempt_at forward so a concurrent sweep does not send it too.
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING
    ).update(next_attempt_at=now + timedelta(seconds=settings.HITL_WEBHOOK_TIMEOUT * 2 + 5))
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("integration").get(pk=delivery_id)
    secret = webhook_secret_for(delivery.integration).secret
    body = webhook_body(delivery)
    headers = {
        "Content-Type": "application/json",
        "X-Hitl-Event": delivery.event,
        "X-Hitl-Delivery": str(delivery.public_id),
        "X-Hitl-Signature": sign(secret, str(int(time.time())), body),
    }
    status_code, error = None, ""
    try:
        with httpx.Client(timeout=settings.HITL_WEBHOOK_TIMEOUT, transport=transport) as client:
            response = client.post(delivery.url, content=body, headers=headers)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}: {response.text[:200]}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    attempts = delivery.attempts + 1
    fields: dict[str, Any] = {
        "attempts": attempts,
        "last_status_code": status_code,
        "last_error": error,
    }
    if not error:
        fields.update(
            status=WebhookDelivery.Status.DELIVERED,
            delivered_at=timezone.now(),
            next_attempt_at=None,
        )
    elif attempts >= settings.HITL_WEBHOOK_MAX_ATTEMPTS:
        fields.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
        logger.warning(
            "webhook delivery gave up", extra={"delivery": str(delivery.public_id), "error": error}
        )
    else:
        fields["next_attempt_at"] = timezone.now() + timedelta(seconds=backoff_seconds(attempts))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
    delivery.refresh_from_db()
    return delivery


def webhooks_deliver_due(*, now=None, limit: int = 200) -> int:
    """Sends every pending delivery whose next attempt is due (the periodic sweep)."""
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in due:
        webhook_delivery_send(delivery_id=delivery_id)
    return len(due)


def webhook_delivery_requeue(*, delivery: WebhookDelivery) -> None:
    """Puts a failed delivery back in the queue (admin action), with a fresh budget."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    transaction.on_commit(lambda: enqueue_webhook_delivery(delivery.pk), robust=True)
