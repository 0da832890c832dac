"""``python manage.py export_eval_set --since 2026-11-01 [--until 2026-12-01] [-o FILE]``

Writes one JSON object per line (JSON Lines) for each final human decision made in the
period: the case as the model saw it, the AI proposal, the gate's verdict, the human's
decision with reason codes and comments, and the difference. Streams (constant memory).
Without ``-o`` the lines go to standard output. Dates are whole days in the site's time
zone; ``--until`` is exclusive.
"""

import json
from datetime import date, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.evalset.export import eval_set_records


def parse_day(value: str, *, option: str) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{option} must be a date like 2026-11-01, not {value!r}.") from exc
    return timezone.make_aware(datetime.combine(day, time.min))


class Command(BaseCommand):
    help = "Export final human review decisions as a JSON Lines evaluation set."

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="First day (YYYY-MM-DD).")
        parser.add_argument("--until", help="Day after the last (YYYY-MM-DD, exclusive).")
        parser.add_argument("-o", "--output", help="File to write (default: stdout).")

    def handle(self, *args, **options):
        since = parse_day(options["since"], option="--since")
        until = parse_day(options["until"], option="--until") if options["until"] else None
        if until is not None and until <= since:
            raise CommandError("--until must be after --since.")
        path = options["output"]
        try:
            out = open(path, "w", encoding="utf-8") if path else None  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror}.") from exc
        stream = out or self.stdout
        count = 0
        try:
            for record in eval_set_records(since=since, until=until):
                stream.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
        finally:
            if out is not None:
                out.close()
        if path:
            self.stderr.write(f"Wrote {count} case(s) to {path}.")
