from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from hitl_site.demo import demo_seed
from hitl_site.demo_history import demo_history_seed


class Command(BaseCommand):
    help = "Creates demo users for every role, an integration with an API key, and demo data. "
    "Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--history",
            action="store_true",
            help="Also seed a decided history (once): 150 cases reviewed through the pipeline "
            "and 8 weeks of imported gated traffic, for precedents, gate-tuning suggestions, "
            "the dashboard and the evaluation set.",
        )

    def handle(self, *args, **options):
        if not settings.HITL_DEMO_DATA_ALLOWED:
            raise CommandError(
                "seed_demo creates users with published passwords and is refused here "
                "(HITL_DEMO_DATA_ALLOWED is off, as in production settings). For the role "
                "groups run: python manage.py ensure_roles"
            )
        result = demo_seed()
        out = self.stdout
        out.write(self.style.SUCCESS("Demo data ready."))
        out.write("Users (username / password / role):")
        for username, role, password in result["users"]:
            out.write(f"  {username:<14} {password:<24} {role}")
        out.write(f"Integration: {result['integration'].name}")
        out.write(f"API key:     {result['api_key']}")
        if options["history"]:
            self._history(result["integration"])

    def _history(self, integration):
        history = demo_history_seed(integration=integration)
        reviewed, imported = history.reviewed, history.imported
        if reviewed is None and imported is None:
            self.stdout.write("History:     already seeded")
            return
        if reviewed is not None:
            self.stdout.write(
                f"History:     {reviewed.decided} cases decided in review "
                f"({reviewed.not_reviewed} not sent to review)"
            )
        if imported is not None:
            self.stdout.write(
                f"             {imported.requests} gated requests imported: "
                f"{imported.auto} auto-approved, {imported.approved} approved, "
                f"{imported.edited} edited, {imported.rejected} rejected by humans"
            )
