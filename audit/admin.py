from django.apps import apps
from django.conf import settings
from django.contrib import admin, messages
from django.urls import path
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.module_loading import import_string
from django.utils.text import capfirst

from hitl_site.admin_mixins import ReadOnlyAdminMixin
from hitl_site.labels import label, payload_html

from .models import AuditEvent
from .selectors import audit_subjects_condition
from .views import audit_export_view

REFUND_REQUEST = "refunds.refundrequest"


def subject_type_label(subject_type: str) -> str:
    """``refunds.refundrequest`` → "Refund request" (the model's name, while it exists)."""
    try:
        return capfirst(apps.get_model(subject_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return capfirst(label(subject_type))


class RefundRequestFilter(admin.SimpleListFilter):
    """A text box: the events of one refund request — its own and its review tasks' —
    named by its id, its public id or the start of that (as the lists show it)."""

    title = "refund request"
    parameter_name = "request"
    template = "admin/audit/auditevent/request_filter.html"

    def lookups(self, request, model_admin):
        return ()  # typed, not chosen from a list

    def has_output(self):
        return True

    def choices(self, changelist):
        yield {
            "value": self.value() or "",
            "keep": [(k, v) for k, v in changelist.params.items() if k != self.parameter_name],
            "clear": changelist.get_query_string(remove=[self.parameter_name]),
        }

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        # The audit log knows no app: which records make up a case is the project's
        # setting (``HITL_AUDIT_CASE_SUBJECTS``), answered by the app that knows cases.
        subjects = import_string(settings.HITL_AUDIT_CASE_SUBJECTS)(self.value())
        if not subjects:
            messages.warning(request, f"No refund request matches “{self.value()}”.")
            return queryset.none()
        return queryset.filter(audit_subjects_condition(subjects))


class LabelledValuesFilter(admin.AllValuesFieldListFilter):
    """The values of a code column, shown by their labels."""

    @staticmethod
    def labeller(value: str) -> str:
        return capfirst(label(value))

    def choices(self, changelist):
        names = {str(v): self.labeller(str(v)) for v in self.lookup_choices if v is not None}
        for choice in super().choices(changelist):
            raw, _, count = str(choice["display"]).partition(" (")
            if raw in names:
                choice["display"] = names[raw] + (f" ({count}" if count else "")
            yield choice


class SubjectTypeFilter(LabelledValuesFilter):
    labeller = staticmethod(subject_type_label)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the log is evidence, so the admin can look but never touch."""

    list_display = ("sequence", "created_at", "event", "actor", "subject")
    list_display_links = ("sequence",)
    list_filter = (
        RefundRequestFilter,
        ("event_type", LabelledValuesFilter),
        "actor_type",
        ("subject_type", SubjectTypeFilter),
    )
    search_fields = ("subject_id", "actor_label", "event_type", "hash")
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = ["details", *(f.name for f in AuditEvent._meta.fields)]

    @admin.display(description="event", ordering="event_type")
    def event(self, obj):
        return format_html(
            '<span title="{}">{}</span>', obj.event_type, capfirst(label(obj.event_type))
        )

    @admin.display(description="actor", ordering="actor_type")
    def actor(self, obj):
        return f"{obj.get_actor_type_display()}: {obj.actor_label or obj.actor_id or '—'}"

    @admin.display(description="about", ordering="subject_type")
    def subject(self, obj):
        if not obj.subject_type:
            return "—"
        text = f"{subject_type_label(obj.subject_type)} {obj.subject_id}"
        if obj.subject_type != REFUND_REQUEST:
            return format_html('<span class="hitl-nowrap">{}</span>', text)
        return format_html(
            '<a class="hitl-nowrap" href="?{}" title="Every event of this request">{}</a>',
            urlencode({RefundRequestFilter.parameter_name: obj.subject_id}),
            text,
        )

    @admin.display(description="details")
    def details(self, obj):
        return payload_html(obj.payload)

    def get_urls(self):
        export = self.admin_site.admin_view(
            lambda request: audit_export_view(request, admin_site=self.admin_site)
        )
        return [path("export/", export, name="audit_auditevent_export"), *super().get_urls()]
