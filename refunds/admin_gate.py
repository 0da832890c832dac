"""Admin for the gate: edit (as new versions), diff, backtest and activate policy versions;
read the evaluations. Every write goes through ``refunds.gate.services``.

Saving the form of an existing version never changes it: it creates a new, inactive version
based on it (versions are immutable), which the admin then backtests and activates.
"""

from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin import DateFieldListFilter
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from audit.services import Actor
from hitl_site.admin_mixins import ReadOnlyAdminMixin
from hitl_site.errors import ApplicationError

from .admin_gate_forms import BacktestForm, GatePolicyVersionForm
from .admin_scope import CaseScopedAdminMixin
from .gate.backtest import gate_backtest
from .gate.policy import POLICY_FIELD_NAMES, gate_policy_diff
from .gate.selectors import gate_policy_active
from .gate.services import gate_policy_version_activate, gate_policy_version_create
from .gate.vocabulary import QUEUES
from .models import GateEvaluation, GatePolicyVersion


@admin.register(GatePolicyVersion)
class GatePolicyVersionAdmin(admin.ModelAdmin):
    form = GatePolicyVersionForm
    change_form_template = "admin/refunds/gatepolicyversion/change_form.html"
    list_display = (
        "version",
        "is_active",
        "change_note",
        "created_by",
        "created_at",
        "activated_at",
    )
    list_filter = ("is_active",)
    list_select_related = ("created_by",)
    readonly_fields = (
        "version",
        "is_active",
        "based_on",
        "created_by",
        "created_at",
        "activated_at",
        "changes_from_base",
    )
    fieldsets = (
        (
            "Version",
            {
                "fields": (
                    "version",
                    "is_active",
                    "based_on",
                    "created_by",
                    "created_at",
                    "activated_at",
                    "changes_from_base",
                    "change_note",
                )
            },
        ),
        (
            "Auto-approval",
            {
                "fields": (
                    "auto_approve_ceiling",
                    "currency_ceilings",
                    "auto_actions",
                    "required_policy_match",
                    "honour_model_review_flag",
                )
            },
        ),
        (
            "Always review",
            {
                "fields": (
                    "review_sentiments",
                    "risk_terms",
                    "review_tiers",
                    "review_countries",
                    "max_prior_refunds_90d",
                    "repeat_complaint_min_requests",
                )
            },
        ),
        (
            "Queues and priority",
            {"fields": ("queue_routes", "priority_tiers", "priority_amount", "priority_age_hours")},
        ),
    )

    def has_delete_permission(self, request, obj=None):
        return False  # versions are history: evaluations and the audit log point at them

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # A fresh copy: the form writes the submitted values onto ``obj`` while validating.
        base = (
            GatePolicyVersion.objects.get(pk=obj.pk)
            if obj is not None
            else self._base_for_add(request)
        )
        return type(form.__name__, (form,), {"base_version": base})

    def _base_for_add(self, request) -> GatePolicyVersion | None:
        source = request.GET.get("from")
        if source and source.isdigit():
            found = GatePolicyVersion.objects.filter(pk=source).first()
            if found is not None:
                return found
        return GatePolicyVersion.objects.filter(is_active=True).first()

    def get_changeform_initial_data(self, request):
        base = self._base_for_add(request)
        if base is None:
            return super().get_changeform_initial_data(request)
        return {name: getattr(base, name) for name in POLICY_FIELD_NAMES}

    @admin.display(description="Changes from the version it was based on")
    def changes_from_base(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        base = obj.based_on
        changes = gate_policy_diff(base.to_snapshot() if base else None, obj.to_snapshot())
        if not changes:
            return "No changes."
        return format_html(
            "<table><tr><th>Setting</th><th>Before</th><th>After</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((c.label, c.old, c.new) for c in changes),
            ),
        )

    # Saving never updates a row: the service creates a new version. It is done in
    # save_form so the admin's log entry and redirect refer to the new version.
    def save_form(self, request, form, change):
        return gate_policy_version_create(
            values=form.policy_values(),
            change_note=form.cleaned_data["change_note"],
            actor=Actor.user(request.user),
            created_by=request.user,
            based_on=form.base_version,
        )

    def save_model(self, request, obj, form, change):
        pass  # already saved by save_form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The form validates everything the service checks, but a concurrent edit can still
        # make the service refuse: show its message instead of an error page.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_related(self, request, form, formsets, change):
        pass  # no relations edited here

    def _saved_response(self, request, obj):
        self.message_user(
            request,
            f"Saved as version {obj.version} (inactive). Backtest it, then "
            "activate it when the results look right.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(
            reverse("admin:refunds_gatepolicyversion_change", args=[obj.pk])
        )

    def response_add(self, request, obj, post_url_continue=None):
        return self._saved_response(request, obj)

    def response_change(self, request, obj):
        return self._saved_response(request, obj)

    # --- Extra pages: diff, backtest, activate ------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/diff/", wrap(self.diff_view), name="refunds_gatepolicyversion_diff"),
            path(
                "<int:pk>/backtest/",
                wrap(self.backtest_view),
                name="refunds_gatepolicyversion_backtest",
            ),
            path(
                "<int:pk>/activate/",
                wrap(self.activate_view),
                name="refunds_gatepolicyversion_activate",
            ),
            *super().get_urls(),
        ]

    def _page(self, request, template, title, version, **context):
        return TemplateResponse(
            request,
            f"admin/refunds/gatepolicyversion/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "original": version,
                "version": version,
                **context,
            },
        )

    def _require(self, request, codename):
        if not request.user.has_perm(f"refunds.{codename}_gatepolicyversion"):
            raise PermissionDenied

    def diff_view(self, request, pk):
        self._require(request, "view")
        version = get_object_or_404(GatePolicyVersion, pk=pk)
        others = GatePolicyVersion.objects.exclude(pk=pk)
        against_raw = request.GET.get("against", "")
        against = (
            others.filter(version=against_raw).first()
            if against_raw.isdigit()
            else version.based_on or others.filter(is_active=True).first()
        )
        changes = gate_policy_diff(
            against.to_snapshot() if against else None, version.to_snapshot()
        )
        return self._page(
            request,
            "diff.html",
            f"Changes in version {version.version}",
            version,
            against=against,
            changes=changes,
            others=others,
        )

    def backtest_view(self, request, pk):
        self._require(request, "backtest")
        version = get_object_or_404(GatePolicyVersion, pk=pk)
        default_since = timezone.localdate() - timedelta(days=30)
        form = BacktestForm(request.GET or None, initial={"since": default_since})
        report = None
        if form.is_valid():
            try:
                baseline = gate_policy_active()
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                report = gate_backtest(
                    draft=version, since=form.cleaned_data["since"], baseline=baseline
                )
        return self._page(
            request,
            "backtest.html",
            f"Backtest version {version.version}",
            version,
            form=form,
            report=report,
            can_activate=request.user.has_perm("refunds.activate_gatepolicyversion"),
        )

    def activate_view(self, request, pk):
        self._require(request, "activate")
        version = get_object_or_404(GatePolicyVersion, pk=pk)
        change_url = reverse("admin:refunds_gatepolicyversion_change", args=[pk])
        if request.method == "POST":
            try:
                gate_policy_version_activate(version=version, actor=Actor.user(request.user))
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Version {version.version} is now the active gate policy.",
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(change_url)
        active = GatePolicyVersion.objects.filter(is_active=True).first()
        changes = gate_policy_diff(active.to_snapshot() if active else None, version.to_snapshot())
        return self._page(
            request,
            "activate.html",
            f"Activate version {version.version}?",
            version,
            active=active,
            changes=changes,
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context.update(
            {
                "can_backtest": request.user.has_perm("refunds.backtest_gatepolicyversion"),
                "can_activate": request.user.has_perm("refunds.activate_gatepolicyversion"),
            }
        )
        return super().render_change_form(
            request, context, add=add, change=change, form_url=form_url, obj=obj
        )


class GateQueueFilter(admin.SimpleListFilter):
    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [(queue, queue) for queue in QUEUES]

    def queryset(self, request, queryset):
        return queryset.filter(queue=self.value()) if self.value() else queryset


@admin.register(GateEvaluation)
class GateEvaluationAdmin(CaseScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: evaluations are written by the gate service alone."""

    request_field = "request_id"
    list_display = ("request", "route", "queue", "priority", "policy_version", "created_at")
    # No date_hierarchy and no filter on the values in the table: each is a DISTINCT over
    # every row in scope, seconds at a million evaluations. These filters cost no query.
    list_filter = ("route", GateQueueFilter, "policy_version", ("created_at", DateFieldListFilter))
    list_select_related = ("request", "policy_version")
    search_fields = ("request__public_id",)
    readonly_fields = (
        "request",
        "policy_version",
        "route",
        "queue",
        "priority",
        "reasons_list",
        "failure_code",
        "decision",
        "context",
        "created_at",
    )
    fields = readonly_fields

    @admin.display(description="Reasons")
    def reasons_list(self, obj):
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "", "<li><code>{}</code>: {}</li>", ((r["code"], r["message"]) for r in obj.reasons)
            ),
        )
