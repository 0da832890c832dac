"""The review pages (server-rendered, in the admin's look): the queue and the decision
package. Views translate HTTP into selector and service calls; the rules live there."""

from functools import wraps
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from hitl_site.errors import ApplicationError

from . import decision_package, selectors, services
from . import permissions as perms
from .forms import BUTTON_LABELS, OUTCOME_FIELDS, DecisionForm, QueueFilterForm, decision_arguments
from .models import ReviewTask

PAGE_SIZE = 50


def reviewer_required(view):
    """Logged in (else the admin login page), active, human: machine accounts get 403.
    Inactive users are logged out by Django's auth backend and land on the login page."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not perms.user_is_human_staff(request.user) or not request.user.is_staff:
            raise PermissionDenied("Review pages are for back-office staff.")
        return view(request, *args, **kwargs)

    return wrapped


def _context(request, **extra) -> dict:
    return {**admin.site.each_context(request), "is_nav_sidebar_enabled": False, **extra}


@reviewer_required
def queue_view(request):
    queues = selectors.review_queues_for_user(user=request.user)
    form = QueueFilterForm(request.GET or None, queues=queues)
    filters = form.cleaned_data if form.is_valid() else {}
    criteria = {
        "queue": filters.get("queue", ""),
        "status": filters.get("status", ""),
        "priority": filters.get("priority", ""),
        "reason": filters.get("reason", ""),
        "search": filters.get("q", ""),
    }
    paginator = Paginator(selectors.review_queue_for_user(user=request.user, **criteria), PAGE_SIZE)
    # counted on the per-queue index rather than on the page query's, and capped
    count = selectors.review_queue_count(user=request.user, **criteria)
    paginator.count = min(count, selectors.COUNT_CAP)
    page = paginator.get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "reviews/queue.html",
        _context(
            request,
            title="My review queue",
            form=form,
            page=page,
            query=query,
            queues=queues,
            more=count > selectors.COUNT_CAP,
            task_base=reverse("reviews:task", args=[0])[:-2],  # one reverse, not one per row
            stats=selectors.review_queue_stats(user=request.user),
            # the banner: the absence in force, else the next one planned
            absence=next(iter(selectors.reviewer_absences_ahead(request.user)), None),
            now=timezone.now(),
        ),
    )


def _task_or_404(request, pk: int) -> ReviewTask:
    task = selectors.review_task_for_user(user=request.user, pk=pk)
    if task is None:  # not there, or not one of the user's queues: never say which
        raise Http404("No such review task.")
    return task


def _assignable_users(task: ReviewTask) -> list:
    """Active human users who work the task's queue (offered for reassignment)."""
    return list(perms.queue_workers(task.queue))


def _render_package(
    request,
    task: ReviewTask,
    *,
    form: DecisionForm | None = None,
    revealed: bool = False,
    status: int = 200,
):
    package = decision_package.decision_package(task)
    user = request.user
    request_obj, customer = package.request, package.request.customer
    proposal = package.proposal
    if form is None:
        form = DecisionForm(initial=_form_initial(task, proposal), currency=request_obj.currency)
    can_reassign = perms.user_can_reassign(user)
    pii = {"email": customer.email, "phone": customer.phone, "address": customer.address}
    if not revealed:
        pii = {
            "email": decision_package.mask_email(customer.email),
            "phone": decision_package.mask_phone(customer.phone),
            "address": decision_package.mask_address(customer.address),
        }
    return render(
        request,
        "reviews/task.html",
        _context(
            request,
            title=f"Review {request_obj.public_id}",
            task=task,
            package=package,
            req=request_obj,
            customer=customer,
            order=request_obj.order,
            proposal=proposal,
            form=form,
            pii=pii,
            revealed=revealed,
            can_view_pii=perms.user_can_view_pii(user),
            can_reassign=can_reassign,
            assignable=_assignable_users(task) if can_reassign and task.is_active else [],
            claimed_by_me=task.assignee_id == user.pk and task.status == "claimed",
            claimed_by_other=task.claimed_by_other(user),
            final_decision=next((d for d in package.decisions if d.is_final), None),
            four_eyes_amount=services.four_eyes_amount(),
            back=reverse("reviews:queue"),
            thread=package.thread,
            buttons=BUTTON_LABELS,
            open_sections=_open_sections(form, proposal),
            precedents=decision_package.precedent_rows(package, user),
        ),
        status=status,
    )


def _form_initial(task: ReviewTask, proposal) -> dict:
    """What the decision form shows before any edit: the draft's figures (without a valid
    draft, the amount the customer asked for). A submitted value that differs is an edit."""
    return {
        "version": task.version,
        "edit_action": proposal.action if proposal else "approve_refund",
        "edit_amount": proposal.amount if proposal else task.request.requested_amount,
    }


def _open_sections(form: DecisionForm, proposal) -> set[str]:
    """Which parts of the decision form are unfolded: after a refused submit, the one whose
    button was pressed and every one with an edit or an error; else "approve as proposed"
    (or "approve with edits" when there is no valid draft)."""
    if not form.is_bound:
        return {"approve" if proposal else "approve_with_edits"}
    pressed = form.data.get("outcome", "")
    touched = {
        outcome
        for outcome, names in OUTCOME_FIELDS.items()
        if any(n in form.changed_data or n in form.errors for n in names)
    }
    return {pressed, *touched} & set(OUTCOME_FIELDS)


@reviewer_required
def task_view(request, pk: int):
    return _render_package(request, _task_or_404(request, pk))


def _error_status(exc: ApplicationError) -> int:
    return exc.status_code if exc.status_code in (400, 403, 409) else 409


@require_POST
@reviewer_required
def task_decide(request, pk: int):
    task = _task_or_404(request, pk)
    proposal = decision_package.proposed_decision(task.request)
    form = DecisionForm(
        request.POST, initial=_form_initial(task, proposal), currency=task.request.currency
    )
    if not form.is_valid():
        # Nothing is saved: not a missing field, and not edits the pressed button would drop.
        messages.error(
            request,
            "Nothing was saved: some of your edits belong to another decision."
            if form.other_edits and form.has_error("__all__", "other_edits")
            else "Nothing was saved: please correct the decision form.",
        )
        return _render_package(request, task, form=form, status=400)
    try:
        decision = services.review_decide(
            task=task, user=request.user, **decision_arguments(form.cleaned_data)
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        task.refresh_from_db()
        return _render_package(request, task, form=form, status=_error_status(exc))
    if decision.pending:
        messages.success(
            request,
            "First approval recorded: above "
            f"{services.four_eyes_amount()} a second reviewer must approve it.",
        )
    else:
        messages.success(
            request, f"{decision.get_outcome_display()}: done for request {task.request.public_id}."
        )
    return redirect("reviews:queue")


def _post_action(request, pk: int, call, success: str):
    task = _task_or_404(request, pk)
    try:
        call(task)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect("reviews:task", pk=task.pk)


@require_POST
@reviewer_required
def task_claim(request, pk: int):
    return _post_action(
        request,
        pk,
        lambda t: services.review_task_claim(task=t, user=request.user),
        "Claimed: the task is yours for now.",
    )


@require_POST
@reviewer_required
def task_release(request, pk: int):
    return _post_action(
        request,
        pk,
        lambda t: services.review_task_release(task=t, user=request.user),
        "Released back to the queue.",
    )


@require_POST
@reviewer_required
def task_reassign(request, pk: int):
    def call(task):
        to_user = get_user_model().objects.filter(username=request.POST.get("to_user", "")).first()
        if to_user is None:
            raise ApplicationError("Choose a reviewer.", code="invalid_assignee")
        services.review_task_reassign(task=task, to_user=to_user, by=request.user)

    return _post_action(request, pk, call, "Reassigned.")


@require_POST
@reviewer_required
def task_reveal(request, pk: int):
    """Shows the unmasked personal data once, after auditing the reveal."""
    task = _task_or_404(request, pk)
    try:
        services.review_pii_reveal(task=task, user=request.user)
    except ApplicationError as exc:
        raise PermissionDenied(exc.message) from exc
    return _render_package(request, task, revealed=True)
