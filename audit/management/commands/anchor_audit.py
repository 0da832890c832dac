from django.core.management.base import BaseCommand, CommandError

from audit.anchors import AnchorSinkError, audit_anchor_write


class Command(BaseCommand):
    help = (
        "Writes the audit chain head (sequence, hash, time) to HITL_AUDIT_ANCHOR_PATH and to "
        "HITL_AUDIT_ANCHOR_COMMAND / HITL_AUDIT_ANCHOR_URL when set, so truncation or a "
        "rewrite is detectable later by verify_audit. Exit status 1 if any of them failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--path", help="Anchor file (default HITL_AUDIT_ANCHOR_PATH).")

    def handle(self, *args, path=None, **options):
        try:
            anchor = audit_anchor_write(path=path)
        except AnchorSinkError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Anchored #{anchor.sequence} {anchor.hash} at {anchor.anchored_at}."
            )
        )
