"""The precedent finder (``reviews.precedents``): which past human decisions a case being
drafted is shown. Runs on both lanes: BM25 on SQLite, full-text search on PostgreSQL."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from refunds import hooks
from refunds.agent.precedents import PrecedentQuery
from refunds.tests.factories import RefundRequestFactory
from reviews.precedents import precedents_find
from reviews.tests.precedent_cases import decided_case

pytestmark = pytest.mark.django_db

OPENED = "I opened the headphones and used them twice, the sound is tinny, I want my money back."


def query(text: str = OPENED, *, request_id=None, k: int = 3, min_similarity: float = 0.1):
    return PrecedentQuery(
        text=text,
        request_id=request_id,
        decided_before=timezone.now(),
        k=k,
        min_similarity=min_similarity,
    )


def test_reviews_registers_the_finder_in_the_refunds_hook():
    assert hooks.precedent_finder.get_optional() is precedents_find


def test_the_most_similar_final_decision_comes_first():
    decided_case("The parcel never arrived, tracking says lost in transit.")
    similar = decided_case("I opened the headphones and used them, the sound is bad, refund me.")

    found = precedents_find(query=query())

    assert found[0].decision_id == similar.pk
    assert found[0].similarity > 0.3


def test_a_precedent_carries_the_human_outcome_and_the_edit():
    decided_case("Opened headphones, used them, sound is tinny.", comment="Used: half back.")

    [precedent] = precedents_find(query=query())

    assert precedent.outcome == "approve_with_edits"
    assert (precedent.proposed_amount, precedent.final_amount) == (
        Decimal("20.00"),
        Decimal("10.00"),
    )
    assert precedent.edit_summary == "lowered the amount from 20.00 to 10.00"
    assert precedent.note == "Used: half back."
    assert precedent.gate_reasons == ("amount_over_ceiling",)
    assert precedent.amount_band == "under 25"


def test_a_rejection_counts_as_a_denial_of_nothing():
    decided_case(
        "Opened headphones, used them, sound is tinny.",
        outcome="reject",
        action="",
        amount=None,
        reason_code="outside_policy",
    )

    [precedent] = precedents_find(query=query())

    assert (precedent.final_action, precedent.final_amount) == ("deny_refund", Decimal("0.00"))
    assert precedent.reviewer_reason == "outside_policy"


def test_decisions_that_are_not_final_are_never_precedents():
    decided_case("Opened headphones, used them, sound is tinny.", is_final=False)

    assert precedents_find(query=query()) == []


def test_decisions_made_after_the_cut_off_are_never_precedents():
    decided_case("Opened headphones, used them, sound is tinny.", days_ago=-1)

    assert precedents_find(query=query()) == []


def test_no_decision_of_the_case_itself_is_a_precedent():
    request = RefundRequestFactory(message=OPENED)
    decided_case(OPENED, request=request)
    decided_case(OPENED, request=request, queue_slug="senior")

    assert precedents_find(query=query(request_id=request.pk)) == []


def test_a_dissimilar_case_is_not_a_precedent():
    decided_case("Opened headphones, used them, sound is tinny.")

    assert precedents_find(query=query(min_similarity=0.9)) == []


def test_at_most_k_precedents_are_found():
    for _ in range(4):
        decided_case("Opened headphones, used them, sound is tinny.")

    assert len(precedents_find(query=query(k=2))) == 2


def test_another_customers_contact_details_are_masked_in_the_excerpt():
    decided_case(
        "Opened headphones, used them. Call me on +44 7700 900123 or mail jo@example.com, "
        "card 4111111111111111."
    )

    [precedent] = precedents_find(query=query())

    assert "7700" not in precedent.excerpt
    assert "jo@example.com" not in precedent.excerpt
    assert "4111" not in precedent.excerpt


def test_finding_precedents_takes_one_query_however_many_decisions(django_assert_num_queries):
    for i in range(6):
        decided_case(f"Opened headphones number {i}, used them, sound is tinny.")

    with django_assert_num_queries(1):
        found = precedents_find(query=query())

    assert len(found) == 3


@pytest.mark.postgres
def test_on_postgresql_the_ranking_is_full_text_search():
    decided_case("Opened headphones, used them, sound is tinny.")
    with CaptureQueriesContext(connection) as captured:
        precedents_find(query=query())

    assert "to_tsvector" in captured[0]["sql"] and "ts_rank" in captured[0]["sql"]


def test_a_proposal_records_the_precedents_it_saw_and_the_audit_log_says_so():
    from audit.models import AuditEvent
    from refunds.tasks import refund_request_process
    from refunds.tests.factories import policy_version

    policy_version()
    past = decided_case("Opened the headphones, used them twice, the sound is tinny.")
    request = RefundRequestFactory(message=OPENED)

    refund_request_process(request.pk)

    proposal = request.proposals.get()
    assert proposal.prompt_version == "1.3"
    assert [(p["cite"], p["decision"], p["outcome"]) for p in proposal.precedents] == [
        ("P1", past.pk, "approve_with_edits")
    ]
    assert proposal.precedents[0]["similarity"] > 0
    assert "P1" in proposal.prompt_messages[1]["content"]
    events = {
        e.event_type: e.payload for e in AuditEvent.objects.filter(subject_id=str(request.pk))
    }
    assert events["context.retrieved"]["precedents"][0]["decision"] == past.pk
    assert events["proposal.created"]["precedents"] == [past.pk]
