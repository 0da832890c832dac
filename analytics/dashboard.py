"""The operations dashboard's figures, put together for the page (``analytics.views``):
the loop figures from the daily roll-up and the live tables (``analytics.figures``), queue
depth now (``analytics.loop_metrics``), oversight quality (``analytics.oversight``), and
the charts and cards they are drawn as (``analytics.charts``)."""

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from hitl_site.labels import label

from . import figures, loop_metrics, oversight
from .charts import bar_chart, duration, line_chart, pct, seconds_text
from .facts import DashboardFilters, rate


def dashboard_data(f: DashboardFilters, *, now: datetime) -> dict[str, Any]:
    """The page's figures: the daily roll-up for closed days, the live tables for today
    (``analytics.figures``); queue depth and claims are "now" figures, always live."""
    counts = figures.loop_counts(f, now=now)
    routing_days, override_days = figures.daily_routing(counts), figures.daily_overrides(counts)
    routing = figures.routing_summary(counts)
    decisions = figures.decision_summary(counts)
    latency = figures.review_latency(counts)
    agreement = figures.reviewer_agreement(counts)
    execution = figures.execution_summary(counts)
    reasons = figures.reason_code_distribution(counts)
    queues = loop_metrics.queue_state(f, now=now)
    workload = figures.reviewer_workload(counts)
    paths = figures.outcomes_by_path(counts)
    reviewers = [
        {
            **r,
            "share_text": pct(r["unchanged_share"]),
            "median_text": seconds_text(r["median_seconds"]),
        }
        for r in oversight.reviewer_oversight(f)
    ]
    by_reason = [
        {
            **r,
            "action_text": pct(r["action_agreement_rate"]),
            "agreed_text": pct(r["agreement_rate"]),
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
            "review rate": {d: rate(c["review"], c["total"]) for d, c in routing_days.items()},
            "override rate": {
                d: rate(c["overridden"], c["total"]) for d, c in override_days.items()
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
                pct(routing["auto_rate"]),
                f"{routing['auto']} of {routing['total']} gate decisions",
            ),
            ("Review rate", pct(routing["review_rate"]), f"{routing['review']} sent to a human"),
            (
                "Human override rate",
                pct(decisions["override_rate"]),
                f"{decisions['overridden']} of {decisions['with_proposal']} proposals changed",
            ),
            (
                "Review latency (median / p95)",
                f"{duration(latency['p50'])} / {duration(latency['p95'])}",
                f"{decisions['total']} final decisions",
            ),
            (
                "SLA misses",
                pct(decisions["sla_miss_rate"]),
                f"{decisions['sla_missed']} decided after the due time",
            ),
            (
                "Reviewer agreement",
                pct(agreement["agreement_rate"]),
                f"{agreement['agreed']} of {agreement['compared']} compared; "
                f"{agreement['two_humans']} cases seen by two humans",
            ),
            (
                "Execution failure rate",
                pct(execution["failure_rate"]),
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
                    f"{duration(q['oldest_age_seconds'])})",
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
