"""The notification pages: a user's own preferences, and the confirm page a one-time link
opens. Both are for back-office staff (``reviews.views.reviewer_required``: logged in,
active, human; machine accounts get 403)."""

from django.contrib import admin, messages
from django.http import Http404
from django.shortcuts import redirect, render

from reviews.decision_package import proposed_decision
from reviews.views import reviewer_required

from .collect import task_summary
from .forms import PreferenceForm
from .links import LinkRefused, confirm_link_use
from .preferences import notification_preference_save, preference_for


def _context(request, **extra) -> dict:
    return {**admin.site.each_context(request), "is_nav_sidebar_enabled": False, **extra}


@reviewer_required
def preferences_view(request):
    """Only ever the logged-in user's own row: there is no user in the URL or the form."""
    preference = preference_for(request.user)
    form = PreferenceForm(request.POST or None, instance=preference)
    if request.method == "POST" and form.is_valid():
        notification_preference_save(preference=form.save(commit=False), by=request.user)
        messages.success(request, "Your notification preferences are saved.")
        return redirect("notifications:preferences")
    return render(
        request,
        "notifications/preferences.html",
        _context(request, title="My notifications", form=form),
        status=400 if form.is_bound else 200,
    )


@reviewer_required
def confirm_view(request, token: str):
    """GET: opens a one-time link (once; refusals are audited). The page shows the case and
    a form that posts to the review decision endpoint; the link itself decides nothing."""
    try:
        link = confirm_link_use(token=token, user=request.user)
    except LinkRefused as refused:
        if refused.status == 404:
            raise Http404("No such link.") from refused
        return render(
            request,
            "notifications/refused.html",
            _context(request, title="This link no longer works", refused=refused),
            status=refused.status,
        )
    task = link.task
    proposal = proposed_decision(task.request)
    return render(
        request,
        "notifications/confirm.html",
        _context(
            request,
            title="Confirm from a notification",
            task=task,
            summary=task_summary(task),
            proposal=proposal,
            kind=link.notification.get_kind_display(),
        ),
    )
