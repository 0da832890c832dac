import sys

from django.core.management.base import BaseCommand, CommandError

from audit.export import FORMATS, export_lines, parse_bound
from audit.selectors import audit_events_between


class Command(BaseCommand):
    help = (
        "Exports audit events in a date range as JSON Lines or CSV, streaming (constant "
        "memory). Dates are YYYY-MM-DD (both days included) or ISO datetimes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="First day or moment (inclusive).")
        parser.add_argument("--until", help="Last day (inclusive) or moment (exclusive).")
        parser.add_argument("--format", choices=sorted(FORMATS), default="jsonl")
        parser.add_argument("--output", "-o", default="-", help="File, or - for stdout.")

    def handle(self, *args, since=None, until=None, format="jsonl", output="-", **options):
        try:
            events = audit_events_between(
                since=parse_bound(since), until=parse_bound(until, end=True)
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        handle = self.stdout if output == "-" else open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115
        try:
            for line in export_lines(events, format):
                handle.write(line, ending="") if handle is self.stdout else handle.write(line)
        finally:
            if handle is not self.stdout and handle is not sys.stdout:
                handle.close()
