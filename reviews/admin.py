"""Admin for review: queues (settings and who works them), tasks and decisions (read-only,
restricted to the user's queues), and bulk approve/reject through the same service."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.http import Http404
from django.template.response import TemplateResponse

from audit.services import Actor
from hitl_site.admin_mixins import ReadOnlyAdminMixin
from hitl_site.errors import ApplicationError
from hitl_site.labels import money_html, short_id_html
from refunds.actions import RejectReason

from . import permissions as perms
from .absence_admin import ReviewerAbsenceAdmin  # noqa: F401  (registers the absences' admin)
from .models import (
    Outcome,
    Queue,
    ReviewDecision,
    ReviewTask,
)
from .services import queue_access_grant, queue_access_revoke, queue_owners_set, review_decide


def _picker(name: str):
    return admin.widgets.FilteredSelectMultiple(name, False)


class QueueForm(forms.ModelForm):
    """The queue's settings, plus who works it (saved through the grant services)."""

    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.exclude(name__in=perms.MACHINE_ROLES).order_by("name"),
        required=False,
        widget=_picker("groups"),
        help_text="Every member of these groups works this queue.",
    )
    users = forms.ModelMultipleChoiceField(
        queryset=perms.human_staff_users(), required=False, widget=_picker("users")
    )
    # Not named ``owners``: the model field would then be saved by the form, unaudited.
    queue_owners = forms.ModelMultipleChoiceField(
        label="Owners",
        queryset=perms.human_staff_users(),
        required=False,
        widget=_picker("owners"),
        help_text="Told of this queue's escalations and SLA warnings (by their notification "
        "preferences), whether or not they work it.",
    )

    class Meta:
        model = Queue
        fields = [
            "slug",
            "name",
            "description",
            "sla_minutes",
            "hard_deadline_minutes",
            "is_active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["groups"], self.initial["users"] = perms.queue_grants(self.instance)
            self.initial["queue_owners"] = list(self.instance.owners.values_list("pk", flat=True))


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    form = QueueForm
    list_display = ("slug", "name", "sla_minutes", "hard_deadline_minutes", "is_active")
    fieldsets = [
        (None, {"fields": ["slug", "name", "description", "is_active"]}),
        ("Service level", {"fields": ["sla_minutes", "hard_deadline_minutes"]}),
        ("Who works this queue", {"fields": ["groups", "users"]}),
        ("Who answers for it", {"fields": ["queue_owners"]}),
    ]

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: tasks keep pointing at it

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        queue, actor = form.instance, Actor.user(request.user)
        for field, kind in (("groups", "group"), ("users", "user")):
            before = set(form.initial.get(field) or [])
            after = {o.pk for o in form.cleaned_data[field]}
            model = form.fields[field].queryset.model
            for obj in model.objects.filter(pk__in=after - before):
                queue_access_grant(queue=queue, actor=actor, **{kind: obj})
            for obj in model.objects.filter(pk__in=before - after):
                queue_access_revoke(queue=queue, actor=actor, **{kind: obj})
        queue_owners_set(queue=queue, owners=form.cleaned_data["queue_owners"], actor=actor)


class BulkRejectForm(forms.Form):
    reason_code = forms.ChoiceField(choices=RejectReason.choices)
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class OwnQueuesMixin(ReadOnlyAdminMixin):
    """Only the tasks of the user's queues exist for them here (anything else is a 404),
    and only to look at: decisions are made on the review pages, through the services."""

    task_path = "queue_id__in"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(**{self.task_path: perms.queue_ids_for_user(request.user)})
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if self.get_object(request, admin.utils.unquote(object_id)) is None:
            raise Http404("No such object in your queues.")
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(ReviewTask)
class ReviewTaskAdmin(OwnQueuesMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "request_id_short",
        "amount",
        "queue",
        "priority",
        "status",
        "assignee",
        "due_at",
        "created_at",
    )
    list_filter = ("queue", "status", "priority")
    list_select_related = ("request", "queue", "assignee")
    search_fields = ("request__public_id",)
    show_full_result_count = False
    actions = ["bulk_approve", "bulk_reject"]

    @admin.display(description="request", ordering="request__public_id")
    def request_id_short(self, obj):
        return short_id_html(obj.request.public_id)

    @admin.display(description="amount", ordering="request__requested_amount")
    def amount(self, obj):
        return money_html(obj.request.requested_amount, obj.request.currency)

    def _run(self, request, queryset, **decision) -> None:
        done, failed = 0, []
        for task in queryset.select_related("request", "queue"):
            try:  # the same per-row checks as a single decision
                review_decide(task=task, user=request.user, **decision)
            except ApplicationError as exc:
                failed.append(f"task {task.pk}: {exc.message}")
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} task(s) decided.", messages.SUCCESS)
        for failure in failed:
            self.message_user(request, failure, messages.ERROR)

    def has_decide_permission(self, request) -> bool:
        # Those who work a queue; each task is then checked by review_decide as on its page.
        return bool(perms.queue_ids_for_user(request.user))

    @admin.action(
        description="Approve the drafted proposal on the selected tasks", permissions=["decide"]
    )
    def bulk_approve(self, request, queryset):
        self._run(request, queryset, outcome=Outcome.APPROVE)

    @admin.action(
        description="Reject the selected tasks (reason and comment asked)", permissions=["decide"]
    )
    def bulk_reject(self, request, queryset):
        form = BulkRejectForm(request.POST if "reason_code" in request.POST else None)
        if form.is_valid():
            self._run(request, queryset, outcome=Outcome.REJECT, **form.cleaned_data)
            return None
        return TemplateResponse(
            request,
            "admin/reviews/reviewtask/bulk_reject.html",
            {
                **self.admin_site.each_context(request),
                "title": "Reject review tasks",
                "opts": self.model._meta,
                "form": form,
                "tasks": queryset,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(OwnQueuesMixin, admin.ModelAdmin):
    task_path = "task__queue_id__in"
    list_display = (
        "id",
        "task",
        "reviewer",
        "outcome",
        "action",
        "amount",
        "currency",
        "amount_difference",
        "is_final",
        "pending",
        "created_at",
    )
    list_filter = ("outcome", "is_final", "pending")
    list_select_related = ("task", "reviewer")
    show_full_result_count = False
