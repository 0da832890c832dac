"""The operations dashboard page: who sees it, what it shows, what it costs."""

import itertools
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.tests.factories import decided, executed, routed
from refunds.models import Execution
from reviews.models import Outcome
from reviews.tests.factories import ReviewTaskFactory

pytestmark = pytest.mark.django_db
URL = "/review/dashboard/"


def test_dashboard_url():
    assert reverse("analytics:dashboard") == URL


@pytest.mark.parametrize(
    "role, status",
    [
        ("reviewer", 403),
        ("integration", 403),
        ("senior_reviewer", 200),
        ("policy_admin", 200),
        ("auditor", 200),
    ],
)
def test_dashboard_is_for_seniors_policy_admins_and_auditors(client, role_user, role, status):
    client.force_login(role_user(role))
    assert client.get(URL).status_code == status


def test_dashboard_asks_anonymous_users_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]


def _some_history(n: int = 1) -> None:
    for _ in range(n):
        routed(route="auto", status="executed")
        decided(outcome=Outcome.APPROVE_WITH_EDITS, amount="12.00")
        decided(outcome=Outcome.REJECT, action="", amount=None, reason_code="suspected_fraud")
        executed(routed(route="auto").request, phase=Execution.Phase.FAILED)
        ReviewTaskFactory(created_at=timezone.now() - timedelta(hours=5))


def test_dashboard_draws_the_figures_as_svg_charts(client, role_user):
    _some_history()
    client.force_login(role_user("auditor"))
    response = client.get(URL, {"period": "7"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<svg") >= 5
    assert "<polyline" in html
    assert "suspected fraud" in html
    assert "Human override rate" in html and "50.0%" in html  # 1 of the 2 proposals
    assert "Execution failure rate" in html
    assert "http" not in html.split("<svg", 1)[1].split("</svg>", 1)[0].replace(
        "http://www.w3.org", ""
    )  # nothing fetched from elsewhere


def test_dashboard_filters_narrow_the_figures(client, role_user):
    _some_history()
    routed(route="review", channel="chat")
    client.force_login(role_user("senior_reviewer"))
    response = client.get(URL, {"channel": "chat", "period": "30"})
    routing = response.context["routing"]
    assert (routing["total"], routing["review"]) == (1, 1)
    response = client.get(URL, {"queue": "senior"})
    assert response.context["routing"]["total"] == 0


@pytest.mark.parametrize("params", [{}, {"queue": "senior"}])
def test_dashboard_period_select_shows_the_default_period(client, role_user, params):
    client.force_login(role_user("auditor"))

    html = client.get(URL, params).content.decode()

    assert '<option value="30" selected>Last 30 days</option>' in html
    assert html.count("<h1>Operations dashboard</h1>") == 1


def test_dashboard_ignores_bad_filter_values(client, role_user):
    client.force_login(role_user("auditor"))
    response = client.get(URL, {"period": "9999", "policy_version": "x", "channel": "fax"})
    assert response.status_code == 200


def test_dashboard_shows_the_drift_alert(client, role_user, settings):
    settings.HITL_DRIFT_MIN_CASES = 2
    now = timezone.now()
    for days_ago in (1, 2):
        for _ in range(2):
            routed(route="auto", at=now - timedelta(days=days_ago))
    routed(route="review")
    routed(route="review")
    client.force_login(role_user("auditor"))
    html = " ".join(client.get(URL).content.decode().split())
    assert "Drift:" in html and "Review rate today is 100%" in html


def test_a_dashboard_get_writes_no_audit_event(client, role_user, settings):
    """The page only reads: the alert it shows is recorded by the hourly drift check."""
    from analytics import drift
    from audit.models import AuditEvent

    settings.HITL_DRIFT_MIN_CASES = 2
    now = timezone.now()
    for days_ago in (1, 2):
        for _ in range(2):
            routed(route="auto", at=now - timedelta(days=days_ago))
    routed(route="review")
    routed(route="review")
    client.force_login(role_user("auditor"))
    before = AuditEvent.objects.count()

    for query in ({}, {"period": "7"}, {"channel": "chat"}):  # own counts, or the check's
        html = " ".join(client.get(URL, query).content.decode().split())
        assert "Drift:" in html  # the alert is over all cases, whatever the filters
    assert AuditEvent.objects.count() == before

    drift.drift_check()  # the schedule's run records it
    assert AuditEvent.objects.filter(event_type="ops.drift_detected").count() == 1


def test_dashboard_query_count_does_not_grow_with_the_rows(
    client, role_user, django_assert_num_queries
):
    user = role_user("senior_reviewer")
    client.force_login(user)
    _some_history(1)
    client.get(URL)  # warm the per-user permission caches of the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert client.get(URL).status_code == 200
    _some_history(4)
    with django_assert_num_queries(len(small.captured_queries)):
        assert client.get(URL).status_code == 200
    assert len(small.captured_queries) <= 25


def test_dashboard_query_count_does_not_grow_with_rolled_up_days(
    client, role_user, django_assert_num_queries
):
    from analytics.rollup import loop_stats_rollup

    client.force_login(role_user("senior_reviewer"))
    now = timezone.now()
    today = timezone.localdate(now)

    def history_of(days_ago: int) -> None:
        at = now - timedelta(days=days_ago)
        routed(route="auto", status="executed", at=at)
        decided(outcome=Outcome.REJECT, action="", amount=None, reason_code="duplicate", at=at)
        loop_stats_rollup(day=today - timedelta(days=days_ago), now=now)

    history_of(1)
    _some_history(1)
    client.get(URL)  # warm the per-user permission caches of the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert client.get(URL).context["routing"]["total"] == 6
    for days_ago in (2, 3, 9):
        history_of(days_ago)
    _some_history(2)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(URL)
    # four rolled-up days with two gate decisions each; three histories today with four
    assert response.context["routing"]["total"] == 4 * 2 + 3 * 4
    assert response.context["decisions"]["rejected"] == 4 + 3  # one per day, one per history


@pytest.mark.parametrize("period", ["1", "7", "30", "90"])
@pytest.mark.parametrize("rolled_up", [False, True], ids=["live", "rolled-up"])
def test_trend_chart_shows_today_when_only_today_has_cases(client, role_user, period, rolled_up):
    """The cards said 5 decisions today while the daily chart was empty: a line needs two
    days, and today was the only one. Today's partial day is drawn (a dot per day), from
    the live tables or from today's roll-up up to its last full hour."""
    from analytics.rollup import day_start, loop_stats_rollup_due

    now = timezone.now()
    last_hour = now.replace(minute=0, second=0, microsecond=0)
    rolled = rolled_up and last_hour > day_start(timezone.localdate(now))
    at = last_hour - timedelta(minutes=1) if rolled else now
    for _ in range(5):
        decided(outcome=Outcome.APPROVE_WITH_EDITS, amount="12.00", at=at, waited=timedelta(0))
    if rolled:
        loop_stats_rollup_due(now=now)  # as the hourly schedule does
    client.force_login(role_user("auditor"))

    response = client.get(URL, {"period": period})

    assert response.context["decisions"]["total"] == 5  # what the cards show
    trend, html = response.context["trend"], response.content.decode()
    today = trend["ticks"][-1]
    assert today["label"] == "today"
    for line in trend["lines"]:  # review rate and override rate: 5 of 5 each
        assert [(p["x"], p["title"]) for p in line["points"]] == [
            (today["x"], "today so far: 100%")
        ]
    assert html.count("<circle") == 2
    assert "<title>Review rate, today so far: 100%</title>" in html
    assert ">today</text>" in html


def test_trend_chart_labels_the_last_day_without_crowding_the_one_before():
    from analytics.charts import line_chart

    today = timezone.localdate()
    days = [today - timedelta(days=n) for n in range(29, -1, -1)]

    ticks = line_chart(days, {}, today=today)["ticks"]

    assert [t["label"] for t in ticks][-1] == "today"
    gaps = [b["x"] - a["x"] for a, b in itertools.pairwise(ticks)]
    assert min(gaps) >= max(gaps) / 2
