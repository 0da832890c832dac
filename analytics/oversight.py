"""Oversight quality (selectors for the dashboard): is the human in the loop overseeing, or
signing off? Counts over the final human decisions of the dashboard's period and filters
(``analytics.facts.final_decisions``), one grouped query each, whatever the number of rows.

* **Per reviewer**: final decisions, the share that approved the AI's draft unchanged (same
  action and amount), and the median seconds per decision — from the reviewer's claim of
  the task (``ReviewTask.claimed_at``, kept after the decision; the task's creation when it
  was decided without a claim, which can only overstate the time). The median is read from
  the same logarithmic histogram as the review latency (``percentile_from_buckets``,
  within 4.4 %; under a second counts as one), so the query groups by reviewer and bucket,
  not by decision, on PostgreSQL and SQLite alike.
* **Rubber stamp**: a reviewer with at least ``HITL_RUBBER_STAMP_MIN_DECISIONS`` decisions
  of which at least ``HITL_RUBBER_STAMP_UNCHANGED_SHARE`` approved the draft unchanged, in a
  median under ``HITL_RUBBER_STAMP_MEDIAN_SECONDS``: a pattern worth a look (a reviewer who
  agrees quickly with a good model is not wrong by itself), never an automatic sanction.
* **Agreement by reason code**: for each reason code the gate sent cases to review with
  (``ReviewTask.reason_codes``), how many final decisions, how many had a draft, and how
  often the final action — and the action and amount — equalled the draft's. A case with
  two codes counts under both.

* **Customer satisfaction by path**: the scores customers gave through the API in the
  period (``CustomerFeedback``, by its ``created_at``), per path the case took.

These are counted live, not from the daily roll-up: a median per reviewer cannot be summed
from the roll-up's per-day totals, and the final decisions of a period are read through
their ``created_at`` index.
"""

from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db.models import Avg, Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Q
from django.db.models.functions import Coalesce

from refunds.models import CustomerFeedback
from reviews.models import APPROVING_OUTCOMES, ReviewTask

from . import facts
from .latency import latency_bucket_expression, percentile_from_buckets

NO_REASON = "(no reason code)"
OVERSIGHT_TOP = 30

DRAFT_ACTION_KEPT = Q(has_proposal=True) & Q(final_action=F("proposed_action"))
# Approved exactly as drafted: an approval whose action and amount are the draft's.
DRAFT_KEPT = DRAFT_ACTION_KEPT & Q(final_amount=Coalesce(F("proposed_amount"), facts.ZERO))
APPROVED_UNCHANGED = Q(outcome__in=APPROVING_OUTCOMES) & DRAFT_KEPT


def _decision_time() -> ExpressionWrapper:
    return ExpressionWrapper(
        F("created_at") - Coalesce(F("task__claimed_at"), F("task__created_at")),
        output_field=DurationField(),
    )


def is_rubber_stamp(*, decided: int, unchanged_share: float | None, median: float | None) -> bool:
    """The warning's rule (the thresholds are settings, see the module)."""
    return (
        decided >= settings.HITL_RUBBER_STAMP_MIN_DECISIONS
        and unchanged_share is not None
        and unchanged_share >= settings.HITL_RUBBER_STAMP_UNCHANGED_SHARE
        and median is not None
        and median < settings.HITL_RUBBER_STAMP_MEDIAN_SECONDS
    )


def reviewer_oversight(f: facts.DashboardFilters) -> list[dict[str, Any]]:
    """Per reviewer of the period: ``decided``, ``unchanged`` (approved the draft as it was),
    ``unchanged_share``, ``median_seconds`` and ``rubber_stamp``; flagged reviewers first,
    then the busiest, at most ``OVERSIGHT_TOP``. One query."""
    rows = (
        facts.final_decisions(f)
        .annotate(bucket=latency_bucket_expression(_decision_time()))
        .values("reviewer_id", "reviewer__username", "bucket")
        .annotate(n=Count("pk"), unchanged=Count("pk", filter=APPROVED_UNCHANGED))
        .order_by()
    )
    names: dict[int, str] = {}
    buckets: dict[int, dict[int, int]] = defaultdict(dict)
    unchanged: dict[int, int] = defaultdict(int)
    for row in rows:
        pk = row["reviewer_id"]
        names[pk] = row["reviewer__username"]
        buckets[pk][int(row["bucket"])] = row["n"]
        unchanged[pk] += row["unchanged"]
    result = []
    for pk, name in names.items():
        decided = sum(buckets[pk].values())
        share = facts.rate(unchanged[pk], decided)
        median = percentile_from_buckets(buckets[pk], 0.5)
        result.append(
            {
                "reviewer": name,
                "decided": decided,
                "unchanged": unchanged[pk],
                "unchanged_share": share,
                "median_seconds": median,
                "rubber_stamp": is_rubber_stamp(
                    decided=decided, unchanged_share=share, median=median
                ),
            }
        )
    result.sort(key=lambda r: (not r["rubber_stamp"], -r["decided"], r["reviewer"]))
    return result[:OVERSIGHT_TOP]


def agreement_by_reason_code(f: facts.DashboardFilters) -> list[dict[str, Any]]:
    """Per gate reason code of the reviewed cases: ``cases`` (final decisions),
    ``with_draft``, ``action_agreed``, ``agreed`` (action and amount) and the two rates
    over the cases with a draft; most frequent first. One query, grouped by the tasks'
    code sets (a handful of combinations), split into codes here."""
    rows = (
        facts.final_decisions(f)
        .values("task__reason_codes")
        .annotate(
            cases=Count("pk"),
            with_draft=Count("pk", filter=Q(has_proposal=True)),
            action_agreed=Count("pk", filter=DRAFT_ACTION_KEPT),
            agreed=Count("pk", filter=DRAFT_KEPT),
        )
        .order_by()
    )
    keys = ("cases", "with_draft", "action_agreed", "agreed")
    by_code: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(keys, 0))
    for row in rows:
        codes = [c for c in (row["task__reason_codes"] or "").split(",") if c] or [NO_REASON]
        for code in codes:
            for key in keys:
                by_code[code][key] += row[key]
    result = [
        {
            "reason_code": code,
            **counts,
            "action_agreement_rate": facts.rate(counts["action_agreed"], counts["with_draft"]),
            "agreement_rate": facts.rate(counts["agreed"], counts["with_draft"]),
        }
        for code, counts in by_code.items()
    ]
    result.sort(key=lambda r: (-r["cases"], r["reason_code"]))
    return result


def satisfaction_by_path(f: facts.DashboardFilters) -> list[dict[str, Any]]:
    """Per path (auto-approved, human-reviewed, denied, no decision): feedback ``count``
    and ``mean`` score, for the feedback given in the period on requests matching the
    filters (the queue: the request had a review task in it). Every path is listed, in
    that order. One query."""
    qs = CustomerFeedback.objects.filter(created_at__gte=f.start, created_at__lt=f.end)
    if f.queue:
        qs = qs.filter(
            Exists(ReviewTask.objects.filter(request=OuterRef("request"), queue__slug=f.queue))
        )
    if f.channel:
        qs = qs.filter(request__channel=f.channel)
    if f.provider:
        qs = qs.filter(facts.provider_exists(f.provider, "request"))
    if f.policy_version is not None:
        qs = qs.filter(facts.policy_of_request(f.policy_version))
    found = {
        row["path"]: row
        for row in qs.order_by().values("path").annotate(count=Count("pk"), mean=Avg("score"))
    }
    return [
        {
            "path": path,
            "label": label,
            "count": found.get(path, {}).get("count", 0),
            "mean": found.get(path, {}).get("mean"),
        }
        for path, label in CustomerFeedback.Path.choices
    ]
