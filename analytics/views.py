"""The operations dashboard (``/review/dashboard/``): is the human in the loop helping?

Senior reviewers, policy admins and auditors (``reviews.view_ops_dashboard``) see, over a
period and per queue, channel, provider and gate policy version, the figures of
``analytics.dashboard`` drawn as inline SVG charts (server-rendered: no script, no CDN) and
the drift alert of ``analytics.drift``. The page costs a fixed number of queries
and writes nothing: a GET only reads. The alert it shows is recorded (audit event, warning)
by the hourly ``drift check`` schedule (``analytics.drift.drift_check``).
"""

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone

from refunds.models import GatePolicyVersion
from reviews import permissions as perms
from reviews.models import Queue
from reviews.views import _context, reviewer_required

from .dashboard import dashboard_data
from .drift import drift_alerts, drift_window_start
from .forms import DashboardFilterForm


@reviewer_required
def dashboard_view(request):
    if not perms.user_can_view_dashboard(request.user):
        raise PermissionDenied("The dashboard is for senior reviewers, policy admins and auditors.")
    now = timezone.now()
    form = DashboardFilterForm(
        request.GET or None,
        queues=list(Queue.objects.order_by("slug")),
        policy_versions=list(
            GatePolicyVersion.objects.order_by("-version").values_list("version", flat=True)
        ),
    )
    f = form.filters(now=now)
    data = dashboard_data(f, now=now)
    # The drift alert is over all cases: reuse the page's daily counts when they are
    # unfiltered and cover the baseline window (the default 30 days do), else query.
    unfiltered = not (f.queue or f.channel or f.provider or f.policy_version is not None)
    daily = (
        {"routing": data["routing_days"], "overrides": data["override_days"]}
        if unfiltered and f.start <= drift_window_start(now)
        else {}
    )
    return render(
        request,
        "analytics/dashboard.html",
        _context(
            request,
            title="Operations dashboard",
            form=form,
            filters=f,
            now=now,
            alerts=drift_alerts(now=now, **daily),
            **data,
        ),
    )
