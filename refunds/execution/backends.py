"""The side effects the executor triggers, behind small interfaces chosen by settings.

Every backend call carries the execution's idempotency key and must be safe to repeat
with it: the same key and the same payload return the first result; the same key with a
different amount or currency is refused. Two outcomes besides success:

- ``ProviderRefused``: the provider definitely did nothing and will refuse again (bad
  amount, key mismatch, bad credentials). The execution ends in ``execution_failed``.
- ``ProviderAmbiguous``: we do not know (timeout, dropped connection, 5xx). The call is
  retried later, only ever with the same key, or the provider is asked for the outcome.

A new payment provider is one class with ``refund`` and ``lookup``; see docs/execution.md
for a Stripe sketch.
"""

import json
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum

from ..models import LedgerRefund, Order, OutboundMessage, RefundRequest, ReplacementOrder
from ..money import quantize
from ..signing import sign
from ..webhooks import webhook_delivery_create


class ProviderRefused(Exception):
    """Definitely not done, and retrying will not change that."""


class ProviderAmbiguous(Exception):
    """The outcome is unknown: retry with the same key, or look it up."""


@dataclass(frozen=True)
class ProviderResult:
    reference: str
    amount: Decimal = Decimal("0")
    currency: str = ""
    replayed: bool = False
    details: dict[str, Any] = field(default_factory=dict)


class PaymentBackend(Protocol):
    name: str

    def refund(
        self,
        *,
        idempotency_key: str,
        amount: Decimal,
        currency: str,
        order: Order,
        request: RefundRequest,
    ) -> ProviderResult: ...

    def lookup(self, *, idempotency_key: str) -> ProviderResult | None: ...


class FulfilmentBackend(Protocol):
    name: str

    def create_replacement(
        self, *, idempotency_key: str, request: RefundRequest
    ) -> ProviderResult: ...

    def lookup(self, *, idempotency_key: str) -> ProviderResult | None: ...


class MessagingBackend(Protocol):
    name: str

    def send(
        self, *, idempotency_key: str, request: RefundRequest, kind: str, body: str
    ) -> ProviderResult: ...

    def lookup(self, *, idempotency_key: str) -> ProviderResult | None: ...


def _reference(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def refuse_bad_amount(amount: Decimal, currency: str) -> None:
    """Every payment backend refuses these before anything leaves the process."""
    if amount is None or amount <= 0:
        raise ProviderRefused(f"Refund amount must be positive, got {amount}.")
    if quantize(amount) != amount:
        raise ProviderRefused(f"Refund amount {amount} has more than two decimal places.")
    if not currency or len(currency) != 3:
        raise ProviderRefused(f"Invalid currency {currency!r}.")


# --- ledger: refunds written to our own database --------------------------------------------


class LedgerPaymentBackend:
    """The embedded default. Behaves like a provider: idempotent by key, refuses a key
    reused with another amount, and (like a card processor) never refunds more than the
    order's captured amount. ``enforce_captured_limit=False`` exists for tests that must
    show the executor alone keeps that invariant."""

    name = "ledger"

    def __init__(self, *, enforce_captured_limit: bool = True):
        self.enforce_captured_limit = enforce_captured_limit

    def refund(self, *, idempotency_key, amount, currency, order, request) -> ProviderResult:
        refuse_bad_amount(amount, currency)
        try:
            with transaction.atomic():
                existing = LedgerRefund.objects.filter(idempotency_key=idempotency_key).first()
                if existing is not None:
                    return self._replay(existing, amount, currency)
                locked_order = Order.objects.select_for_update().get(pk=order.pk)
                if currency != locked_order.currency:
                    raise ProviderRefused(
                        f"Currency {currency} does not match the order's {locked_order.currency}."
                    )
                if self.enforce_captured_limit:
                    refunded = LedgerRefund.objects.filter(order=locked_order).aggregate(
                        total=Sum("amount")
                    )["total"] or Decimal("0")
                    if refunded + amount > locked_order.amount:
                        raise ProviderRefused(
                            f"Refund of {amount} exceeds what remains of the order "
                            f"({locked_order.amount - refunded} {currency})."
                        )
                row = LedgerRefund.objects.create(
                    reference=_reference("ldg"),
                    idempotency_key=idempotency_key,
                    order=locked_order,
                    request=request,
                    amount=amount,
                    currency=currency,
                )
        except IntegrityError:  # a concurrent call with the same key won: replay it
            return self._replay(
                LedgerRefund.objects.get(idempotency_key=idempotency_key), amount, currency
            )
        return ProviderResult(row.reference, row.amount, row.currency)

    @staticmethod
    def _replay(row: LedgerRefund, amount: Decimal, currency: str) -> ProviderResult:
        if (row.amount, row.currency) != (amount, currency):
            raise ProviderRefused(
                f"Idempotency key already used for {row.amount} {row.currency}; refusing "
                f"{amount} {currency}."
            )
        return ProviderResult(row.reference, row.amount, row.currency, replayed=True)

    def lookup(self, *, idempotency_key) -> ProviderResult | None:
        row = LedgerRefund.objects.filter(idempotency_key=idempotency_key).first()
        return (
            None
            if row is None
            else ProviderResult(row.reference, row.amount, row.currency, replayed=True)
        )


# --- http: a payment service over HTTPS ------------------------------------------------------


class HttpPaymentBackend:
    """``POST {url}/refunds`` with ``Idempotency-Key`` and ``X-Signature`` headers;
    ``GET {url}/refunds?idempotency_key=...`` to ask for an outcome."""

    name = "http"

    def __init__(
        self, *, url: str, secret: str, timeout: float, transport: httpx.BaseTransport | None = None
    ):
        self.url = url.rstrip("/")
        self.secret = secret
        self.timeout = timeout
        self.transport = transport

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        if not self.url:
            raise ProviderRefused("HITL_PAYMENT_URL is not set.")
        timestamp = str(int(time.time()))
        all_headers = {
            "X-Signature": sign(self.secret, timestamp, body),
            "Content-Type": "application/json",
            **(headers or {}),
        }
        try:
            with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
                return client.request(
                    method, f"{self.url}{path}", content=body, headers=all_headers, params=params
                )
        except httpx.TimeoutException as exc:
            raise ProviderAmbiguous(f"Payment service timed out ({type(exc).__name__}).") from exc
        except httpx.TransportError as exc:
            raise ProviderAmbiguous(
                f"Payment service connection failed ({type(exc).__name__}: {exc})."
            ) from exc

    @staticmethod
    def _error(response: httpx.Response) -> str:
        try:
            detail = response.json().get("error", "")
        except ValueError:
            detail = response.text[:200]
        return f"HTTP {response.status_code} {detail}".strip()

    @staticmethod
    def _result(response: httpx.Response) -> ProviderResult:
        try:
            data = response.json()
            return ProviderResult(
                str(data["id"]),
                Decimal(str(data["amount"])),
                str(data["currency"]),
                replayed=response.headers.get("Idempotent-Replayed") == "true",
                details={"status": data.get("status", "")},
            )
        except (ValueError, KeyError, ArithmeticError) as exc:
            # It answered 2xx, so the refund may well exist: ambiguous, not refused.
            raise ProviderAmbiguous(f"Unreadable answer from the payment service: {exc}") from exc

    def refund(self, *, idempotency_key, amount, currency, order, request) -> ProviderResult:
        refuse_bad_amount(amount, currency)
        body = json.dumps(
            {
                "amount": f"{amount:.2f}",
                "currency": currency,
                "order": order.external_id,
                "reference": str(request.public_id),
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        response = self._send(
            "POST", "/refunds", body=body, headers={"Idempotency-Key": idempotency_key}
        )
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise ProviderAmbiguous(self._error(response))
        if response.status_code >= 400:
            raise ProviderRefused(self._error(response))
        result = self._result(response)
        if (result.amount, result.currency) != (amount, currency):
            raise ProviderAmbiguous(
                f"Payment service reported {result.amount} {result.currency} for a refund of "
                f"{amount} {currency}; needs a human."
            )
        return result

    def lookup(self, *, idempotency_key) -> ProviderResult | None:
        response = self._send("GET", "/refunds", params={"idempotency_key": idempotency_key})
        if response.status_code == 404:
            return None
        if response.status_code >= 300:
            raise ProviderAmbiguous(self._error(response))
        return self._result(response)


# --- fulfilment and messaging: records in our database ---------------------------------------


class RecordsFulfilmentBackend:
    """Creates a ``ReplacementOrder`` row (the warehouse integration reads them)."""

    name = "records"

    def create_replacement(self, *, idempotency_key, request) -> ProviderResult:
        row, created = ReplacementOrder.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "reference": _reference("rpl"),
                "order": request.order,
                "request": request,
                "items": request.order.items,
            },
        )
        return ProviderResult(row.reference, replayed=not created)

    def lookup(self, *, idempotency_key) -> ProviderResult | None:
        row = ReplacementOrder.objects.filter(idempotency_key=idempotency_key).first()
        return None if row is None else ProviderResult(row.reference, replayed=True)


class WebhookMessagingBackend:
    """Records an ``OutboundMessage`` and, in the same transaction, queues its delivery
    through the integration's webhook (``customer_message.created``)."""

    name = "webhook"

    def send(self, *, idempotency_key, request, kind, body) -> ProviderResult:
        with transaction.atomic():
            row, created = OutboundMessage.objects.get_or_create(
                idempotency_key=idempotency_key,
                defaults={
                    "reference": _reference("msg"),
                    "request": request,
                    "kind": kind,
                    "body": body,
                },
            )
            if created:
                webhook_delivery_create(
                    integration=request.integration,
                    request=request,
                    event="customer_message.created",
                    data={"message_reference": row.reference, "kind": kind, "body": body},
                )
        return ProviderResult(row.reference, replayed=not created)

    def lookup(self, *, idempotency_key) -> ProviderResult | None:
        row = OutboundMessage.objects.filter(idempotency_key=idempotency_key).first()
        return None if row is None else ProviderResult(row.reference, replayed=True)


@dataclass(frozen=True)
class Backends:
    payment: PaymentBackend
    fulfilment: FulfilmentBackend
    messaging: MessagingBackend


def payment_backend_from_settings() -> PaymentBackend:
    name = settings.HITL_PAYMENT_BACKEND
    if name == "ledger":
        return LedgerPaymentBackend()
    if name == "http":
        return HttpPaymentBackend(
            url=settings.HITL_PAYMENT_URL,
            secret=settings.HITL_PAYMENT_HMAC_SECRET,
            timeout=settings.HITL_PAYMENT_TIMEOUT,
        )
    raise ProviderRefused(f"Unknown HITL_PAYMENT_BACKEND {name!r} (use 'ledger' or 'http').")


def backends_from_settings() -> Backends:
    return Backends(
        payment=payment_backend_from_settings(),
        fulfilment=RecordsFulfilmentBackend(),
        messaging=WebhookMessagingBackend(),
    )
