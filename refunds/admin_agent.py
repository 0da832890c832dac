"""Admin for refund-policy documents and the agent's proposals (read-only evidence)."""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from audit.services import Actor
from hitl_site.admin_mixins import ReadOnlyAdminMixin
from hitl_site.errors import ApplicationError

from .admin_scope import CaseScopedAdminMixin
from .models import Proposal, RefundPolicy, RefundPolicySection, RefundPolicyVersion
from .policies import refund_policy_version_create
from .selectors import refund_policy_version_diff


class RefundPolicyForm(forms.ModelForm):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 30, "cols": 100}),
        help_text="Markdown; each '## ' heading starts a section. Saving "
        "creates a new version; earlier versions are kept.",
    )
    change_note = forms.CharField(max_length=300, required=False)

    class Meta:
        model = RefundPolicy
        fields = ["slug", "title"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            latest = self.instance.versions.order_by("-version").first()
            self.fields["text"].initial = latest.text if latest else ""


class RefundPolicyVersionInline(admin.TabularInline):
    model = RefundPolicyVersion
    fields = ("version", "change_note", "created_by", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RefundPolicy)
class RefundPolicyAdmin(admin.ModelAdmin):
    form = RefundPolicyForm
    list_display = ("title", "slug", "created_at")
    search_fields = ("title", "slug")
    inlines = [RefundPolicyVersionInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        try:
            version = refund_policy_version_create(
                policy=obj,
                text=form.cleaned_data["text"],
                actor=Actor.user(request.user),
                created_by=request.user,
                change_note=form.cleaned_data["change_note"],
            )
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"Saved as {version}.", messages.SUCCESS)

    def has_delete_permission(self, request, obj=None):
        return False


class RefundPolicySectionInline(admin.TabularInline):
    model = RefundPolicySection
    fields = ("position", "section_id", "title", "body")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RefundPolicyVersion)
class RefundPolicyVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("policy", "version", "change_note", "created_by", "created_at")
    list_filter = ("policy",)
    search_fields = ("text", "change_note")
    readonly_fields = (
        "policy",
        "version",
        "change_note",
        "created_by",
        "created_at",
        "changes",
        "text",
    )
    inlines = [RefundPolicySectionInline]

    @admin.display(description="changes from the previous version")
    def changes(self, obj):
        lines = refund_policy_version_diff(obj)
        if not lines:
            return "— (first version)"
        return format_html(
            '<pre style="white-space: pre-wrap">{}</pre>',
            "\n".join(lines),
        )


@admin.register(Proposal)
class ProposalAdmin(CaseScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the record of what the model saw and said (reviewers: their queues' cases)."""

    request_field = "request"

    list_display = (
        "id",
        "request",
        "provider",
        "model_name",
        "action",
        "amount",
        "error_code",
        "attempts",
        "latency_ms",
        "created_at",
    )
    list_filter = ("provider", "error_code", "prompt_version")
    search_fields = ("request__public_id", "model_name")
    list_select_related = ("request",)
    show_full_result_count = False
    readonly_fields = (
        "request",
        "provider",
        "model_name",
        "prompt_name",
        "prompt_version",
        "policy_version",
        "chosen_sections",
        "rendered_prompt",
        "context",
        "decision",
        "raw_output",
        "token_usage",
        "latency_ms",
        "attempts",
        "error_code",
        "error_message",
        "created_at",
    )
    exclude = ("prompt_messages", "sections")

    @admin.display(description="action")
    def action(self, obj):
        return (obj.decision or {}).get("action", "—")

    @admin.display(description="amount")
    def amount(self, obj):
        return (obj.decision or {}).get("amount", "—")

    @admin.display(description="policy sections (score)")
    def chosen_sections(self, obj):
        return format_html_join(
            mark_safe("<br>"),
            "{} — {} ({})",
            ((s["id"], s["title"], s["score"]) for s in obj.sections),
        )

    @admin.display(description="prompt")
    def rendered_prompt(self, obj):
        return format_html_join(
            "",
            '<p><strong>{}</strong></p><pre style="white-space: pre-wrap">{}</pre>',
            ((m["role"], m["content"]) for m in obj.prompt_messages),
        )
