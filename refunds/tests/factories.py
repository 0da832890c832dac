from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from refunds.models import Customer, Integration, Order, RefundRequest


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pass")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class IntegrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Integration

    name = factory.Sequence(lambda n: f"integration-{n}")
    kind = Integration.Kind.WEB_FORM


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    integration = factory.SubFactory(IntegrationFactory)
    external_id = factory.Sequence(lambda n: f"cust-{n}")
    name = factory.Faker("name")
    email = factory.Faker("email")
    tier = Customer.Tier.STANDARD
    country = "GB"


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    customer = factory.SubFactory(CustomerFactory)
    integration = factory.SelfAttribute("customer.integration")
    external_id = factory.Sequence(lambda n: f"ord-{n}")
    amount = Decimal("20.00")
    currency = "GBP"
    ordered_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=10))
    delivered_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=7))
    status = Order.Status.DELIVERED
    items = factory.LazyAttribute(
        lambda o: [{"sku": "SKU-1", "name": "Widget", "quantity": 1, "unit_price": str(o.amount)}]
    )


class RefundRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RefundRequest

    order = factory.SubFactory(OrderFactory)
    customer = factory.SelfAttribute("order.customer")
    integration = factory.SelfAttribute("order.integration")
    channel = RefundRequest.Channel.WEB
    message = "The item arrived broken, I would like a refund."
    requested_amount = None
    currency = factory.SelfAttribute("order.currency")


# Relative to today, so the order stays inside the refund window whenever the suite runs
# (fixed dates made the offline drafter deny these cases once they were 30 days old).
ORDERED_AT = (timezone.now() - timedelta(days=10)).replace(
    hour=10, minute=0, second=0, microsecond=0
)
DELIVERED_AT = ORDERED_AT + timedelta(days=2)


def iso_z(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def intake_payload(**overrides) -> dict:
    """A valid POST body for /api/v1/refund-requests/ (JSON-ready: amounts as strings)."""
    body = {
        "channel": "web",
        "external_reference": "ticket-1",
        "customer": {
            "external_id": "c-1",
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "tier": "standard",
            "country": "GB",
        },
        "order": {
            "external_id": "o-1",
            "amount": "20.00",
            "currency": "GBP",
            "items": [{"sku": "S1", "name": "Widget", "quantity": 1, "unit_price": "20.00"}],
            "ordered_at": iso_z(ORDERED_AT),
            "delivered_at": iso_z(DELIVERED_AT),
            "status": "delivered",
        },
        "message": "My widget arrived broken. Please refund me.",
        "requested_amount": "20.00",
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    return body


# --- Gate -------------------------------------------------------------------------------------
# (Imported here so this section stays an append-only addition to the file.)
from refunds.actions import Action  # noqa: E402
from refunds.agent.schemas import PolicyMatch, RefundDecision, Sentiment  # noqa: E402
from refunds.gate.snapshots import gate_context_to_json  # noqa: E402
from refunds.gate.vocabulary import GateContext, GatePolicySnapshot  # noqa: E402
from refunds.models import GateEvaluation, GatePolicyVersion  # noqa: E402


class RefundDecisionFactory(factory.Factory):
    """A proposal the default gate policy auto-approves (change one field to trip a rule)."""

    class Meta:
        model = RefundDecision

    action = Action.APPROVE_REFUND
    amount = Decimal("20.00")
    currency = "GBP"
    rationale = "The item arrived broken; section 2.1 covers damaged goods."
    cited_sections = factory.LazyFunction(lambda: ["2.1"])
    policy_match = PolicyMatch.STRONG
    needs_human_review = False
    customer_sentiment = Sentiment.CALM
    risk_flags = factory.LazyFunction(list)


class GateContextFactory(factory.Factory):
    """The context of an ordinary case: a 40.00 GBP order, nothing refunded yet."""

    class Meta:
        model = GateContext

    order_amount = Decimal("40.00")
    order_currency = "GBP"
    refundable_remaining = Decimal("40.00")
    order_customer_matches = True
    order_integration_matches = True
    customer_tier = "standard"
    customer_country = "GB"
    prior_refunds_90d = 0
    customer_message = "The item arrived broken, I would like a refund."
    requested_amount = None
    request_priority = 1
    request_age_hours = 0


class GatePolicySnapshotFactory(factory.Factory):
    """The default policy's values (the design brief)."""

    class Meta:
        model = GatePolicySnapshot

    version = 1


def _next_policy_version() -> int:
    top = GatePolicyVersion.objects.order_by("-version").values_list("version", flat=True)
    return (top.first() or 0) + 1


class GatePolicyVersionFactory(factory.django.DjangoModelFactory):
    """An inactive draft with the default values."""

    class Meta:
        model = GatePolicyVersion

    version = factory.LazyFunction(_next_policy_version)
    change_note = "Test draft."


class GateEvaluationFactory(factory.django.DjangoModelFactory):
    """A stored review-route evaluation of a request (by default of the default proposal
    under the active policy, for backtests)."""

    class Meta:
        model = GateEvaluation

    class Params:
        proposal = factory.SubFactory(RefundDecisionFactory)
        gate_context = factory.SubFactory(GateContextFactory)

    request = factory.SubFactory(RefundRequestFactory)
    policy_version = factory.LazyFunction(lambda: GatePolicyVersion.objects.get(is_active=True))
    route = "review"
    reasons = factory.LazyFunction(list)
    queue = "standard"
    priority = 1
    decision = factory.LazyAttribute(lambda o: o.proposal.model_dump(mode="json"))
    failure_code = ""
    context = factory.LazyAttribute(lambda o: gate_context_to_json(o.gate_context))


# --- Agent --------------------------------------------------------------------------------


def draft_context(**overrides):
    """A ``DraftContext`` for a delivered 40.00 GBP order (no database needed)."""
    from refunds.agent.context import DraftContext, PolicySection

    values = dict(
        request_public_id="00000000-0000-0000-0000-000000000001",
        channel="chat",
        message="My widget arrived damaged.",
        currency="GBP",
        requested_amount=None,
        order={
            "external_id": "o-1",
            "amount": Decimal("40.00"),
            "currency": "GBP",
            "status": "delivered",
            "items": [{"sku": "W", "name": "Widget", "quantity": 1, "unit_price": "40.00"}],
            "ordered_at": "2026-11-01T00:00:00+00:00",
            "delivered_at": "2026-11-03T00:00:00+00:00",
            "days_since_order": 10,
            "days_since_delivery": 8,
        },
        customer={"tier": "standard", "country": "GB", "account_age_days": 400},
        refund_history={
            "count_90d": 0,
            "total_90d": Decimal("0"),
            "count_365d": 0,
            "total_365d": Decimal("0"),
        },
        refundable_remaining=Decimal("40.00"),
        policy_version="refund-policy v1",
        sections=(
            PolicySection(
                "damaged-or-defective-items",
                "Damaged or defective items",
                "Items that arrive damaged or defective are refunded in full.",
                2.5,
            ),
        ),
    )
    values.update(overrides)
    return DraftContext(**values)


class RefundPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "refunds.RefundPolicy"
        django_get_or_create = ("slug",)

    slug = "refund-policy"
    title = "Refund policy"


POLICY_TEXT = """Intro text.

## Return window
Items may be returned within 30 days of delivery.

## Damaged or defective items
Items that arrive damaged, broken or defective are refunded in full.

## Chargebacks and legal matters
Chargebacks, fraud and legal threats always go to a specialist.
"""


def policy_version(text: str = POLICY_TEXT):
    from audit.services import Actor
    from refunds.policies import refund_policy_version_create

    return refund_policy_version_create(
        policy=RefundPolicyFactory(), text=text, actor=Actor.system("tests")
    )


# --- execution (issue 7) ---------------------------------------------------------------------


def final_decision(
    *,
    request=None,
    action: str = "approve_refund",
    amount: Decimal | str = "10.00",
    via: str = "in_review",
    **request_fields,
):
    """A request with a final decision (``approved``, or ``auto_approved`` with
    ``via="gated"``), made through ``refund_request_finalize`` as the gate and review do."""
    from audit.services import Actor
    from refunds.decisions import refund_request_finalize

    request = request or RefundRequestFactory(**request_fields)
    RefundRequest.objects.filter(pk=request.pk).update(status=via)
    request.refresh_from_db()
    refund_request_finalize(
        request=request,
        action=action,
        amount=Decimal(amount),
        actor=Actor.system("tests"),
        source="tests",
    )
    request.refresh_from_db()
    return request


def final_decision_past_the_remainder(**kwargs):
    """``final_decision`` without the decision-time remainder check, as rows written
    before that check existed (or by a bug) might be: for the tests showing the executor
    alone still never refunds more than the order."""
    from unittest import mock

    with mock.patch("refunds.decisions.refund_remaining_check"):
        return final_decision(**kwargs)


class IntegrationWebhookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "refunds.IntegrationWebhook"

    integration = factory.SubFactory(
        IntegrationFactory, webhook_url="https://hooks.example.com/hitl"
    )
    secret = factory.Sequence(lambda n: f"whsec_test_{n}")


# --- the conversation with the customer (issue 14) -------------------------------------------


def asked_and_answered(
    request, question="What is wrong with it?", reply="It is cracked.", *, at=None
):
    """We asked the customer (an ``OutboundMessage`` of kind ``more_info``, as a reviewer's
    question or an executed ``request_more_info`` leaves it) and, a minute later, they
    answered (a ``CustomerReply``). ``reply=None``: not answered yet."""
    import uuid

    from refunds.models import CustomerReply, OutboundMessage

    at = at or timezone.now() - timedelta(hours=1)
    message = OutboundMessage.objects.create(
        request=request,
        reference=f"msg_{uuid.uuid4().hex[:12]}",
        idempotency_key=f"test-{uuid.uuid4().hex}",
        kind=OutboundMessage.Kind.MORE_INFO,
        body=question,
    )
    OutboundMessage.objects.filter(pk=message.pk).update(created_at=at)
    if reply is None:
        return message, None
    answer = CustomerReply.objects.create(request=request, message=reply)
    CustomerReply.objects.filter(pk=answer.pk).update(created_at=at + timedelta(minutes=1))
    return message, answer
