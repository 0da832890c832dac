from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from hitl_site.demo import demo_seed


class Command(BaseCommand):
    help = "Creates demo users for every role, an integration with an API key, and demo data. "
    "Idempotent."

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
