"""Where each role lands after logging in, and the links between the areas of the
back-office — the admin, the review pages, the operations dashboard, one's own notification
preferences and (reviewers) absences — each shown only to the users who may use it (the rules are
``reviews.permissions``'; nothing is decided here).

Landing (``landing_url``), first rule that applies:

- superusers: the admin;
- reviewers and senior reviewers (``reviews.permissions.user_uses_review_pages``): the
  review queue;
- whoever may read the audit log (auditors): the audit log;
- everyone else (policy admins): the admin, where their policies and queues are.
"""

from dataclasses import dataclass

from django.urls import reverse

from reviews import permissions as perms


def landing_url(user) -> str:
    if user.is_superuser:
        return reverse("admin:index")
    if perms.user_uses_review_pages(user):
        return reverse("reviews:queue")
    if user.has_perm("audit.view_auditevent"):
        return reverse("admin:audit_auditevent_changelist")
    return reverse("admin:index")


@dataclass(frozen=True)
class Area:
    key: str
    label: str
    url: str
    current: bool


def _current_area(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    if match.view_name == "analytics:dashboard":
        return "dashboard"
    if match.view_name == "reviews:absence":
        return "absence"
    return {"reviews": "review", "admin": "admin", "notifications": "notifications"}.get(
        match.namespace, ""
    )


def site_areas(request) -> list[Area]:
    """The areas ``request.user`` may use, for the header of every back-office page. At
    most three queries (machine account, permissions, queues), each cached on the user for
    the request."""
    user = request.user
    if not perms.user_is_human_staff(user) or not user.is_staff:
        return []
    current = _current_area(request)
    areas = (
        [("review", "Review queue", "reviews:queue")] if perms.user_uses_review_pages(user) else []
    )
    if perms.user_can_view_dashboard(user):
        areas.append(("dashboard", "Dashboard", "analytics:dashboard"))
    areas.append(("notifications", "My notifications", "notifications:preferences"))
    if perms.user_uses_review_pages(user):
        areas.append(("absence", "My absence", "reviews:absence"))
    areas.append(("admin", "Admin", "admin:index"))
    return [Area(key, text, reverse(name), key == current) for key, text, name in areas]
