"""Which cases a user sees in the refunds admin.

The rule belongs to the app that knows who works which case (``reviews``: its queues); it
registers it as ``refunds.hooks.case_scope_provider``. The refunds admin only asks.
"""

from django.db.models import Q

from . import hooks


def case_scope_for_admin(user, *, field: str = "pk") -> Q | None:
    """The refund requests ``user`` may look at in the admin, as a condition on ``field``
    (a request id), or None for every one. Raises ``ImproperlyConfigured`` if no scope
    provider is registered (never "everything" by default)."""
    return hooks.case_scope_provider.get()(user, field=field)


class CaseScopedAdminMixin:
    """For admin pages of cases and what hangs off them: only the cases in the user's
    scope (``case_scope_for_admin``) exist there; any other row's change page answers like
    a missing one. ``request_field``: this model's field holding the refund request's id."""

    request_field = "pk"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        visible = case_scope_for_admin(request.user, field=self.request_field)
        return queryset if visible is None else queryset.filter(visible)
