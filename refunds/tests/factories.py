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
    items = factory.LazyAttribute(lambda o: [{"sku": "SKU-1", "name": "Widget", "quantity": 1,
                                              "unit_price": str(o.amount)}])


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


def intake_payload(**overrides) -> dict:
    """A valid POST body for /api/v1/refund-requests/ (JSON-ready: amounts as strings)."""
    body = {
        "channel": "web",
        "external_reference": "ticket-1",
        "customer": {"external_id": "c-1", "name": "Ada Lovelace", "email": "ada@example.com",
                     "tier": "standard", "country": "GB"},
        "order": {"external_id": "o-1", "amount": "20.00", "currency": "GBP",
                  "items": [{"sku": "S1", "name": "Widget", "quantity": 1,
                             "unit_price": "20.00"}],
                  "ordered_at": "2026-11-01T10:00:00Z", "delivered_at": "2026-11-03T10:00:00Z",
                  "status": "delivered"},
        "message": "My widget arrived broken. Please refund me.",
        "requested_amount": "20.00",
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    return body


# --- execution (issue 7) ---------------------------------------------------------------------


def final_decision(*, request=None, action: str = "approve_refund",
                   amount: Decimal | str = "10.00", via: str = "in_review", **request_fields):
    """A request with a final decision (``approved``, or ``auto_approved`` with
    ``via="gated"``), made through ``refund_request_finalize`` as the gate and review do."""
    from audit.services import Actor
    from refunds.decisions import refund_request_finalize

    request = request or RefundRequestFactory(**request_fields)
    RefundRequest.objects.filter(pk=request.pk).update(status=via)
    request.refresh_from_db()
    refund_request_finalize(request=request, action=action, amount=Decimal(amount),
                            actor=Actor.system("tests"), source="tests")
    request.refresh_from_db()
    return request


class IntegrationWebhookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "refunds.IntegrationWebhook"

    integration = factory.SubFactory(IntegrationFactory,
                                     webhook_url="https://hooks.example.com/hitl")
    secret = factory.Sequence(lambda n: f"whsec_test_{n}")
