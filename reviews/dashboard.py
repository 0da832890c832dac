"""The operations dashboard (``/review/dashboard/``): is the human in the loop helping?

Senior reviewers, policy admins and auditors (``reviews.view_ops_dashboard``) see, over a
period and per queue, channel, provider and gate policy version, the figures of
``reviews.metrics`` drawn as inline SVG charts (server-rendered: no script, no CDN) and
the drift alert of ``reviews.drift``. The page costs a fixed number of queries.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone

from hitl_site.labels import label
from refunds.agent.providers import OFFLINE, OPENAI
from refunds.models import GatePolicyVersion, RefundRequest

from . import figures, metrics, oversight
from . import permissions as perms
from .drift import drift_check, drift_window_start
from .models import Queue
from .views import _context, reviewer_required

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

    def filters(self, *, now: datetime) -> metrics.DashboardFilters:
        data = self.cleaned_data if self.is_valid() else {}
        days = int(data.get("period") or DEFAULT_PERIOD)
        start_day = timezone.localdate(now) - timedelta(days=days - 1)
        start = timezone.make_aware(datetime.combine(start_day, time.min))
        return metrics.DashboardFilters(
            start=start,
            end=now + timedelta(seconds=1),
            queue=data.get("queue") or "",
            channel=data.get("channel") or "",
            provider=data.get("provider") or "",
            policy_version=data.get("policy_version"),
        )


# --- Charts (geometry computed here, drawn by the template) -----------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    y: int
    width: float


BAR_HEIGHT, BAR_GAP, BAR_AREA = 18, 6, 300


def bar_chart(items: list[tuple[str, float, str]]) -> dict[str, Any]:
    """Horizontal bars: (label, value, shown text) each, scaled to the largest value."""
    top = max((v for _, v, _ in items), default=0) or 1
    bars = [
        Bar(label, value, text, i * (BAR_HEIGHT + BAR_GAP), round(BAR_AREA * value / top, 1))
        for i, (label, value, text) in enumerate(items)
    ]
    return {"bars": bars, "height": max(len(bars), 1) * (BAR_HEIGHT + BAR_GAP), "area": BAR_AREA}


LINE_W, LINE_H = 560, 140


def line_chart(
    days: list[date], series: dict[str, dict[date, float | None]], *, today: date | None = None
) -> dict[str, Any]:
    """Rates (0..1) per day as polylines, with a dot on every day that has cases: a line
    needs two days, so without the dots a lone day — today's, before any other day has
    cases — would draw nothing. A day without cases leaves a gap. The last day is always
    labelled ("today" when it is ``today``, whose figures are so far)."""
    step = LINE_W / max(len(days) - 1, 1)

    def x_of(i: int) -> float:
        return i * step if len(days) > 1 else LINE_W / 2

    def day_label(day: date) -> str:
        return "today" if day == today else day.strftime("%d %b")

    lines = []
    for name, values in series.items():
        segments, current, points = [], [], []
        for i, day in enumerate(days):
            value = values.get(day)
            if value is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            x, y = x_of(i), LINE_H - value * LINE_H
            current.append(f"{x:.1f},{y:.1f}")
            when = "today so far" if day == today else day.strftime("%d %b")
            points.append({"x": round(x, 1), "y": round(y, 1), "title": f"{when}: {value:.0%}"})
        if current:
            segments.append(" ".join(current))
        lines.append({"name": name, "segments": segments, "points": points})
    every = 1 if len(days) <= 8 else max(len(days) // 6, 1)
    labelled = [i for i in range(len(days)) if i % every == 0]
    last = len(days) - 1
    if labelled and labelled[-1] != last:
        if last - labelled[-1] < every / 2:  # too close to the last day's label
            labelled.pop()
        labelled.append(last)
    return {
        "lines": lines,
        "width": LINE_W,
        "height": LINE_H,
        "ticks": [{"x": round(x_of(i), 1), "label": day_label(days[i])} for i in labelled],
        "grid": [{"y": LINE_H - p * LINE_H / 100, "label": f"{p}%"} for p in (0, 25, 50, 75, 100)],
    }


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours < 48 else f"{hours // 24} d {hours % 24} h"


def _seconds(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:.0f} s"


# --- The page ---------------------------------------------------------------------------------


def dashboard_data(f: metrics.DashboardFilters, *, now: datetime) -> dict[str, Any]:
    """The page's figures: the daily roll-up for closed days, the live tables for today
    (``reviews.figures``); queue depth and claims are "now" figures, always live."""
    counts = figures.loop_counts(f, now=now)
    routing_days, override_days = figures.daily_routing(counts), figures.daily_overrides(counts)
    routing = figures.routing_summary(counts)
    decisions = figures.decision_summary(counts)
    latency = figures.review_latency(counts)
    agreement = figures.reviewer_agreement(counts)
    execution = figures.execution_summary(counts)
    reasons = figures.reason_code_distribution(counts)
    queues = metrics.queue_state(f, now=now)
    workload = figures.reviewer_workload(counts)
    paths = figures.outcomes_by_path(counts)
    reviewers = [
        {
            **r,
            "share_text": _pct(r["unchanged_share"]),
            "median_text": _seconds(r["median_seconds"]),
        }
        for r in oversight.reviewer_oversight(f)
    ]
    by_reason = [
        {
            **r,
            "action_text": _pct(r["action_agreement_rate"]),
            "agreed_text": _pct(r["agreement_rate"]),
        }
        for r in oversight.agreement_by_reason_code(f)
    ]

    today = timezone.localdate(now)
    days, day = [], timezone.localdate(f.start)
    while day <= today:
        days.append(day)
        day += timedelta(days=1)
    trend = line_chart(
        days,
        {
            "review rate": {
                d: metrics.rate(c["review"], c["total"]) for d, c in routing_days.items()
            },
            "override rate": {
                d: metrics.rate(c["overridden"], c["total"]) for d, c in override_days.items()
            },
        },
        today=today,
    )
    return {
        "routing_days": routing_days,
        "override_days": override_days,
        "routing": routing,
        "decisions": decisions,
        "latency": latency,
        "agreement": agreement,
        "execution": execution,
        "queues": queues,
        "workload": workload,
        "oversight": reviewers,
        "rubber_stamps": [r for r in reviewers if r["rubber_stamp"]],
        "reason_agreement": by_reason,
        "satisfaction": [
            {**row, "mean_text": "n/a" if row["mean"] is None else f"{row['mean']:.2f}"}
            for row in oversight.satisfaction_by_path(f)
        ],
        "trend": trend,
        "cards": [
            (
                "Auto-approval rate",
                _pct(routing["auto_rate"]),
                f"{routing['auto']} of {routing['total']} gate decisions",
            ),
            ("Review rate", _pct(routing["review_rate"]), f"{routing['review']} sent to a human"),
            (
                "Human override rate",
                _pct(decisions["override_rate"]),
                f"{decisions['overridden']} of {decisions['with_proposal']} proposals changed",
            ),
            (
                "Review latency (median / p95)",
                f"{_duration(latency['p50'])} / {_duration(latency['p95'])}",
                f"{decisions['total']} final decisions",
            ),
            (
                "SLA misses",
                _pct(decisions["sla_miss_rate"]),
                f"{decisions['sla_missed']} decided after the due time",
            ),
            (
                "Reviewer agreement",
                _pct(agreement["agreement_rate"]),
                f"{agreement['agreed']} of {agreement['compared']} compared; "
                f"{agreement['two_humans']} cases seen by two humans",
            ),
            (
                "Execution failure rate",
                _pct(execution["failure_rate"]),
                f"{execution['failed']} of {execution['total']} executions failed",
            ),
        ],
        "reasons_chart": bar_chart(
            [(label(r["reason_code"]), r["n"], str(r["n"])) for r in reasons]
        ),
        "outcome_charts": [
            (title, bar_chart([(o["label"], o["n"], str(o["n"])) for o in paths.get(key, [])]))
            for key, title in (("auto", "Auto-approved path"), ("review", "Human path"))
        ],
        "queue_chart": bar_chart(
            [
                (
                    q["queue__name"],
                    q["depth"],
                    f"{q['depth']} ({q['overdue']} overdue, oldest "
                    f"{_duration(q['oldest_age_seconds'])})",
                )
                for q in queues
            ]
        ),
        "workload_chart": bar_chart(
            [
                (
                    w["reviewer"],
                    w["decided"],
                    f"{w['decided']} decided, {w['overridden']} overridden, {w['claimed']} claimed",
                )
                for w in workload
            ]
        ),
    }


@reviewer_required
def dashboard_view(request):
    if not perms.user_can_view_dashboard(request.user):
        raise PermissionDenied("The dashboard is for senior reviewers, policy admins and auditors.")
    now = timezone.now()
    form = DashboardFilterForm(
        request.GET or None,
        queues=list(Queue.objects.order_by("slug")),
        policy_versions=list(
            GatePolicyVersion.objects.order_by("-version").values_list("version", flat=True)
        ),
    )
    f = form.filters(now=now)
    data = dashboard_data(f, now=now)
    # The drift alert is over all cases: reuse the page's daily counts when they are
    # unfiltered and cover the baseline window (the default 30 days do), else query.
    unfiltered = not (f.queue or f.channel or f.provider or f.policy_version is not None)
    daily = (
        {"routing": data["routing_days"], "overrides": data["override_days"]}
        if unfiltered and f.start <= drift_window_start(now)
        else {}
    )
    return render(
        request,
        "reviews/dashboard.html",
        _context(
            request,
            title="Operations dashboard",
            form=form,
            filters=f,
            now=now,
            alerts=drift_check(now=now, **daily),
            **data,
        ),
    )
