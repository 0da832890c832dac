"""``POST /api/v1/refund-requests/{id}/feedback/``: the customer's satisfaction score with a
request that reached a final state (executed, rejected, expired, closed)."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from audit.services import Actor

from ..feedback import refund_request_feedback_give
from ..models import CustomerFeedback
from .views import IntegrationRequestPostView


class CustomerFeedbackSerializer(serializers.Serializer):
    score = serializers.IntegerField(
        min_value=1, max_value=5, help_text="1 (very unhappy) to 5 (very happy)."
    )
    comment = serializers.CharField(
        max_length=settings.API_MAX_MESSAGE_CHARS, required=False, allow_blank=True, default=""
    )

    def validate_score(self, value):
        # DRF's IntegerField reads "4" and 4.0 as 4; a score is a whole JSON number.
        raw = self.initial_data.get("score")
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise serializers.ValidationError("A whole number from 1 to 5.")
        return value


class CustomerFeedbackResponseSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="request.public_id")

    class Meta:
        model = CustomerFeedback
        fields = ["id", "score", "comment", "path", "created_at"]


class RefundRequestFeedbackView(IntegrationRequestPostView):
    """Once per request. 201 with the stored feedback; the same score and comment again:
    201 with the same body and ``Idempotent-Replayed: true``; another score or comment:
    409 ``feedback_already_given``. 409 ``request_not_final`` unless the request is
    executed, rejected, expired or closed; 404 for another integration's request."""

    serializer_class = CustomerFeedbackSerializer

    @extend_schema(
        request=CustomerFeedbackSerializer, responses={201: CustomerFeedbackResponseSerializer}
    )
    def post(self, request, *args, **kwargs):
        refund_request, data = self.validated_post(request)
        result = refund_request_feedback_give(
            request=refund_request,
            score=data["score"],
            comment=data["comment"],
            actor=Actor.integration(request.auth),
        )
        headers = {} if result.created else {"Idempotent-Replayed": "true"}
        return Response(
            CustomerFeedbackResponseSerializer(result.feedback).data,
            status=status.HTTP_201_CREATED,
            headers=headers,
        )
