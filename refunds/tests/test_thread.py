"""The case thread (issue 14): one read of everything said and decided on a case, used by
the review page and the admin timeline."""

from datetime import timedelta

import pytest
from django.utils import timezone

from refunds.tests.factories import asked_and_answered
from refunds.thread import case_thread, pair_questions_with_replies
from reviews.models import ReviewTask
from reviews.services import review_decide
from reviews.tests.factories import asked_and_redrafted, task_with_proposal

T0 = timezone.now()


@pytest.fixture
def reviewer(role_user):
    """A reviewer of the standard queue (as the review tests' ``reviewer_of("standard")``)."""
    from audit.services import Actor
    from reviews.services import queue_access_grant
    from reviews.tests.factories import queue

    user = role_user("reviewer")
    queue_access_grant(queue=queue("standard"), user=user, actor=Actor.system("tests"))
    return user


def at(minutes: int):
    return T0 + timedelta(minutes=minutes)


def test_pair_questions_with_replies_takes_the_first_reply_after_each_question():
    questions = [(at(0), "Which item?"), (at(10), "A photo?")]
    replies = [(at(-5), "hello?"), (at(2), "The mug."), (at(3), "Also the lid."), (at(12), "Here.")]

    paired = pair_questions_with_replies(questions, replies)

    assert [(q.number, q.reply, q.reply_number) for q in paired] == [
        (1, "The mug.", 2),
        (2, "Here.", 4),
    ]


def test_pair_questions_with_replies_leaves_an_unanswered_question_open():
    paired = pair_questions_with_replies([(at(0), "Which item?")], [(at(-1), "hi")])

    assert paired[0].answered is False and paired[0].reply is None


@pytest.mark.django_db
def test_case_thread_tells_ask_reply_redraft_in_order_with_times(reviewer):
    alice = reviewer
    request = asked_and_redrafted(alice, reply="The handle arrived cracked.")
    new_task = ReviewTask.objects.get(request=request, active=1)

    thread = case_thread(request=request, current_task=new_task)

    kinds = [e.kind for e in thread.entries]
    assert kinds == ["request", "draft", "decision", "message", "reply", "draft"]
    assert [e.at for e in thread.entries] == sorted(e.at for e in thread.entries)
    request_entry, first_draft, decision, question, reply, redraft = thread.entries
    assert request_entry.untrusted and request_entry.text == request.message
    assert "draft: request more info" in first_draft.facts
    assert (decision.title, decision.who) == ("Decision: Request more information", alice.username)
    assert decision.note.startswith("sent to the customer as msg_")
    assert (question.direction, question.text) == ("out", "What is wrong with it?")
    assert question.note == "answered by reply 1"
    assert (reply.direction, reply.text, reply.note) == (
        "in",
        "The handle arrived cracked.",
        "answers question 1",
    )
    assert redraft.current and not first_draft.current
    assert "draft: approve refund 40.00 GBP" in redraft.facts
    assert [(q.question, q.reply) for q in thread.questions] == [
        ("What is wrong with it?", "The handle arrived cracked.")
    ]
    assert thread.reopened


@pytest.mark.django_db
def test_case_thread_reads_five_queries_however_long_the_thread(
    reviewer, django_assert_num_queries
):
    task = task_with_proposal()
    request = task.request
    with django_assert_num_queries(5):
        short = case_thread(request=request)
    for n in range(6):
        asked_and_answered(request, f"Question {n}?", f"Answer {n}.", at=at(-60 + 5 * n))
    review_decide(task=task, user=reviewer, outcome="escalate", comment="Look.")

    with django_assert_num_queries(5):
        long = case_thread(request=request)

    assert len(long.entries) == len(short.entries) + 13
    assert [q.reply for q in long.questions] == [f"Answer {n}." for n in range(6)]
