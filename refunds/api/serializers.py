"""The intake schema (validated input) and the status representation (output)."""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Customer, Order, RefundRequest
from ..money import COUNTRY_CODES, CURRENCY_CODES
from .fields import MoneyField


class UpperChoiceField(serializers.ChoiceField):
    """ISO codes arrive in any case; they are stored upper-case."""

    def to_internal_value(self, data):
        return super().to_internal_value(data.upper() if isinstance(data, str) else data)


class OrderItemSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=100)
    name = serializers.CharField(max_length=200)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    unit_price = MoneyField()


class CustomerSnapshotSerializer(serializers.Serializer):
    """Optional fields left out of a snapshot keep their stored value (or the model
    default for a new customer): a partial snapshot never downgrades a tier."""

    external_id = serializers.CharField(max_length=100)
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    address = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    tier = serializers.ChoiceField(choices=Customer.Tier.choices, required=False)
    country = UpperChoiceField(choices=sorted(COUNTRY_CODES))
    customer_since = serializers.DateField(required=False, allow_null=True)


class OrderSnapshotSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=100)
    amount = MoneyField()
    currency = UpperChoiceField(choices=sorted(CURRENCY_CODES))
    items = OrderItemSerializer(many=True, required=False, max_length=200)
    ordered_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=Order.Status.choices, required=False)

    def validate(self, attrs):
        delivered_at = attrs.get("delivered_at")
        if delivered_at and delivered_at < attrs["ordered_at"]:
            raise serializers.ValidationError(
                {"delivered_at": "Delivery cannot precede the order."}
            )
        return attrs


class RefundRequestCreateSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=RefundRequest.Channel.choices)
    external_reference = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    conversation_id = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    customer = CustomerSnapshotSerializer()
    order = OrderSnapshotSerializer()
    message = serializers.CharField(max_length=settings.API_MAX_MESSAGE_CHARS, trim_whitespace=True)
    requested_amount = MoneyField(required=False, allow_null=True, default=None)
    priority = serializers.ChoiceField(
        choices=RefundRequest.Priority.choices, default=RefundRequest.Priority.NORMAL
    )

    def validate(self, attrs):
        amount = attrs.get("requested_amount")
        if amount is not None:
            if amount <= 0:
                raise serializers.ValidationError(
                    {
                        "requested_amount": "Must be greater than zero (omit it to let the "
                        "agent propose an amount)."
                    }
                )
            if amount > attrs["order"]["amount"]:
                raise serializers.ValidationError(
                    {
                        "requested_amount": "Cannot exceed the order amount "
                        f"({attrs['order']['amount']} {attrs['order']['currency']})."
                    }
                )
        return attrs


class RefundRequestOrderSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    amount = MoneyField()
    currency = serializers.CharField()


class RefundRequestProposalSerializer(serializers.Serializer):
    """Summary of the agent's latest draft (who drafted it, what it proposed); the draft
    fields are null when the drafter failed (``error_code`` says why)."""

    drafted_by = serializers.CharField()
    model = serializers.CharField()
    action = serializers.CharField(allow_null=True)
    amount = MoneyField(allow_null=True)
    policy_match = serializers.CharField(allow_null=True)
    needs_human_review = serializers.BooleanField(allow_null=True)
    error_code = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class RefundRequestDecisionSerializer(serializers.Serializer):
    """The final decision (by the gate or a human)."""

    action = serializers.CharField(source="final_action")
    amount = MoneyField(source="final_amount", allow_null=True)
    currency = serializers.CharField()
    decided_at = serializers.DateTimeField()


class RefundRequestSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    status_url = serializers.SerializerMethodField()
    customer = serializers.CharField(source="customer.external_id", read_only=True)
    order = RefundRequestOrderSerializer(read_only=True)
    requested_amount = MoneyField(read_only=True, allow_null=True)
    proposal = serializers.SerializerMethodField()
    decision = serializers.SerializerMethodField()

    class Meta:
        model = RefundRequest
        fields = [
            "id",
            "status",
            "status_url",
            "channel",
            "external_reference",
            "conversation_id",
            "customer",
            "order",
            "requested_amount",
            "currency",
            "priority",
            "proposal",
            "decision",
            "created_at",
            "updated_at",
            "status_changed_at",
        ]
        read_only_fields = fields

    def get_status_url(self, obj) -> str:
        path = reverse("api:refund-request-detail", kwargs={"public_id": obj.public_id})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    @extend_schema_field(RefundRequestProposalSerializer(allow_null=True))
    def get_proposal(self, obj) -> dict | None:
        """Summary of the agent's latest draft (who drafted it, what it proposed)."""
        proposals = getattr(obj, "latest_proposals", None)
        proposal = proposals[0] if proposals else None
        if proposal is None:
            return None
        from ..agent.providers import drafter_name  # the agent stays out of the API's imports

        decision = proposal.decision or {}
        summary = {
            "drafted_by": drafter_name(proposal.provider),
            "model": proposal.model_name,
            "action": decision.get("action"),
            "amount": decision.get("amount"),
            "policy_match": decision.get("policy_match"),
            "needs_human_review": decision.get("needs_human_review"),
            "error_code": proposal.error_code or None,
            "created_at": proposal.created_at,
        }
        return RefundRequestProposalSerializer(summary).data

    @extend_schema_field(RefundRequestDecisionSerializer(allow_null=True))
    def get_decision(self, obj) -> dict | None:
        """The final decision (by the gate or a human), once there is one."""
        if obj.decided_at is None:
            return None
        return RefundRequestDecisionSerializer(obj).data
