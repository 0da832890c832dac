from django.core.management.base import BaseCommand, CommandError

from audit.anchors import AnchorFileError, audit_anchors_read, audit_anchors_verify
from audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = (
        "Walks the audit hash chain and checks it against the anchors written out of the "
        "database; names the first broken link (exit status 1 if any)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--anchors",
            help=(
                "Anchor file, or a folder of anchor files (e.g. a copy of the anchor bucket); "
                "default HITL_AUDIT_ANCHOR_PATH."
            ),
        )
        parser.add_argument("--no-anchors", action="store_true", help="Check the chain only.")

    def handle(self, *args, anchors=None, no_anchors=False, **options):
        report = audit_chain_verify()
        if not report.ok:
            raise CommandError(
                f"Audit chain BROKEN at {report.broken} ({report.checked} events verified "
                "before it)."
            )
        anchored = ""
        if not no_anchors:
            try:
                found = audit_anchors_read(path=anchors)
            except AnchorFileError as exc:
                raise CommandError(f"Audit anchors UNREADABLE: {exc}") from exc
            broken = audit_anchors_verify(anchors=found, report=report)
            if broken is not None:
                raise CommandError(
                    f"Audit chain BROKEN at {broken} (checked against {len(found)} anchors)."
                )
            anchored = f" {len(found)} anchors agree." if found else " No anchors yet."
        keys = ", ".join(f"{key_id}: {count}" for key_id, count in report.keys.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain OK: {report.checked} events, last hash {report.last_hash}."
                f"{anchored}" + (f" Events per integrity key: {keys}." if keys else "")
            )
        )
