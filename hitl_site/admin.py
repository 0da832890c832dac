"""Admin building blocks shared by the apps."""

from django.db.models import Exists, OuterRef


class ReadOnlyAdminMixin:
    """For records of what happened (audit events, proposals, evaluations, executions,
    decisions): viewable by whoever may view them, never added, edited or deleted by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReviewQueueScopedAdminMixin:
    """Cases (and what hangs off them) that a reviewer may see in the admin: those with a
    review task in a queue they work, as on the review pages, and, for those who handle
    executions (``refunds.view_execution``: senior reviewers), the auto-approved cases that
    never had a task. Holders of ``refunds.view_every_refundrequest`` (auditors, policy
    admins) see every case.

    Subclasses say how their rows reach a refund request in ``scope_to_requests``. A row out
    of scope does not exist for the user (its change page answers like a missing one).
    """

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        user = request.user
        if user.has_perm("refunds.view_every_refundrequest"):
            return queryset
        from refunds.models import RefundRequest
        from reviews.models import ReviewTask
        from reviews.permissions import queue_ids_for_user

        tasks = ReviewTask.objects.filter(request_id=OuterRef("pk"))
        visible = Exists(tasks.filter(queue_id__in=queue_ids_for_user(user)))
        if user.has_perm("refunds.view_execution"):
            visible |= ~Exists(tasks)
        return self.scope_to_requests(queryset, RefundRequest.objects.filter(visible).values("pk"))

    def scope_to_requests(self, queryset, request_ids):
        return queryset.filter(pk__in=request_ids)
