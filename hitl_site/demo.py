"""Demo data for a fresh machine: users for each role, one integration, customers, orders,
the default queue grants. Seeds every app, so it lives in the project layer."""

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from audit.services import Actor, record_event
from hitl_site import roles
from refunds import events
from refunds.models import (
    Customer,
    Integration,
    IntegrationAPIKey,
    Order,
    RefundPolicy,
    RefundRequest,
)
from refunds.policies import refund_policy_version_create
from refunds.services import integration_api_key_create
from refunds.states import RefundStatus
from reviews.services import queue_access_defaults_ensure

DEMO_INTEGRATION = "demo-web-form"
DEMO_USERS = [
    # username, role group, is_staff, is_superuser
    ("admin", None, True, True),
    ("reviewer", roles.REVIEWER, True, False),
    ("senior", roles.SENIOR_REVIEWER, True, False),
    ("policy_admin", roles.POLICY_ADMIN, True, False),
    ("auditor", roles.AUDITOR, True, False),
]
DEMO_CUSTOMERS = [
    ("cust-1001", "Ada Lovelace", "ada@example.com", Customer.Tier.PREMIUM, "GB"),
    ("cust-1002", "Grace Hopper", "grace@example.com", Customer.Tier.STANDARD, "US"),
    ("cust-1003", "Alan Turing", "alan@example.com", Customer.Tier.ENTERPRISE, "GB"),
    ("cust-1004", "Katherine Johnson", "katherine@example.com", Customer.Tier.PREMIUM, "US"),
]
DEMO_ORDERS = [
    ("ord-5001", "cust-1001", Decimal("19.99"), "GBP", "Phone case"),
    ("ord-5002", "cust-1002", Decimal("249.00"), "USD", "Headphones"),
    ("ord-5003", "cust-1003", Decimal("12.50"), "GBP", "USB cable"),
    ("ord-5004", "cust-1004", Decimal("42.00"), "USD", "Desk lamp"),
]
# The worked example of the docs: Katherine (premium) was refunded once before, for an
# earlier order, so her complaint about ord-5004 is her second one.
WORKED_EXAMPLE_ORDER = "ord-5004"
WORKED_EXAMPLE_MESSAGE = (
    "My package arrived damaged and this is the second time I've had an issue. "
    "I want a full refund immediately."
)
PRIOR_REFUND = {
    "order": ("ord-4990", "cust-1004", Decimal("15.00"), "USD", "Charging cable"),
    "idempotency_key": "demo-prior-refund-cust-1004",
    "message": "The charging cable stopped working after a week.",
    "days_ago": 50,
}


DEMO_POLICY_TEXT = """\
Our refund policy applies to every order placed through our shop.

## Return window
Customers may return delivered items within 30 days of delivery for a full refund of the
item price. After 30 days, refunds are not available except for defective items under
warranty.

## Damaged or defective items
If an item arrives damaged, broken or defective, the customer is entitled to a full refund
or a replacement, at their choice, when they report it within 30 days of delivery. A photo
may be requested for items over 100.00.

## Items that never arrived
If a shipped order has not arrived within 14 days of shipping, we refund it in full or send
a replacement. Orders marked delivered by the carrier need an investigation first.

## Replacements and exchanges
A replacement or an exchange for another size or colour is offered instead of a refund when
the customer asks for it and the item is in stock.

## Cancelled and returned orders
Cancelled orders are refunded automatically; a refund request for a cancelled or already
returned order is declined.

## Chargebacks, fraud and legal matters
Requests that mention a chargeback, a dispute with the bank, fraud, legal action or an
injury are always handled by a specialist and never decided automatically.
"""


def demo_password(username: str) -> str:
    return f"{username}-demo-pass"


@transaction.atomic
def demo_seed() -> dict:
    """Idempotent: running it again changes nothing and prints the same credentials."""
    groups = roles.roles_ensure()
    queue_access_defaults_ensure(actor=Actor.system("seed_demo"))
    user_model = get_user_model()
    users = []
    for username, role, is_staff, is_superuser in DEMO_USERS:
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={
                "is_staff": is_staff,
                "is_superuser": is_superuser,
                "email": f"{username}@example.com",
            },
        )
        if created:
            user.set_password(demo_password(username))
            user.save(update_fields=["password"])
        if role:
            user.groups.add(groups[role])
        users.append((username, role or "superuser", demo_password(username)))

    integration, _ = Integration.objects.get_or_create(
        name=DEMO_INTEGRATION, defaults={"kind": Integration.Kind.WEB_FORM}
    )
    now = timezone.now()
    customers = {}
    for external_id, name, email, tier, country in DEMO_CUSTOMERS:
        customers[external_id], _ = Customer.objects.get_or_create(
            integration=integration,
            external_id=external_id,
            defaults={
                "name": name,
                "email": email,
                "tier": tier,
                "country": country,
                "customer_since": date(2021, 3, 1),
            },
        )
    for external_id, customer_id, amount, currency, item in DEMO_ORDERS:
        Order.objects.get_or_create(
            integration=integration,
            external_id=external_id,
            defaults={
                "customer": customers[customer_id],
                "amount": amount,
                "currency": currency,
                "status": Order.Status.DELIVERED,
                "ordered_at": now - timedelta(days=12),
                "delivered_at": now - timedelta(days=8),
                "items": [
                    {
                        "sku": external_id.upper(),
                        "name": item,
                        "quantity": 1,
                        "unit_price": str(amount),
                    }
                ],
            },
        )
    _prior_refund_ensure(integration, customers, now)
    policy, _ = RefundPolicy.objects.get_or_create(
        slug="refund-policy", defaults={"title": "Refund policy"}
    )
    if not policy.versions.exists():
        refund_policy_version_create(
            policy=policy,
            text=DEMO_POLICY_TEXT,
            actor=Actor.system("seed_demo"),
            change_note="demo policy",
        )
    return {"users": users, "integration": integration, "api_key": _demo_api_key(integration)}


def _prior_refund_ensure(integration: Integration, customers: dict, now) -> None:
    """A refund granted and paid before the demo began (history, not a case to work): the
    request is stored as executed, its history backdated, and the import audited."""
    if RefundRequest.objects.filter(
        integration=integration, idempotency_key=PRIOR_REFUND["idempotency_key"]
    ).exists():
        return
    external_id, customer_id, amount, currency, item = PRIOR_REFUND["order"]
    then = now - timedelta(days=PRIOR_REFUND["days_ago"])
    order, _ = Order.objects.get_or_create(
        integration=integration,
        external_id=external_id,
        defaults={
            "customer": customers[customer_id],
            "amount": amount,
            "currency": currency,
            "status": Order.Status.DELIVERED,
            "ordered_at": then - timedelta(days=14),
            "delivered_at": then - timedelta(days=7),
            "items": [{"sku": external_id.upper(), "name": item, "quantity": 1}],
        },
    )
    request = RefundRequest.objects.create(
        integration=integration,
        channel=RefundRequest.Channel.WEB,
        customer=order.customer,
        order=order,
        message=PRIOR_REFUND["message"],
        requested_amount=amount,
        currency=currency,
        status=RefundStatus.EXECUTED,
        final_action="approve_refund",
        final_amount=amount,
        decided_at=then,
        idempotency_key=PRIOR_REFUND["idempotency_key"],
    )
    RefundRequest.objects.filter(pk=request.pk).update(created_at=then, status_changed_at=then)
    record_event(
        event_type=events.REFUND_REQUEST_IMPORTED,
        actor=Actor.system("seed_demo"),
        subject=request,
        payload={"status": RefundStatus.EXECUTED, "final_amount": amount, "decided_at": then},
    )


def _demo_api_key(integration: Integration) -> str:
    """The plain key is kept in var/ (development only) so re-seeding can print it again."""
    path = settings.VAR_DIR / "demo_api_key"
    if path.exists():
        plain = path.read_text().strip()
        if IntegrationAPIKey.objects.is_valid(plain):
            return plain
    _, plain = integration_api_key_create(
        integration=integration, name="demo", actor=Actor.system("seed_demo")
    )
    path.write_text(plain)
    path.chmod(0o600)
    return plain
