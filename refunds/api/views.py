from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from ..selectors import refund_requests_for_integration
from ..services import refund_request_create
from .filters import RefundRequestFilter
from .serializers import RefundRequestCreateSerializer, RefundRequestSerializer

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Retry-safe key (max 255 chars). The same key with the same body returns the "
    "first request; with a different body, 422.",
)


class NewestFirstCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class RefundRequestListCreateView(generics.ListAPIView):
    serializer_class = RefundRequestSerializer
    pagination_class = NewestFirstCursorPagination
    filterset_class = RefundRequestFilter

    def get_queryset(self):
        return refund_requests_for_integration(integration=self.request.auth)

    @extend_schema(
        request=RefundRequestCreateSerializer,
        responses={201: RefundRequestSerializer},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request, *args, **kwargs):
        idempotency_key = request.headers.get("Idempotency-Key", "").strip() or None
        if idempotency_key and (len(idempotency_key) > 255 or not idempotency_key.isprintable()):
            raise exceptions.ValidationError(
                {"Idempotency-Key": ["Must be at most 255 printable characters."]}
            )
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        serializer = RefundRequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = refund_request_create(
            integration=request.auth,
            data=serializer.validated_data,
            idempotency_key=idempotency_key,
        )
        refund_request = result.request  # as created: loaded with its customer and order
        if not result.created:  # a replay: show the request as it is now
            refund_request = refund_requests_for_integration(integration=request.auth).get(
                pk=result.request.pk
            )
        body = RefundRequestSerializer(refund_request, context={"request": request}).data
        headers = {"Location": body["status_url"]}
        if not result.created:
            headers["Idempotent-Replayed"] = "true"
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)


class RefundRequestDetailView(generics.RetrieveAPIView):
    serializer_class = RefundRequestSerializer
    lookup_field = "public_id"

    def get_queryset(self):
        return refund_requests_for_integration(integration=self.request.auth)


class IntegrationRequestPostView(generics.GenericAPIView):
    """A POST about one of the calling integration's requests (404 for anyone else's),
    whose body must be a JSON object; ``validated_post`` returns the request and the data."""

    lookup_field = "public_id"

    def get_queryset(self):
        return refund_requests_for_integration(integration=self.request.auth)

    def validated_post(self, request):
        refund_request = self.get_object()
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return refund_request, serializer.validated_data
