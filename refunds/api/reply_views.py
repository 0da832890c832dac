"""``POST /api/v1/refund-requests/{id}/replies/``: the customer answers a request for more
information; the case goes back to ``received`` and is drafted again."""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from audit.services import Actor

from ..customer_replies import refund_request_customer_reply
from .views import IntegrationRequestPostView


class CustomerReplySerializer(serializers.Serializer):
    message = serializers.CharField(max_length=settings.API_MAX_MESSAGE_CHARS)


REPLY_RESPONSE = inline_serializer(
    "CustomerReplyAccepted",
    {
        "id": serializers.UUIDField(),
        "status": serializers.CharField(),
        "status_url": serializers.URLField(),
        "reply_id": serializers.IntegerField(),
    },
)


class RefundRequestReplyView(IntegrationRequestPostView):
    """202 when the reply is accepted; 409 unless the request is awaiting the customer;
    404 for another integration's request."""

    serializer_class = CustomerReplySerializer

    @extend_schema(request=CustomerReplySerializer, responses={202: REPLY_RESPONSE})
    def post(self, request, *args, **kwargs):
        refund_request, data = self.validated_post(request)
        reply = refund_request_customer_reply(
            request=refund_request,
            message=data["message"],
            actor=Actor.integration(request.auth),
        )
        status_url = request.build_absolute_uri(
            reverse("api:refund-request-detail", kwargs={"public_id": refund_request.public_id})
        )
        return Response(
            {
                "id": str(refund_request.public_id),
                "status": refund_request.status,
                "status_url": status_url,
                "reply_id": reply.pk,
            },
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": status_url},
        )
