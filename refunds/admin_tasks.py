"""django-q2's task pages, with its one action behind a permission: resubmitting a task
runs its function again (an execution, a webhook) and so needs the change permission on
the task, not merely a view of it. Registered by ``refunds.admin`` (after django_q's own)."""

from django.contrib import admin
from django_q import admin as q_admin
from django_q.models import Failure, Success


@admin.action(description=q_admin.resubmit_task.short_description, permissions=["change"])
def resubmit_task(model_admin, request, queryset):
    q_admin.resubmit_task(model_admin, request, queryset)


class SuccessAdmin(q_admin.TaskAdmin):
    actions = [resubmit_task]


class FailureAdmin(q_admin.FailAdmin):  # a FailAdmin still: resubmitting deletes the failure
    actions = [resubmit_task]


for model, model_admin in ((Success, SuccessAdmin), (Failure, FailureAdmin)):
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
