from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from hitl_site.errors import ApplicationError
from refunds.gate.backtest import backtest_report_lines, gate_backtest
from refunds.gate.selectors import gate_policy_active, gate_policy_version_get
from refunds.models import GatePolicyVersion


def _version(raw: str, option: str) -> GatePolicyVersion:
    try:
        number = int(raw)
    except ValueError:
        raise CommandError(f"{option} must be a version number, e.g. 3; got {raw!r}.") from None
    try:
        return gate_policy_version_get(version=number)
    except ApplicationError as exc:
        raise CommandError(exc.message) from exc


class Command(BaseCommand):
    help = (
        "Replays past cases under a gate policy version and compares its routing with the "
        "active version (or --against another one). Read-only."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--policy-version",
            required=True,
            metavar="N",
            help="The version to test (usually a draft).",
        )
        parser.add_argument(
            "--since",
            required=True,
            metavar="YYYY-MM-DD",
            help="Replay cases gated on or after this date.",
        )
        parser.add_argument(
            "--against", metavar="M", help="Compare with this version instead of the active one."
        )
        parser.add_argument(
            "--max-changed",
            type=int,
            default=50,
            help="List at most this many changed cases (default 50).",
        )

    def handle(self, *args, policy_version, since, against, max_changed, **options):
        draft = _version(policy_version, "--policy-version")
        try:
            since_date = date.fromisoformat(since)
        except ValueError:
            raise CommandError(f"--since must be a date as YYYY-MM-DD; got {since!r}.") from None
        if since_date > timezone.localdate():
            raise CommandError(f"--since {since} is in the future; no case can match.")
        if against is not None:
            baseline = _version(against, "--against")
        else:
            try:
                baseline = gate_policy_active()
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
        report = gate_backtest(draft=draft, since=since_date, baseline=baseline)
        self.stdout.write("\n".join(backtest_report_lines(report, max_changed=max_changed)))
