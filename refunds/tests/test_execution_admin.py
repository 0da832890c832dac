"""The executor's admin: read-only records, a senior reviewer's retry and close, the
webhook delivery log, and the case timeline."""

import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.urls import reverse

from audit.services import Actor, record_event
from refunds.execution.backends import ProviderRefused
from refunds.execution.executor import execution_run
from refunds.models import (
    Execution,
    LedgerRefund,
    RefundRequest,
    WebhookDelivery,
)
from refunds.states import RefundStatus
from refunds.tests.factories import IntegrationWebhookFactory, OrderFactory, final_decision
from refunds.webhooks import webhook_delivery_create

pytestmark = pytest.mark.django_db
S = RefundStatus
MODELS = [
    m
    for m in admin.site._registry
    if m._meta.app_label == "refunds"
    and m._meta.model_name
    in {
        "execution",
        "ledgerrefund",
        "replacementorder",
        "outboundmessage",
        "customerreply",
        "integrationwebhook",
        "webhookdelivery",
    }
]


def failed_request():
    request = final_decision(amount="5")
    from unittest import mock

    with mock.patch(
        "refunds.execution.backends.LedgerPaymentBackend.refund",
        side_effect=ProviderRefused("declined by the bank"),
    ):
        execution_run(request_id=request.pk)
    return RefundRequest.objects.get(pk=request.pk)


def changelist(model="execution"):
    return reverse(f"admin:refunds_{model}_changelist")


@pytest.mark.parametrize("model", MODELS, ids=[m._meta.label for m in MODELS])
def test_pages_render_for_the_superuser(admin_client, model):
    final_decision(amount="5")
    execution_run(request_id=RefundRequest.objects.get().pk)

    response = admin_client.get(changelist(model._meta.model_name), {"q": "x"})

    assert response.status_code == 200


def test_records_cannot_be_added_or_changed(admin_client):
    final_decision(amount="5")
    execution_run(request_id=RefundRequest.objects.get().pk)
    execution = Execution.objects.get()

    assert admin_client.get(reverse("admin:refunds_execution_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:refunds_execution_change", args=[execution.pk]), {"phase": "started"}
    )
    assert response.status_code == 403
    assert Execution.objects.get().phase == Execution.Phase.RECORDED


def test_senior_reviewer_retries_a_failed_execution(
    client, role_user, django_capture_on_commit_callbacks
):
    request = failed_request()
    execution = Execution.objects.get()
    assert "declined by the bank" in execution.last_error
    client.force_login(role_user("senior_reviewer"))

    page = client.get(changelist())
    assert "declined by the bank" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            changelist(), {"action": "retry_executions", "_selected_action": [execution.pk]}
        )

    assert response.status_code == 302
    assert RefundRequest.objects.get(pk=request.pk).status == S.EXECUTING
    assert execution_run(request_id=request.pk).status == S.EXECUTED
    assert LedgerRefund.objects.count() == 1


def test_retry_is_refused_with_a_message_once_the_remainder_went_to_another_approval(
    client, role_user
):
    request = failed_request()  # 5.00 on its order; failing released it
    final_decision(amount=request.order.amount, order=request.order)  # all of it, since
    client.force_login(role_user("senior_reviewer"))

    response = client.post(
        changelist(),
        {"action": "retry_executions", "_selected_action": [Execution.objects.get().pk]},
        follow=True,
    )

    page = response.content.decode()
    assert "Not retried: 5.00 GBP exceeds what is left to refund on the order (0.00 GBP" in page
    assert "Close the case instead." in page
    assert RefundRequest.objects.get(pk=request.pk).status == S.EXECUTION_FAILED


def test_senior_reviewer_closes_a_failed_case(client, role_user):
    request = failed_request()
    client.force_login(role_user("senior_reviewer"))

    client.post(
        changelist(), {"action": "close_cases", "_selected_action": [Execution.objects.get().pk]}
    )

    assert RefundRequest.objects.get(pk=request.pk).status == S.CLOSED


@pytest.mark.parametrize("role", ["reviewer", "auditor"])
def test_others_cannot_retry(client, role_user, role):
    request = failed_request()
    client.force_login(role_user(role))

    response = client.post(
        changelist(),
        {"action": "retry_executions", "_selected_action": [Execution.objects.get().pk]},
    )

    assert response.status_code in (200, 302, 403)
    assert RefundRequest.objects.get(pk=request.pk).status == S.EXECUTION_FAILED


def test_auditor_reads_executions_and_the_delivery_log(client, role_user):
    failed_request()
    client.force_login(role_user("auditor"))

    assert client.get(changelist()).status_code == 200
    assert client.get(changelist("webhookdelivery")).status_code == 200
    assert client.get(changelist("ledgerrefund")).status_code == 200


def test_failed_webhook_can_be_sent_again(client, role_user):
    hook = IntegrationWebhookFactory()
    delivery = webhook_delivery_create(integration=hook.integration, event="x", data={})
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.FAILED, attempts=8
    )
    client.force_login(role_user("senior_reviewer"))

    client.post(
        changelist("webhookdelivery"), {"action": "requeue", "_selected_action": [delivery.pk]}
    )

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.PENDING, 0)


def test_case_timeline_answers_the_questions_on_one_page(client, role_user):
    hook = IntegrationWebhookFactory()
    request = final_decision(amount="5", order=OrderFactory(customer__integration=hook.integration))
    for event_type, payload in [
        ("context.retrieved", {"sections": ["4.2 Damaged on arrival"]}),
        ("proposal.created", {"action": "approve_refund", "amount": "5.00", "model": "offline"}),
        ("gate.evaluated", {"route": "review", "reasons": ["amount over 3"], "policy_version": 7}),
    ]:
        record_event(
            event_type=event_type, actor=Actor.system("tests"), subject=request, payload=payload
        )
    execution_run(request_id=request.pk)
    client.force_login(role_user("auditor"))

    response = client.get(reverse("admin:refunds_refundrequest_timeline", args=[request.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "4.2 Damaged on arrival",
        "Policy version:",
        "Decision made final",
        "Execution recorded",
        Execution.objects.get().provider_reference,
        "Who approved the final action",
        "Webhook deliveries",
    ):
        assert text in page, text


class _Text(HTMLParser):
    """What a reader sees of a page: its text, not its tags or attributes."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html.split("<body", 1)[1])
    return " ".join(" ".join(parser.parts).split())


def test_case_timeline_shows_labels_and_values_not_python_reprs(client, role_user, settings):
    settings.TIME_ZONE = "UTC"
    request = final_decision(amount="5")
    record_event(
        event_type="review.decided",
        actor=Actor.system("tests"),
        subject=request,
        payload={
            "outcome": "approve_with_edits",
            "proposed_action": "request_more_info",
            "confirms": None,
            "replayed": False,
            "reasons": [{"code": "amount_over_ceiling", "message": "Over the ceiling."}],
            "decision": {"action": "approve_refund", "needs_human_review": True},
            "until": "2026-12-05T09:10:05.123456Z",
        },
    )
    client.force_login(role_user("auditor"))

    html = client.get(reverse("admin:refunds_refundrequest_timeline", args=[request.pk])).text
    text = visible_text(html)

    for shown in (
        "Reviewer decided",  # the event type as words
        "Decision made final",
        "Outcome: approve with edits",  # codes as words, keys as words
        "Proposed action: request more information",
        "Confirms: —",  # None
        "Replayed: No",  # a boolean
        "Code: amount over ceiling · Message: Over the ceiling.",  # a list of records
        "Needs human review: Yes",  # nested data
        "Until: 2026-12-05 09:10:05",  # a timestamp, to the second
        "Final decision Approve refund 5.00",
        f"{request.decided_at:%Y-%m-%d %H:%M:%S}",  # the page's own times, to the second
    ):
        assert shown in text, shown
    for raw in ("{'", "None", "False", "True"):
        assert raw not in text, raw
    assert not re.findall(r"\b[a-z]+(?:[._][a-z]+)+\b", text)  # no snake_case or dotted codes
    assert 'title="review.decided"' in html  # the code is still there for who needs it


def test_timeline_is_linked_from_the_request_page(admin_client):
    request = final_decision(amount="5")

    page = admin_client.get(reverse("admin:refunds_refundrequest_change", args=[request.pk]))

    assert reverse("admin:refunds_refundrequest_timeline", args=[request.pk]) in (
        page.content.decode()
    )


def test_timeline_needs_permission_to_view_requests(client, django_user_model):
    request = final_decision(amount="5")
    client.force_login(django_user_model.objects.create_user("nobody", is_staff=True))

    response = client.get(reverse("admin:refunds_refundrequest_timeline", args=[request.pk]))

    assert response.status_code == 403


def test_timeline_query_count_does_not_grow_with_events(
    admin_client, django_assert_max_num_queries
):
    request = final_decision(amount="5")
    for i in range(30):
        record_event(event_type="note", actor=Actor.system("t"), subject=request, payload={"i": i})

    with django_assert_max_num_queries(20):
        admin_client.get(reverse("admin:refunds_refundrequest_timeline", args=[request.pk]))


def test_timeline_shows_the_conversation_as_the_review_page_does(admin_client):
    from refunds.tests.factories import asked_and_answered

    request = final_decision(amount="5")
    asked_and_answered(request, "Which of the two lamps?", "The <i>blue</i> one, cracked.")

    page = admin_client.get(
        reverse("admin:refunds_refundrequest_timeline", args=[request.pk])
    ).content.decode()

    conversation = page[page.index('id="conversation"') : page.index("<h2>Answers</h2>")]
    for text in (
        "The customer&#x27;s request",
        "Question to the customer",
        "Which of the two lamps?",
        "answered by reply 1",
        "Reply 1 from the customer",
        "The &lt;i&gt;blue&lt;/i&gt; one, cracked.",  # the customer's words, escaped
        "answers question 1",
    ):
        assert text in conversation, text


def test_timeline_queries_do_not_grow_with_the_thread(admin_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from refunds.tests.factories import asked_and_answered

    request = final_decision(amount="5")
    url = reverse("admin:refunds_refundrequest_timeline", args=[request.pk])
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    for n in range(6):
        asked_and_answered(request, f"Question {n}?", f"Answer {n}.")

    with CaptureQueriesContext(connection) as many:
        page = admin_client.get(url).content.decode()

    assert len(few) == len(many) <= 20
    assert page.count('data-kind="reply"') == 6
