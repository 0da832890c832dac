from django.apps import AppConfig


class RefundsConfig(AppConfig):
    name = "refunds"
    verbose_name = "Refunds"

    def ready(self):
        from hitl_site.labels import status_codes_register

        from . import checks  # noqa: F401  (registers the worker time-budget check)
        from .states import RefundStatus

        status_codes_register(RefundStatus.values)
