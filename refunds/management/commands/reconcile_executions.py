from django.core.management.base import BaseCommand

from refunds.execution.reconciler import executions_reconcile


class Command(BaseCommand):
    help = (
        "Re-drives final decisions that have no finished execution (lost tasks, crashed "
        "workers, ambiguous provider answers). Safe to run at any time."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--inline",
            action="store_true",
            help="Run the executor here instead of queueing it for workers.",
        )
        parser.add_argument(
            "--grace",
            type=int,
            default=None,
            help="Seconds a decision may wait for its task before it is "
            "re-driven (default HITL_RECONCILE_GRACE).",
        )

    def handle(self, *args, inline=False, grace=None, **options):
        report = executions_reconcile(inline=inline, grace_seconds=grace)
        for request_id, outcome in report.outcomes.items():
            self.stdout.write(f"request {request_id}: {outcome}")
        self.stdout.write(self.style.SUCCESS(f"Re-driven: {report.redriven}."))
