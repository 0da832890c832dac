from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from refunds.pipeline import pipeline_reconcile


class Command(BaseCommand):
    help = "Re-drives requests left in 'received' or 'drafting' by a lost or crashed task."

    def add_arguments(self, parser):
        parser.add_argument(
            "--stale-seconds",
            type=int,
            default=None,
            help="How long a request may wait before it is re-driven "
            "(default: HITL_DRAFT_STALE_SECONDS).",
        )

    def handle(self, *args, stale_seconds, **options):
        if stale_seconds is not None and stale_seconds < 0:
            raise CommandError("--stale-seconds must be zero or more.")
        stale = timedelta(seconds=stale_seconds) if stale_seconds is not None else None
        result = pipeline_reconcile(stale_after=stale)
        self.stdout.write(
            f"Re-driven: {result['reset']} stuck in drafting, "
            f"{result['requeued']} waiting in received."
        )
