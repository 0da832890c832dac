"""The reviewer's own absence page (``/review/absence/``): their current and planned
absences, a form to set one with a stand-in, and cancelling one. Who may: whoever uses the
review pages (``reviews.permissions.user_uses_review_pages``: reviewers, senior
reviewers); others get 403, anonymous users the login page. Senior reviewers set a
colleague's absence in the admin (``ReviewerAbsenceAdmin``)."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from hitl_site.errors import ApplicationError

from . import permissions as perms
from . import selectors, services
from .forms import AbsenceForm
from .views import _context, _error_status, reviewer_required


def absence_page_required(view):
    @reviewer_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not perms.user_uses_review_pages(request.user):
            raise PermissionDenied("Absences are for reviewers.")
        return view(request, *args, **kwargs)

    return wrapped


@absence_page_required
def absence_view(request):
    user = request.user
    form = AbsenceForm(request.POST or None, delegates=perms.queue_colleagues(user))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                absence = services.reviewer_absence_set(user=user, by=user, **form.cleaned_data)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = _error_status(exc)
            else:
                until = timezone.localtime(absence.ends_at)
                messages.success(
                    request, f"Absence set: you are away until {until:%Y-%m-%d %H:%M}."
                )
                return redirect("reviews:absence")
    return render(
        request,
        "reviews/absence.html",
        _context(
            request,
            title="My absences",
            form=form,
            absences=selectors.reviewer_absences_ahead(user),
            now=timezone.now(),
        ),
        status=status,
    )


@require_POST
@absence_page_required
def absence_cancel(request, pk: int):
    absence = selectors.reviewer_absence_of(request.user, pk=pk)
    if absence is None:  # not there, or someone else's: never say which
        raise Http404("No such absence.")
    try:
        services.reviewer_absence_cancel(absence=absence, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Absence cancelled: you can claim and decide again.")
    return redirect("reviews:queue" if request.POST.get("back") == "queue" else "reviews:absence")
