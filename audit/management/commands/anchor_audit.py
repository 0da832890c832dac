from django.core.management.base import BaseCommand

from audit.anchors import audit_anchor_write


class Command(BaseCommand):
    help = (
        "Appends the audit chain head (sequence, hash, time) to HITL_AUDIT_ANCHOR_PATH "
        "and logs it, so truncation is detectable later by verify_audit."
    )

    def add_arguments(self, parser):
        parser.add_argument("--path", help="Anchor file (default HITL_AUDIT_ANCHOR_PATH).")

    def handle(self, *args, path=None, **options):
        anchor = audit_anchor_write(path=path)
        self.stdout.write(
            self.style.SUCCESS(
                f"Anchored #{anchor.sequence} {anchor.hash} at {anchor.anchored_at}."
            )
        )
