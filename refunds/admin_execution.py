"""Admin pages of the executor: executions (with a senior reviewer's retry and close), the
embedded backends' records, customer replies, webhook settings and the delivery log, and
the case timeline of a refund request."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from audit.services import Actor
from hitl_site.admin_mixins import ReadOnlyAdminMixin
from hitl_site.errors import ApplicationError
from hitl_site.labels import short_id_html

from .execution.recovery import execution_close, execution_retry
from .models import (
    CustomerReply,
    Execution,
    IntegrationWebhook,
    LedgerRefund,
    OutboundMessage,
    RefundRequest,
    ReplacementOrder,
    WebhookDelivery,
)
from .states import RefundStatus
from .timeline import refund_request_timeline
from .webhooks import webhook_delivery_requeue


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Records of what happened: viewable, never edited by hand."""


def timeline_url(request_id: int) -> str:
    return reverse("admin:refunds_refundrequest_timeline", args=[request_id])


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "request_link",
        "request_status",
        "action",
        "amount",
        "currency",
        "phase",
        "attempts",
        "backend",
        "provider_reference",
        "short_error",
        "updated_at",
    )
    list_filter = ("phase", "action", "backend", "request__status")
    search_fields = ("idempotency_key", "provider_reference", "request__public_id")
    list_select_related = ("request",)
    date_hierarchy = "created_at"
    actions = ["retry_executions", "close_cases"]

    @admin.display(description="request")
    def request_link(self, obj):
        return format_html(
            '<a href="{}">{}</a> (<a href="{}">timeline</a>)',
            reverse("admin:refunds_refundrequest_change", args=[obj.request_id]),
            short_id_html(obj.request.public_id),
            timeline_url(obj.request_id),
        )

    @admin.display(description="request status", ordering="request__status")
    def request_status(self, obj):
        return obj.request.get_status_display()

    @admin.display(description="last error")
    def short_error(self, obj):
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    def has_retry_permission(self, request):
        return request.user.has_perm("refunds.retry_execution")

    def _each_failed(self, request, queryset, service, verb):
        done = 0
        for execution in queryset.select_related("request"):
            if execution.request.status != RefundStatus.EXECUTION_FAILED:
                self.message_user(
                    request,
                    f"{execution.request.public_id}: not in 'execution failed', left alone.",
                    messages.WARNING,
                )
                continue
            try:
                service(request=execution.request, actor=Actor.user(request.user))
            except ApplicationError as exc:
                self.message_user(
                    request, f"{execution.request.public_id}: {exc.message}", messages.ERROR
                )
                continue
            done += 1
        if done:
            self.message_user(request, f"{verb} {done} case(s).", messages.SUCCESS)

    @admin.action(
        description="Retry the failed execution (same idempotency key)", permissions=["retry"]
    )
    def retry_executions(self, request, queryset):
        self._each_failed(request, queryset, execution_retry, "Retried")

    @admin.action(description="Close the case without executing", permissions=["retry"])
    def close_cases(self, request, queryset):
        self._each_failed(request, queryset, execution_close, "Closed")

    def get_urls(self):
        timeline = self.admin_site.admin_view(self.timeline_view)
        return [
            path("timeline/<int:request_id>/", timeline, name="refunds_refundrequest_timeline"),
            *super().get_urls(),
        ]

    def timeline_view(self, request, request_id: int):
        if not request.user.has_perm("refunds.view_refundrequest"):
            raise PermissionDenied
        # Through the request admin's queryset: a reviewer's timelines are those of their queues.
        cases = self.admin_site._registry[RefundRequest].get_queryset(request)
        refund_request = get_object_or_404(
            cases.select_related("integration", "customer", "order"), pk=request_id
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Case timeline: {refund_request.public_id}",
            "timeline": refund_request_timeline(request=refund_request),
            "opts": RefundRequest._meta,
            "can_retry": self.has_retry_permission(request),
        }
        return TemplateResponse(request, "admin/refunds/refundrequest/timeline.html", context)


@admin.register(LedgerRefund)
class LedgerRefundAdmin(ReadOnlyAdmin):
    list_display = ("reference", "order", "request", "amount", "currency", "created_at")
    search_fields = ("reference", "idempotency_key", "order__external_id")
    list_filter = ("currency",)
    list_select_related = ("order", "request")


@admin.register(ReplacementOrder)
class ReplacementOrderAdmin(ReadOnlyAdmin):
    list_display = ("reference", "order", "request", "created_at")
    search_fields = ("reference", "idempotency_key", "order__external_id")
    list_select_related = ("order", "request")


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    list_display = ("reference", "kind", "request", "created_at")
    list_filter = ("kind",)
    search_fields = ("reference", "request__public_id")
    list_select_related = ("request",)


@admin.register(CustomerReply)
class CustomerReplyAdmin(ReadOnlyAdmin):
    list_display = ("request", "created_at")
    search_fields = ("request__public_id",)
    list_select_related = ("request",)


@admin.register(IntegrationWebhook)
class IntegrationWebhookAdmin(admin.ModelAdmin):
    list_display = ("integration", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("integration__name",)
    list_select_related = ("integration",)
    readonly_fields = ("secret", "created_at")

    def get_readonly_fields(self, request, obj=None):
        # The secret is generated; shown (to those who may change it) so it can be copied.
        return self.readonly_fields if obj else ("created_at",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log: what was sent where, how often, and the last answer."""

    list_display = (
        "created_at",
        "event",
        "integration",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "event", "integration")
    search_fields = ("public_id", "request__public_id", "url")
    list_select_related = ("integration",)
    date_hierarchy = "created_at"
    actions = ["requeue"]

    def has_requeue_permission(self, request):
        return request.user.has_perm("refunds.retry_execution")

    @admin.action(description="Send again (failed deliveries)", permissions=["requeue"])
    def requeue(self, request, queryset):
        failed = queryset.filter(status=WebhookDelivery.Status.FAILED)
        for delivery in failed:
            webhook_delivery_requeue(delivery=delivery)
        self.message_user(request, f"Re-queued {failed.count()} delivery(ies).", messages.SUCCESS)
