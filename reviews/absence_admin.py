"""Admin for reviewers' absences: senior reviewers (``reviews.reassign_reviewtask``) set
one for a colleague (a sick colleague) and cancel absences, through the same services as
the reviewer's own page; auditors read them (``reviews.view_reviewerabsence``). Nothing is
edited or deleted: cancel and set another."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from hitl_site.errors import ApplicationError

from . import permissions as perms
from .models import ReviewerAbsence
from .services import reviewer_absence_cancel, reviewer_absence_check, reviewer_absence_set


class ReviewerAbsenceForm(forms.ModelForm):
    """The service's rules, shown on the form (``reviewer_absence_check``)."""

    by = None  # the admin user, set by ReviewerAbsenceAdmin.get_form

    class Meta:
        model = ReviewerAbsence
        fields = ["user", "delegate", "starts_at", "ends_at", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = perms.human_staff_users()
        self.fields["delegate"].queryset = perms.human_staff_users()
        self.fields["starts_at"].help_text = "A time already past means now."

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        now = timezone.now()
        try:
            reviewer_absence_check(
                user=data["user"],
                delegate=data.get("delegate"),
                starts_at=max(data["starts_at"], now),
                ends_at=data["ends_at"],
                by=self.by,
                now=now,
            )
        except ApplicationError as exc:
            raise ValidationError(exc.message) from exc
        return data

    def _post_clean(self):
        """The model's constraints restate the service's rules: once ``clean`` has refused,
        checking them again would only say the same thing twice, in database words. (The
        model is validated here, after ``clean``; Django offers no public hook for it.)"""
        if not self.errors:
            super()._post_clean()


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("in_force", "In force"),
            ("planned", "Planned"),
            ("over", "Over"),
            ("cancelled", "Cancelled"),
        ]

    def queryset(self, request, queryset):
        now, live = timezone.now(), queryset.filter(cancelled_at__isnull=True)
        return {
            "in_force": live.filter(starts_at__lte=now, ends_at__gt=now),
            "planned": live.filter(starts_at__gt=now),
            "over": live.filter(ends_at__lte=now),
            "cancelled": queryset.filter(cancelled_at__isnull=False),
        }.get(self.value(), queryset)


@admin.register(ReviewerAbsence)
class ReviewerAbsenceAdmin(admin.ModelAdmin):
    form = ReviewerAbsenceForm
    list_display = ("user", "delegate", "starts_at", "ends_at", "state", "note", "created_by")
    list_filter = (StateFilter, "starts_at")
    list_select_related = ("user", "delegate", "created_by")
    search_fields = ("user__username", "delegate__username")
    actions = ["cancel_absences"]

    @admin.display(description="state")
    def state(self, obj) -> str:
        if obj.cancelled_at is not None:
            return "cancelled"
        now = timezone.now()
        return "over" if obj.ends_at <= now else "in force" if obj.in_force(now) else "planned"

    def has_add_permission(self, request):
        return perms.user_can_set_absence_for_others(request.user)

    def has_change_permission(self, request, obj=None):
        return False  # cancel and set another: an absence's history stays as it was

    def has_delete_permission(self, request, obj=None):
        return False

    def has_cancel_permission(self, request) -> bool:
        return perms.user_can_set_absence_for_others(request.user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"by": request.user})

    def save_model(self, request, obj, form, change):
        """Through the service (which checks again under its lock)."""
        try:
            absence = reviewer_absence_set(
                user=obj.user,
                delegate=obj.delegate,
                starts_at=obj.starts_at,
                ends_at=obj.ends_at,
                note=obj.note,
                by=request.user,
            )
        except ApplicationError as exc:
            obj._refused = True
            self.message_user(request, exc.message, messages.ERROR)
        else:
            obj.pk, obj.starts_at = absence.pk, absence.starts_at

    def log_addition(self, request, obj, message):
        if not getattr(obj, "_refused", False):
            return super().log_addition(request, obj, message)
        return None

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(obj, "_refused", False):
            return HttpResponseRedirect(reverse("admin:reviews_reviewerabsence_add"))
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description="Cancel the selected absences", permissions=["cancel"])
    def cancel_absences(self, request, queryset):
        done = 0
        for absence in queryset:
            try:
                reviewer_absence_cancel(absence=absence, by=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{absence}: {exc.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} absence(s) cancelled.", messages.SUCCESS)
