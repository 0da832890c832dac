"""``python manage.py rollup_loop_stats [--since 2026-09-01] [--until 2026-11-25]``

Rolls up the dashboard's daily counts (``analytics.rollup``). Without dates: what the hourly
schedule does — today up to its last full hour, the closed days of the last
``HITL_LOOP_STATS_DAYS`` without a complete roll-up, and the last
``HITL_LOOP_STATS_SETTLE_DAYS`` again. With dates: every day from ``--since``
to the day before ``--until`` (default: today), rolled up again whether or not it was.
Dates are whole days in the site's time zone; ``--until`` is exclusive and at most today.
"""

import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics import rollup
from analytics.counting import dimension_values


def parse_day(value: str, *, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{option} must be a date like 2026-11-01, not {value!r}.") from exc


class Command(BaseCommand):
    help = "Roll up the operations dashboard's daily counts (back-fill closed days)."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="First day to roll up (YYYY-MM-DD).")
        parser.add_argument(
            "--until", help="Day after the last (YYYY-MM-DD, exclusive; default: today)."
        )

    def handle(self, *args, **options):
        today = timezone.localdate()
        if options["since"] is None:
            if options["until"] is not None:
                raise CommandError("--until needs --since.")
            days = [today, *rollup.days_due()]
        else:
            since = parse_day(options["since"], option="--since")
            until = parse_day(options["until"], option="--until") if options["until"] else today
            if until > today:
                raise CommandError(
                    f"--until must be today ({today.isoformat()}) or earlier: "
                    "a day is rolled up once it is over."
                )
            if since >= until:
                raise CommandError("--since must be before --until (which is exclusive).")
            days = [since + timedelta(days=n) for n in range((until - since).days)]
        dims = dimension_values()
        started = time.monotonic()
        rows = 0
        for day in days:
            t0 = time.monotonic()
            written = rollup.loop_stats_rollup(day=day, dims=dims)
            rows += written
            if options["verbosity"] > 1:
                self.stdout.write(
                    f"{day.isoformat()}: {written} rows in {time.monotonic() - t0:.1f} s"
                )
        self.stdout.write(
            f"Rolled up {len(days)} day(s), {rows} rows, in {time.monotonic() - started:.1f} s."
        )
