"""The admin site and admin building blocks shared by the apps."""

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import model_format_dict
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpResponseRedirect
from django.urls import reverse

from audit.services import Actor, record_event


class HitlAdminSite(admin.AdminSite):
    """``admin.site`` (installed by ``hitl_site.apps.HitlAdminConfig``): the site's name,
    a login that sends each role to its landing page, and the header's links to the review
    pages and the dashboard (the review pages render the same header through
    ``each_context``)."""

    site_header = "Refund desk"
    site_title = "Refund desk"
    index_title = "Back-office administration"
    site_url = None  # no "View site": the header links the areas instead

    def each_context(self, request):
        from .navigation import site_areas

        return {**super().each_context(request), "site_areas": site_areas(request)}

    def login(self, request, extra_context=None):
        # Django's admin login sends users without a ``next`` to the admin index; send them
        # to ``/``, which redirects each role to its landing page (hitl_site.navigation).
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            extra_context = {REDIRECT_FIELD_NAME: reverse("home"), **(extra_context or {})}
        return super().login(request, extra_context)


class ReadOnlyAdminMixin:
    """For records of what happened (audit events, proposals, evaluations, executions,
    decisions): viewable by whoever may view them, never added, edited or deleted by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedActionRefusalMixin:
    """For admins whose actions matter even as attempts (minting or withdrawing a
    credential): a POST naming one of this admin's actions that the user is not offered
    (its ``permissions=`` are not theirs) is refused before the change list sees it, with
    an error message, and audited as ``admin.action_refused``. Django itself would only
    ignore it ("No action selected."), leaving no trace."""

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST":
            requested, offered = request.POST.getlist("action"), self.get_actions(request)
            for _, name, description in self._get_base_actions():
                if name in requested and name not in offered:
                    return self._refuse_action(request, name, description)
        return super().changelist_view(request, extra_context)

    def _refuse_action(self, request, name: str, description: str):
        selected = [pk[:64] for pk in request.POST.getlist(ACTION_CHECKBOX_NAME)[:100]]
        label = self.model._meta.label_lower
        record_event(
            event_type="admin.action_refused",
            actor=Actor.user(request.user),
            subject=(label, selected[0] if len(selected) == 1 else ""),
            payload={
                "model": label,
                "action": name,
                "selected": selected,
                "select_across": request.POST.get("select_across") == "1",
            },
        )
        description %= model_format_dict(self.opts)
        self.message_user(
            request,
            f"You may not run “{description}”: it needs a permission you do not hold. "
            "The attempt has been recorded.",
            messages.ERROR,
        )
        return HttpResponseRedirect(request.get_full_path())
