"""Admin: preferences editable by admins (who hold the model permissions; no role does by
default, so superusers); what was sent, read-only, except "send again" on a failed
delivery (``notifications.change_notificationdelivery``: no role holds it; superusers, or
a person it is granted to)."""

from django.contrib import admin, messages

from hitl_site.admin_mixins import ReadOnlyAdminMixin

from .delivery import notification_delivery_requeue
from .models import Notification, NotificationDelivery, NotificationMessage, NotificationPreference
from .preferences import notification_preference_save


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "mode", "email_enabled", "escalated", "four_eyes", "sla_warning")
    list_filter = ("mode", "email_enabled")
    search_fields = ("user__username",)
    raw_id_fields = ("user",)

    def save_model(self, request, obj, form, change):
        notification_preference_save(preference=obj, by=request.user)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "recipient", "kind", "task", "message")
    list_filter = ("kind",)
    list_select_related = ("recipient", "message")


class DeliveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = NotificationDelivery
    fields = ("channel", "status", "attempts", "next_attempt_at", "last_error", "delivered_at")
    readonly_fields = fields
    extra = 0


@admin.register(NotificationMessage)
class NotificationMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "recipient", "subject", "is_digest")
    list_filter = ("is_digest",)
    list_select_related = ("recipient",)
    inlines = [DeliveryInline]


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "message", "channel", "status", "attempts", "next_attempt_at")
    list_filter = ("status", "channel")
    list_select_related = ("message",)
    actions = ["requeue"]

    def has_requeue_permission(self, request):
        return request.user.has_perm("notifications.change_notificationdelivery")

    @admin.action(description="Send again (failed deliveries)", permissions=["requeue"])
    def requeue(self, request, queryset):
        failed = queryset.filter(status=NotificationDelivery.Status.FAILED)
        for delivery in failed:
            notification_delivery_requeue(delivery=delivery, by=request.user)
        skipped = queryset.count() - len(failed)
        self.message_user(
            request,
            f"Sent again: {len(failed)} delivery(ies)"
            + (f"; {skipped} not failed, left alone." if skipped else "."),
            messages.SUCCESS,
        )
