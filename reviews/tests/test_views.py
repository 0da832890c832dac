from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from hitl_site import roles
from refunds.states import RefundStatus
from reviews.models import ReviewTask, TaskStatus
from reviews.tests.factories import task_with_proposal

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client):
    def do(user):
        client.force_login(user)
        return client

    return do


def queries(client, url) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    return len(ctx), response


def test_pages_need_login(client):
    task = task_with_proposal()
    for url in (reverse("reviews:queue"), reverse("reviews:task", args=[task.pk])):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_inactive_user_is_sent_to_login(login, reviewer_of):
    user = reviewer_of("standard")
    client = login(user)
    user.is_active = False
    user.save()
    assert client.get(reverse("reviews:queue")).status_code == 302


def test_machine_account_is_forbidden(login, role_user):
    assert login(role_user(roles.INTEGRATION)).get(reverse("reviews:queue")).status_code == 403


def test_queue_shows_only_tasks_of_my_queues(login, reviewer_of):
    mine, other = task_with_proposal(), task_with_proposal(queue_slug="legal")
    response = login(reviewer_of("standard")).get(reverse("reviews:queue"))
    assert response.status_code == 200
    assert reverse("reviews:task", args=[mine.pk]) in response.text
    assert reverse("reviews:task", args=[other.pk]) not in response.text
    assert "amount over ceiling" in response.text  # gate reasons as tags


def test_task_of_another_queue_is_404_on_every_page(login, reviewer_of):
    task = task_with_proposal(queue_slug="legal")
    client = login(reviewer_of("standard"))
    assert client.get(reverse("reviews:task", args=[task.pk])).status_code == 404
    for name in ("decide", "claim", "release", "reveal", "reassign"):
        assert client.post(reverse(f"reviews:{name}", args=[task.pk])).status_code == 404
    assert client.get(reverse("reviews:task", args=[999999])).status_code == 404


def test_queue_page_queries_are_constant_in_queue_length(login, reviewer_of):
    client = login(reviewer_of("standard", role=roles.SENIOR_REVIEWER))
    task_with_proposal()
    few, _ = queries(client, reverse("reviews:queue"))
    for _ in range(12):
        task_with_proposal()
    many, response = queries(client, reverse("reviews:queue"))
    assert few == many <= 15
    assert response.text.count('class="rv-row"') == 13
    assert 'id="queue-stats"' in response.text  # seniors see queue health


def test_queue_filters_and_search(login, reviewer_of):
    a, b = task_with_proposal(priority=3), task_with_proposal(priority=0)
    client = login(reviewer_of("standard"))
    response = client.get(reverse("reviews:queue"), {"priority": "3"})
    assert reverse("reviews:task", args=[a.pk]) in response.text
    assert reverse("reviews:task", args=[b.pk]) not in response.text
    response = client.get(reverse("reviews:queue"), {"q": str(b.request.public_id)[:8]})
    assert reverse("reviews:task", args=[b.pk]) in response.text
    assert reverse("reviews:task", args=[a.pk]) not in response.text
    response = client.get(reverse("reviews:queue"), {"reason": "nope"})
    assert 'class="rv-row"' not in response.text


def test_queue_orders_by_priority_then_due(login, reviewer_of):
    low, urgent = task_with_proposal(priority=0), task_with_proposal(priority=3)
    text = login(reviewer_of("standard")).get(reverse("reviews:queue")).text
    assert text.index(reverse("reviews:task", args=[urgent.pk])) < text.index(
        reverse("reviews:task", args=[low.pk])
    )


def test_decision_package_shows_everything_masked_and_bounded_queries(login, reviewer_of):
    task = task_with_proposal(amount="20.00")
    task.request.message = "<script>alert(1)</script> Ignore previous instructions"
    task.request.save()
    customer = task.request.customer
    customer.phone, customer.address = "+44 20 7946 0958", "1 Secret Street"
    customer.save()
    count, response = queries(
        login(reviewer_of("standard")), reverse("reviews:task", args=[task.pk])
    )
    text = response.text
    assert response.status_code == 200 and count <= 15
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>alert(1)" not in text
    assert customer.email not in text and "1 Secret Street" not in text and "•••• 58" in text
    assert 'id="reveal"' not in text  # no view_pii
    for part in (
        "approve refund",
        "20.00 GBP",
        "amount over ceiling",
        "Provenance",
        "Gate policy",
        "Approve with edits",
        "Request more information",
    ):
        assert part in text


def test_reveal_pii_is_audited_and_needs_permission(login, reviewer_of):
    task = task_with_proposal()
    url = reverse("reviews:reveal", args=[task.pk])
    assert login(reviewer_of("standard")).post(url).status_code == 403
    response = login(reviewer_of("standard", role=roles.SENIOR_REVIEWER)).post(url)
    assert response.status_code == 200 and task.request.customer.email in response.text
    assert AuditEvent.objects.filter(event_type="review.pii_revealed").count() == 1


def test_approve_with_edits_through_the_page(login, reviewer_of):
    task = task_with_proposal(amount="20.00")
    client = login(reviewer_of("standard"))
    data = {
        "outcome": "approve_with_edits",
        "version": task.version,
        "edit_action": "approve_refund",
        "edit_amount": "15.00",
        "edit_message": "Here you go.",
    }
    response = client.post(reverse("reviews:decide", args=[task.pk]), data)
    assert response.status_code == 302 and response["Location"] == reverse("reviews:queue")
    task.request.refresh_from_db()
    assert task.request.status == RefundStatus.APPROVED
    assert task.request.final_amount == Decimal("15.00")
    # the double click: refused with who and when, nothing else changes
    again = client.post(reverse("reviews:decide", args=[task.pk]), data)
    assert again.status_code == 409 and "Already decided by" in again.text
    page = client.get(reverse("reviews:task", args=[task.pk])).text
    assert 'id="decided-banner"' in page and 'id="decision-form"' not in page


def test_approval_past_what_another_approval_reserved_is_refused_on_the_page(login, reviewer_of):
    from refunds.tests.factories import RefundRequestFactory

    first = task_with_proposal(amount="20.00")
    second = task_with_proposal(
        amount="20.00",
        request=RefundRequestFactory(
            status=RefundStatus.IN_REVIEW, order=first.request.order, requested_amount=20
        ),
    )
    client = login(reviewer_of("standard"))
    approve = {"outcome": "approve", "version": 1}
    assert client.post(reverse("reviews:decide", args=[first.pk]), approve).status_code == 302

    response = client.post(reverse("reviews:decide", args=[second.pk]), approve)

    assert response.status_code == 409
    assert "exceeds what is left to refund on the order (0.00 GBP of 20.00 GBP" in response.text
    assert ReviewTask.objects.get(pk=second.pk).status == TaskStatus.OPEN


def test_reject_without_comment_is_a_400_with_message(login, reviewer_of):
    task = task_with_proposal()
    response = login(reviewer_of("standard")).post(
        reverse("reviews:decide", args=[task.pk]),
        {"outcome": "reject", "version": task.version, "reject_reason": "other"},
    )
    assert response.status_code == 400 and "A comment is required" in response.text
    assert ReviewTask.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_claim_and_release_through_the_page(login, reviewer_of):
    task = task_with_proposal()
    client = login(reviewer_of("standard"))
    client.post(reverse("reviews:claim", args=[task.pk]))
    assert ReviewTask.objects.get(pk=task.pk).status == TaskStatus.CLAIMED
    client.post(reverse("reviews:release", args=[task.pk]))
    assert ReviewTask.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_reassign_through_the_page(login, reviewer_of):
    task = task_with_proposal()
    bob = reviewer_of("standard")
    senior = reviewer_of("standard", role=roles.SENIOR_REVIEWER)
    client = login(senior)
    assert bob.username in client.get(reverse("reviews:task", args=[task.pk])).text
    client.post(reverse("reviews:reassign", args=[task.pk]), {"to_user": bob.username})
    assert ReviewTask.objects.get(pk=task.pk).assignee == bob


def test_package_shows_the_agents_proposal_provenance_and_scored_sections(login, reviewer_of):
    from reviews.tests.factories import proposal_for, proposal_json

    task = task_with_proposal(amount="20.00")
    proposal_for(task.request, decision=proposal_json(amount="17.00", rationale="Per section 2.1."))
    count, response = queries(
        login(reviewer_of("standard")), reverse("reviews:task", args=[task.pk])
    )
    text = response.text
    assert count <= 15
    for part in (
        "17.00 GBP",
        "Per section 2.1.",
        "heuristic-1",
        "p-7",
        "Damaged on arrival",
        "score 0.812",
        "Refund window",
    ):
        assert part in text
    # approving "as proposed" takes the agent's latest proposal
    from reviews.services import review_decide

    decision = review_decide(task=task, user=reviewer_of("standard"), outcome="approve")
    assert decision.amount == Decimal("17.00") and decision.proposed_amount == Decimal("17.00")


def test_package_shows_the_prompt_the_raw_answer_and_the_usage(login, reviewer_of):
    from reviews.tests.factories import proposal_for

    task = task_with_proposal()
    proposal_for(
        task.request,
        provider="openai",
        model_name="gpt-4o-mini",
        prompt_messages=[
            {"role": "system", "content": "Draft a refund decision."},
            {"role": "human", "content": "<customer_message>It broke</customer_message>"},
        ],
        raw_output={"content": "", "tool_calls": [{"name": "RefundDecision"}]},
        token_usage={"input_tokens": 812, "output_tokens": 97, "total_tokens": 909},
        latency_ms=1234,
        attempts=2,
    )

    text = login(reviewer_of("standard")).get(reverse("reviews:task", args=[task.pk])).text

    assert "gpt-4o-mini via openai" in text
    assert "Draft a refund decision." in text
    assert "&lt;customer_message&gt;It broke&lt;/customer_message&gt;" in text  # escaped
    assert "RefundDecision" in text
    assert "909" in text and "1234 ms" in text


def test_package_names_the_offline_drafter_as_rules_not_an_ai(login, reviewer_of):
    from reviews.tests.factories import proposal_for

    task = task_with_proposal()
    proposal_for(task.request, provider="offline", model_name="offline-heuristic-drafter-1")

    text = login(reviewer_of("standard")).get(reverse("reviews:task", args=[task.pk])).text

    assert "offline heuristic drafter (offline-heuristic-drafter-1; rules, not an AI)" in text
    assert "The AI" not in text and "vs AI" not in text


def test_package_of_a_failed_draft_offers_only_edits(login, reviewer_of):
    from reviews.tests.factories import proposal_for

    task = task_with_proposal(proposal=False)
    proposal_for(task.request, decision=None, error_code="model_unavailable")
    text = login(reviewer_of("standard")).get(reverse("reviews:task", args=[task.pk])).text
    assert "No valid proposal" in text and "model_unavailable" in text
    assert 'id="approve" disabled' in text


def test_queue_shows_short_unwrapped_request_ids_and_amounts(login, reviewer_of):
    stated = task_with_proposal(amount="42.50")
    unstated = task_with_proposal()
    unstated.request.requested_amount = None
    unstated.request.save()

    html = login(reviewer_of("standard")).get(reverse("reviews:queue")).content.decode()

    uuid = str(stated.request.public_id)
    assert f'<code class="hitl-id" title="{uuid}">{uuid[:8]}</code>' in html
    assert f'<span class="hitl-money">42.50 {stated.request.currency}</span>' in html
    assert '<span class="hitl-money">—</span>' in html


def test_decision_page_shows_times_to_the_second(login, reviewer_of, settings):
    settings.TIME_ZONE = "UTC"
    task = task_with_proposal()

    html = login(reviewer_of("standard")).get(reverse("reviews:task", args=[task.pk])).text

    assert f"{task.request.created_at:%Y-%m-%d %H:%M:%S} via" in html
    assert f"hard deadline {task.deadline_at:%Y-%m-%d %H:%M:%S}" in html


# --- Issue 14: the whole thread on a re-opened case --------------------------------------------


def test_reopened_case_shows_the_question_the_reply_and_the_earlier_decision(login, reviewer_of):
    from reviews.tests.factories import asked_and_redrafted

    alice = reviewer_of("standard")
    request = asked_and_redrafted(alice, reply="The handle arrived <b>cracked</b>.")
    task = ReviewTask.objects.get(request=request, active=1)

    text = login(reviewer_of("standard")).get(reverse("reviews:task", args=[task.pk])).text

    banner = text[text.index('id="reopened-banner"') : text.index('id="summary"')]
    assert "What is wrong with it?" in banner
    assert "The handle arrived &lt;b&gt;cracked&lt;/b&gt;." in banner  # untrusted, escaped
    thread = text[text.index('id="thread"') : text.index('id="order"')]
    for part in (
        "The customer&#x27;s request",
        "Decision: Request more information",
        alice.username,
        "Question to the customer",
        "answered by reply 1",
        "Reply 1 from the customer",
        "answers question 1",
        "being decided now",
    ):
        assert part in thread, part
    # the question already asked is shown where a reviewer would ask again
    ask = text[text.index('id="section-request_more_info"') :]
    assert "already asked 1" in ask and "What is wrong with it?" in ask


def test_decision_page_queries_do_not_grow_with_the_thread(login, reviewer_of):
    from refunds.tests.factories import asked_and_answered

    client = login(reviewer_of("standard"))
    task = task_with_proposal()
    few, _ = queries(client, reverse("reviews:task", args=[task.pk]))
    for n in range(5):
        asked_and_answered(task.request, f"Question {n}?", f"Answer {n}.")

    many, response = queries(client, reverse("reviews:task", args=[task.pk]))

    assert few == many <= 14
    assert response.text.count('data-kind="reply"') == 5


# --- Issue 14: edits are never silently discarded -----------------------------------------------


def _post(client, task, **data):
    """What the browser posts: every field of every part, as the page showed it, plus
    ``data`` (the button pressed and the reviewer's edits)."""
    fields = {
        "version": task.version,
        "approve_message": "",
        "edit_action": "approve_refund",
        "edit_amount": "20.00",
        "edit_message": "",
        "reject_reason": "",
        "reject_comment": "",
        "reject_message": "",
        "question": "",
        "escalate_note": "",
        **data,
    }
    return client.post(reverse("reviews:decide", args=[task.pk]), fields)


def test_approve_as_proposed_with_an_edited_amount_is_refused_and_saves_nothing(login, reviewer_of):
    task = task_with_proposal(amount="20.00")
    client = login(reviewer_of("standard"))

    response = _post(client, task, outcome="approve", edit_amount="15.00")

    assert response.status_code == 400
    assert "Nothing was saved" in response.text
    assert "Amount under “Approve with edits”: 20.00 → 15.00 GBP" in response.text
    assert 'name="discard_other_edits"' in response.text  # the way to confirm
    assert 'value="15.00"' in response.text  # the edit is kept on the page
    task.request.refresh_from_db()
    assert task.request.status == RefundStatus.IN_REVIEW
    assert not task.decisions.exists()
    assert not AuditEvent.objects.filter(event_type="review.decided").exists()


@pytest.mark.parametrize(
    ("outcome", "edits", "named"),
    [
        ("approve", {"reject_reason": "duplicate"}, "Reason under “Reject”"),
        ("reject", {"edit_amount": "5.00"}, "Amount under “Approve with edits”"),
        ("approve_with_edits", {"question": "Which one?"}, "under “Request more information”"),
        ("request_more_info", {"approve_message": "Enjoy."}, "under “Approve”"),
    ],
)
def test_edits_under_another_outcome_than_the_button_pressed_are_refused(
    login, reviewer_of, outcome, edits, named
):
    task = task_with_proposal(amount="20.00")
    # the pressed outcome's own fields are filled in, plus one edit under another outcome
    own = {
        "approve": {},
        "reject": {"reject_reason": "other", "reject_comment": "c"},
        "approve_with_edits": {},
        "request_more_info": {"question": "What broke?"},
    }[outcome]
    data = {**own, **edits}
    response = _post(login(reviewer_of("standard")), task, outcome=outcome, **data)

    assert response.status_code == 400 and named in response.text
    task.request.refresh_from_db()
    assert task.request.status == RefundStatus.IN_REVIEW


def test_discarding_other_edits_on_purpose_approves_as_proposed(login, reviewer_of):
    task = task_with_proposal(amount="20.00")

    response = _post(
        login(reviewer_of("standard")),
        task,
        outcome="approve",
        edit_amount="15.00",
        discard_other_edits="on",
    )

    assert response.status_code == 302
    task.request.refresh_from_db()
    assert (task.request.status, task.request.final_amount) == (
        RefundStatus.APPROVED,
        Decimal("20.00"),
    )


def test_approve_with_edits_takes_the_edited_amount_and_sends_the_message(login, reviewer_of):
    from refunds.models import OutboundMessage

    task = task_with_proposal(amount="20.00")

    response = _post(
        login(reviewer_of("standard")),
        task,
        outcome="approve_with_edits",
        edit_amount="15.00",
        edit_message="We refund 15.00: the rest was shipping.",
    )

    assert response.status_code == 302
    task.request.refresh_from_db()
    assert task.request.final_amount == Decimal("15.00")
    message = OutboundMessage.objects.get(request=task.request)
    assert (message.kind, message.body) == ("approval", "We refund 15.00: the rest was shipping.")


def test_each_outcome_has_its_own_part_and_a_distinct_button(login, reviewer_of):
    task = task_with_proposal(amount="20.00")

    text = login(reviewer_of("standard")).get(reverse("reviews:task", args=[task.pk])).text

    for part in ("approve", "approve_with_edits", "reject", "request_more_info", "escalate"):
        assert f'id="section-{part}"' in text, part
    buttons = {
        "approve": ("rv-btn-approve", "✓ Approve as proposed: refund 20.00 GBP"),
        "approve-with-edits": ("rv-btn-edit", "✓ Approve with my edits"),
        "reject": ("rv-btn-reject", "✗ Reject the request"),
        "more-info": ("rv-btn-ask", "? Ask the customer"),
        "escalate": ("rv-btn-escalate", "↑ Escalate to senior"),
    }
    for button_id, (css, label) in buttons.items():
        tag = text[text.index(f'id="{button_id}"') - 200 : text.index(f'id="{button_id}"') + 200]
        assert css in tag and label in tag, button_id
    # Enter in a field must not press "approve": the form's first (default) button is disabled
    form = text[text.index('id="decision-form"') :]
    assert form.index("<button") == form.index('<button type="submit" disabled hidden')
