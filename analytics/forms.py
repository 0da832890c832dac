"""The dashboard's filter form: a period and the four filters, turned into the
``DashboardFilters`` every figure takes."""

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from refunds.agent.providers import OFFLINE, OPENAI
from refunds.models import RefundRequest

from .facts import DashboardFilters

PERIODS = [("1", "Today"), ("7", "Last 7 days"), ("30", "Last 30 days"), ("90", "Last 90 days")]
DEFAULT_PERIOD = "30"


class DashboardFilterForm(forms.Form):
    period = forms.ChoiceField(choices=PERIODS, required=False)
    queue = forms.ChoiceField(required=False)
    channel = forms.ChoiceField(
        required=False, choices=[("", "All channels"), *RefundRequest.Channel.choices]
    )
    provider = forms.ChoiceField(
        required=False,
        choices=[
            ("", "All providers"),
            (OFFLINE, "Offline drafter"),
            (OPENAI, "OpenAI-compatible"),
        ],
    )
    policy_version = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)

    def __init__(self, data=None, *, queues=(), policy_versions=(), **kwargs):
        if data is not None and not data.get("period"):
            data = data.copy()  # so the period select shows the period the figures cover
            data["period"] = DEFAULT_PERIOD
        super().__init__(data, initial={"period": DEFAULT_PERIOD}, **kwargs)
        self.fields["queue"].choices = [("", "All queues"), *[(q.slug, q.name) for q in queues]]
        self.fields["policy_version"].choices = [
            ("", "All gate policies"),
            *[(v, f"Gate policy v{v}") for v in policy_versions],
        ]

    def filters(self, *, now: datetime) -> DashboardFilters:
        data = self.cleaned_data if self.is_valid() else {}
        days = int(data.get("period") or DEFAULT_PERIOD)
        start_day = timezone.localdate(now) - timedelta(days=days - 1)
        start = timezone.make_aware(datetime.combine(start_day, time.min))
        return DashboardFilters(
            start=start,
            end=now + timedelta(seconds=1),
            queue=data.get("queue") or "",
            channel=data.get("channel") or "",
            provider=data.get("provider") or "",
            policy_version=data.get("policy_version"),
        )
