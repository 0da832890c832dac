from django.contrib import admin
from django.urls import path

from hitl_site.admin import ReadOnlyAdminMixin

from .models import AuditEvent
from .views import audit_export_view


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the log is evidence, so the admin can look but never touch."""

    list_display = (
        "sequence",
        "created_at",
        "event_type",
        "actor_type",
        "actor_label",
        "subject_type",
        "subject_id",
    )
    list_filter = ("event_type", "actor_type", "subject_type")
    search_fields = ("subject_id", "actor_label", "event_type", "hash")
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def get_urls(self):
        export = self.admin_site.admin_view(
            lambda request: audit_export_view(request, admin_site=self.admin_site)
        )
        return [path("export/", export, name="audit_auditevent_export"), *super().get_urls()]
