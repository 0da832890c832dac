from django.core.management.base import BaseCommand, CommandError

from audit.services import Actor
from hitl_site.errors import ApplicationError
from refunds.models import Integration
from refunds.services import integration_api_key_create


class Command(BaseCommand):
    help = "Creates an API key for an integration and prints it once (it is stored hashed)."

    def add_arguments(self, parser):
        parser.add_argument("integration", help="The integration's name.")
        parser.add_argument("--name", default="cli", help="A label for the key.")

    def handle(self, *args, integration, name, **options):
        try:
            target = Integration.objects.get(name=integration)
        except Integration.DoesNotExist:
            names = ", ".join(Integration.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"No integration named {integration!r} (known: {names}).") from None
        try:
            _, plain = integration_api_key_create(
                integration=target, name=name, actor=Actor.system("create_api_key")
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(plain)
