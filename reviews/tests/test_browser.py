"""End to end in a real browser: Playwright for Python driving Debian's Chromium
(``apt-get install chromium``; never ``playwright install``)."""

import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from refunds.states import RefundStatus
from reviews.models import ReviewTask
from reviews.tests.factories import task_with_proposal

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("HITL_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(settings.BASE_DIR) / "artifacts"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    # Skipped where Chromium is missing, except in CI (HITL_REQUIRE_BROWSER=1), which
    # installs it and must not pass by skipping.
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("HITL_REQUIRE_BROWSER"),
        reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium)",
    ),
]


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the test makes
    # between browser steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()
        # With Playwright's event loop running, asgiref keeps the ORM connection the test
        # opened in this context, where Django's own teardown does not see it: left open,
        # it keeps the test database from being dropped at the end of the run.
        connections.close_all()


def logged_in(browser, live_server, user, *, landing: str = "/review/", asked: bool = True):
    """A page logged in through the login form, waiting for ``landing``: asked for as
    ``next``, or (``asked=False``) where the login sends the user's role by itself."""
    page = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/admin/login/" + (f"?next={landing}" if asked else ""))
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pass")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}{landing}")
    return page


def test_reviewer_edits_amount_and_approves_others_see_it(browser, live_server, reviewer_of):
    task = task_with_proposal(amount="40.00")
    alice, bob = reviewer_of("standard"), reviewer_of("standard")
    carol = reviewer_of("legal")

    page = logged_in(browser, live_server, alice)
    row = page.locator(f"a[href='/review/tasks/{task.pk}/']")
    sync_api.expect(row).to_be_visible()
    row.click()
    page.wait_for_url(f"{live_server.url}/review/tasks/{task.pk}/")
    sync_api.expect(page.locator("#proposed-amount")).to_contain_text("40.00 GBP")
    sync_api.expect(page.locator("#gate-reasons")).to_contain_text("amount over ceiling")
    page.keyboard.press("e")  # shortcut: focus the amount
    page.keyboard.type("32.50")
    page.fill("#id_message", "We refund the item; the shipping was free.")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-decision-package.png"), full_page=True)
    page.click("#approve-with-edits")
    page.wait_for_url(f"{live_server.url}/review/")
    sync_api.expect(page.locator(".messagelist")).to_contain_text("Approve with edits: done")

    task = ReviewTask.objects.select_related("request").get(pk=task.pk)
    assert task.status == "decided"
    assert task.request.status == RefundStatus.APPROVED
    assert task.request.final_amount == Decimal("32.50")

    other = logged_in(browser, live_server, bob)
    other.goto(f"{live_server.url}/review/tasks/{task.pk}/")
    sync_api.expect(other.locator("#decided-banner")).to_contain_text(
        f"Decided by {alice.username}"
    )
    assert other.locator("#decision-form").count() == 0

    outsider = logged_in(browser, live_server, carol)
    response = outsider.goto(f"{live_server.url}/review/tasks/{task.pk}/")
    assert response.status == 404
    outsider.goto(f"{live_server.url}/review/")
    assert outsider.locator(f"a[href='/review/tasks/{task.pk}/']").count() == 0


def test_keyboard_approve_as_proposed(browser, live_server, reviewer_of):
    task = task_with_proposal(amount="18.00")
    page = logged_in(browser, live_server, reviewer_of("standard"))
    page.keyboard.press("j")  # select the first row
    page.keyboard.press("o")  # open it
    page.wait_for_url(f"{live_server.url}/review/tasks/{task.pk}/")
    page.keyboard.press("a")  # approve as proposed
    page.wait_for_url(f"{live_server.url}/review/")
    task.request.refresh_from_db()
    assert task.request.status == RefundStatus.APPROVED
    assert task.request.final_amount == Decimal("18.00")


def test_records_read_well_in_a_browser(browser, live_server, reviewer_of, role_user):
    """The audit list, the request list, the timeline and the dashboard as an auditor sees
    them, saved to artifacts/ to be looked at: words, not codes or Python values; ids and
    amounts on one line; today on the dashboard's chart."""
    from refunds.execution.executor import execution_run
    from reviews.models import Outcome
    from reviews.services import review_decide, review_task_claim
    from reviews.tests.ops_factories import decided

    task = task_with_proposal(amount="40.00")
    reviewer = reviewer_of("standard")
    review_task_claim(task=task, user=reviewer)
    review_decide(
        task=ReviewTask.objects.get(pk=task.pk),
        user=reviewer,
        outcome=Outcome.APPROVE_WITH_EDITS,
        action="approve_refund",
        amount=Decimal("32.50"),
    )
    execution_run(request_id=task.request_id)
    for _ in range(4):
        decided(outcome=Outcome.APPROVE)
    short = str(task.request.public_id)[:8]
    ARTIFACTS.mkdir(exist_ok=True)

    page = logged_in(  # the auditor's landing page
        browser, live_server, role_user("auditor"), landing="/admin/audit/auditevent/", asked=False
    )
    page.fill("#request-filter input[name=request]", short)
    page.click("#request-filter input[type=submit]")
    sync_api.expect(page.locator("#result_list")).to_contain_text("Reviewer decided")
    sync_api.expect(page.locator("#result_list")).to_contain_text("Review task claimed")
    page.screenshot(path=str(ARTIFACTS / "audit-list.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/refunds/refundrequest/")
    row = page.locator("#result_list tr", has_text=short)
    sync_api.expect(row).to_contain_text("40.00 GBP")
    for value in (".hitl-money", ".hitl-id"):
        assert row.locator(value).bounding_box()["height"] < 25, value  # one line, not wrapped
    page.screenshot(path=str(ARTIFACTS / "request-list.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/refunds/execution/timeline/{task.request_id}/")
    text = page.locator("#content").inner_text()
    for shown in ("Reviewer decided", "Outcome: approve with edits", "Approve refund 32.50 GBP"):
        assert shown in text, shown
    for raw in ("{'", "None", "False", "approve_refund"):
        assert raw not in text, raw
    page.screenshot(path=str(ARTIFACTS / "timeline.png"), full_page=True)

    page.goto(f"{live_server.url}/review/dashboard/")
    assert page.locator("svg circle").count() == 2  # today's review and override rates
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    queue = logged_in(browser, live_server, reviewer, asked=False)  # the reviewer's landing
    sync_api.expect(queue.locator("#site-areas")).to_contain_text("Admin")
    queue.screenshot(path=str(ARTIFACTS / "review-queue.png"), full_page=True)
