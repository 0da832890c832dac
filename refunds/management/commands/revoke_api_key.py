from django.core.management.base import BaseCommand, CommandError

from audit.services import Actor
from refunds.models import IntegrationAPIKey
from refunds.services import integration_api_key_revoke


class Command(BaseCommand):
    help = "Revokes an integration API key by its prefix (the part before the dot)."

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, prefix, **options):
        api_key = IntegrationAPIKey.objects.filter(prefix=prefix.partition(".")[0]).first()
        if api_key is None:
            raise CommandError(f"No API key with prefix {prefix!r}.")
        integration_api_key_revoke(api_key=api_key, actor=Actor.system("revoke_api_key"))
        self.stdout.write(f"Revoked key {api_key.prefix} of {api_key.integration}.")
