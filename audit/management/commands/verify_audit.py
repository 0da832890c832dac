from django.core.management.base import BaseCommand, CommandError

from audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "Walks the audit hash chain and names the first broken link (exit status 1 if any)."

    def handle(self, *args, **options):
        report = audit_chain_verify()
        if not report.ok:
            raise CommandError(
                f"Audit chain BROKEN at {report.broken} ({report.checked} events verified "
                "before it)."
            )
        self.stdout.write(self.style.SUCCESS(
            f"Audit chain OK: {report.checked} events, last hash {report.last_hash}."
        ))
