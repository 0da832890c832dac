import django_filters

from ..models import RefundRequest
from ..states import RefundStatus


class RefundRequestFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=RefundStatus.choices)
    channel = django_filters.ChoiceFilter(choices=RefundRequest.Channel.choices)
    external_reference = django_filters.CharFilter()
    conversation_id = django_filters.CharFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = RefundRequest
        fields = ["status", "channel", "external_reference", "conversation_id"]
