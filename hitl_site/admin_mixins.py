"""Admin building blocks every app may use (the kernel layer: no app imports)."""


class ReadOnlyAdminMixin:
    """For records of what happened (audit events, proposals, evaluations, executions,
    decisions): viewable by whoever may view them, never added, edited or deleted by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
