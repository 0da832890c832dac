"""The policy admins' "Suggested changes" page in the admin, under the gate policy
versions (``/admin/refunds/gatepolicyversion/suggestions/``, mounted by the project's admin
site, linked from the versions' change list).

Who may use it: holders of ``refunds.add_gatepolicyversion`` (policy admins, superusers);
anyone else gets 403. The page only reads; its "Create draft" button POSTs (CSRF-checked)
to a view that creates an inactive draft and sends the admin to that draft's backtest.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from audit.services import Actor
from hitl_site.errors import ApplicationError
from refunds.models import GatePolicyVersion

from .candidates import NEVER_RELAXED
from .history import gate_tuning_suggestions
from .services import gate_policy_suggestion_draft_create

PERMISSION = "refunds.add_gatepolicyversion"
SUGGESTIONS_URL = "admin:refunds_gatepolicyversion_suggestions"
DRAFT_URL = "admin:refunds_gatepolicyversion_suggestion_draft"


def _require(request) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied("Suggested gate changes are for policy admins.")


def gate_tuning_admin_urls(site) -> list:
    """The admin URLs of gate tuning, for ``site.get_urls`` (ahead of the model URLs)."""

    @require_GET
    def suggestions_view(request):
        _require(request)
        try:
            page = gate_tuning_suggestions()
        except ApplicationError as exc:
            messages.error(request, exc.message)
            page = None
        return TemplateResponse(
            request,
            "admin/analytics/gate_suggestions.html",
            {
                **site.each_context(request),
                "opts": GatePolicyVersion._meta,
                "title": "Suggested gate policy changes",
                "page": page,
                "never_relaxed": NEVER_RELAXED,
            },
        )

    @require_POST
    def draft_view(request):
        _require(request)
        back = HttpResponseRedirect(reverse(SUGGESTIONS_URL))
        seen = request.POST.get("seen_version", "")
        key = request.POST.get("key", "")
        if not seen.isdigit() or not key:
            messages.error(request, "The form was incomplete; nothing was created.")
            return back
        try:
            draft = gate_policy_suggestion_draft_create(
                key=key,
                seen_version=int(seen),
                actor=Actor.user(request.user),
                created_by=request.user,
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return back
        messages.success(
            request,
            f"Draft version {draft.version} created (inactive) from the suggestion. Its "
            "backtest is below; activate it from its page if the results look right.",
        )
        since = request.POST.get("since", "")
        query = f"?since={since}" if since else ""
        return HttpResponseRedirect(
            reverse("admin:refunds_gatepolicyversion_backtest", args=[draft.pk]) + query
        )

    return [
        path(
            "refunds/gatepolicyversion/suggestions/",
            site.admin_view(suggestions_view),
            name="refunds_gatepolicyversion_suggestions",
        ),
        path(
            "refunds/gatepolicyversion/suggestions/draft/",
            site.admin_view(draft_view),
            name="refunds_gatepolicyversion_suggestion_draft",
        ),
    ]
