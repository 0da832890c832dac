"""``python manage.py ensure_roles``: the role groups with exactly their declared permissions
(``hitl_site/roles.py``) and the default queue grants. Run it on every deploy, after
``migrate``: a release that changes a role's permissions takes effect only then. Creates no
users (``seed_demo`` is for demo machines only)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from audit.services import Actor
from hitl_site import roles
from reviews.services import queue_access_defaults_ensure


class Command(BaseCommand):
    help = "Create or update the role groups and the default queue grants. Idempotent."

    def handle(self, *args, **options):
        with transaction.atomic():
            groups = roles.roles_ensure()
            queue_access_defaults_ensure(actor=Actor.system("ensure_roles"))
        for name, group in groups.items():
            self.stdout.write(f"  {name:<16} {group.permissions.count()} permissions")
        self.stdout.write(self.style.SUCCESS("Roles up to date."))
