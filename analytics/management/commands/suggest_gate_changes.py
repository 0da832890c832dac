"""``python manage.py suggest_gate_changes [--since 2026-10-01] [--holdout 0.5]``

Prints the gate-policy changes the reviewed history suggests for the active policy
(``analytics.gate_tuning``; the admin's "Suggested changes" page shows the same), over the
last ``HITL_GATE_TUNING_WEEKS`` weeks or from ``--since``. Read-only: creates nothing.

``--holdout F`` measures the suggestions honestly: it computes them on the earlier part of
the window (the first 1 - F of its time) and reports, for each, the share of the cases it
would have auto-approved in the later part that humans approved unchanged, and that share
pooled over all suggestions.
"""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.gate_tuning.history import gate_tuning_history, gate_tuning_settings, window_weeks
from analytics.gate_tuning.suggest import holdout, suggest
from hitl_site.errors import ApplicationError
from refunds.gate.selectors import gate_policy_active


def _share(k: int, m: int) -> str:
    return f"{k}/{m} = {k / m:.1%}" if m else "0/0 (no case)"


class Command(BaseCommand):
    help = "Print gate-policy changes suggested by reviewed history (optionally measured)."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="First day of history (YYYY-MM-DD).")
        parser.add_argument(
            "--holdout",
            type=float,
            help="Share of the window (by time, the latest part) held out to measure on.",
        )
        parser.add_argument("--min-precision", type=float, help="Default: the setting.")
        parser.add_argument("--min-cases", type=int, help="Default: the setting.")

    def handle(self, *args, **options):
        config = gate_tuning_settings()
        now = timezone.now()
        since = self._since(options["since"], config.weeks)
        share = options["holdout"]
        if share is not None and not 0 < share < 1:
            raise CommandError("--holdout must be between 0 and 1 (exclusive), e.g. 0.5.")
        min_precision = options["min_precision"]
        min_precision = config.min_precision if min_precision is None else min_precision
        if not 0 <= min_precision <= 1:
            raise CommandError("--min-precision must be between 0 and 1, e.g. 0.95.")
        min_cases = config.min_cases if options["min_cases"] is None else options["min_cases"]
        if min_cases < 1:
            raise CommandError("--min-cases must be at least 1.")
        try:
            active = gate_policy_active()
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        cases = gate_tuning_history(since=since)
        decided = sum(c.human_outcome is not None for c in cases)
        self.stdout.write(
            f"Active policy v{active.version}; {len(cases)} request(s) gated since {since}, "
            f"{decided} decided by a human; thresholds: precision >= {min_precision:.0%}, "
            f"at least {min_cases} cases."
        )
        common = {
            "min_precision": min_precision,
            "min_cases": min_cases,
            "four_eyes_amount": config.four_eyes_amount,
        }
        policy = active.to_snapshot()
        if share is None:
            found = suggest(policy, cases, weeks=window_weeks(since=since, now=now), **common)
            for n, suggestion in enumerate(found, 1):
                self.stdout.write(f"{n}. {suggestion.sentence}")
            if not found:
                self.stdout.write("No change is suggested.")
            return
        start = now - timedelta(weeks=window_weeks(since=since, now=now))
        split_at = start + (now - start) * (1 - share)
        later_cases = [c for c in cases if c.evaluated_at >= split_at]
        self.stdout.write(
            f"Holdout: suggestions from the cases before {split_at:%Y-%m-%d %H:%M}, measured "
            f"on the {len(later_cases)} from then on "
            f"({sum(c.human_outcome is not None for c in later_cases)} decided by a human)."
        )
        results = holdout(
            policy,
            cases,
            split_at=split_at,
            weeks_before=(split_at - start) / timedelta(weeks=1),
            **common,
        )
        for n, result in enumerate(results, 1):
            s, later = result.suggestion, result.later
            self.stdout.write(
                f"{n}. {s.sentence}\n   later part: {_share(later.k, later.m)} approved "
                f"unchanged ({later.edited} edited, {later.rejected} rejected); "
                f"{later.extra_auto} more auto-approvals."
            )
        k = sum(r.later.k for r in results)
        m = sum(r.later.m for r in results)
        self.stdout.write(
            f"Precision of the {len(results)} suggestion(s) on the later part: {_share(k, m)}."
        )

    @staticmethod
    def _since(value: str | None, weeks: int) -> date:
        if value is None:
            return timezone.localdate() - timedelta(weeks=weeks)
        try:
            since = date.fromisoformat(value)
        except ValueError as exc:
            raise CommandError(f"--since must be a date like 2026-11-01, not {value!r}.") from exc
        if since > timezone.localdate():
            raise CommandError("--since is in the future.")
        return since
