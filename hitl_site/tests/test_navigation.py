"""Landing after login per role, the links between the admin, the review pages and the
dashboard, the site's title and favicon."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from audit.services import Actor
from hitl_site import roles
from reviews.services import queue_access_grant
from reviews.tests.factories import queue

pytestmark = pytest.mark.django_db

REVIEW, DASHBOARD, ADMIN = "/review/", "/review/dashboard/", "/admin/"
NOTIFY = "/review/notifications/"
ABSENCE = "/review/absence/"


@pytest.fixture
def user_in(role_user, django_user_model):
    """``user_in("reviewer")``: a user of that role, with the queues its group is given
    by ``ensure_roles`` (reviewers: standard; seniors: standard, senior, legal);
    ``user_in("superuser")``: a superuser."""

    def make(role: str):
        if role == "superuser":
            return django_user_model.objects.create_superuser("root", password="pass")
        user = role_user(role)
        grants = {roles.REVIEWER: ["standard"], roles.SENIOR_REVIEWER: ["standard", "senior"]}
        for slug in grants.get(role, []):
            queue_access_grant(queue=queue(slug), user=user, actor=Actor.system("tests"))
        return user

    return make


def areas(html: str) -> list[str]:
    """The links of the header's area navigation, in order."""
    nav = re.search(r'<nav id="site-areas".*?</nav>', html, re.S)
    return re.findall(r'href="([^"]+)"', nav.group(0)) if nav else []


def current_area(html: str) -> str:
    found = re.search(r'<a href="([^"]+)"[^>]*aria-current="page"', html)
    return found.group(1) if found else ""


LANDING = [
    (roles.REVIEWER, REVIEW),
    (roles.SENIOR_REVIEWER, REVIEW),
    (roles.POLICY_ADMIN, ADMIN),
    (roles.AUDITOR, "/admin/audit/auditevent/"),
    ("superuser", ADMIN),
]


@pytest.mark.parametrize(("role", "landing"), LANDING)
def test_login_lands_each_role_on_its_page(client, user_in, role, landing):
    user = user_in(role)
    form = client.get(reverse("admin:login")).content.decode()
    next_url = re.search(r'name="next" value="([^"]*)"', form).group(1)

    response = client.post(
        reverse("admin:login"),
        {"username": user.username, "password": "pass", "next": next_url},
        follow=True,
    )

    assert next_url == "/"
    assert response.redirect_chain[-1][0] == landing
    assert response.status_code == 200


def test_a_reviewer_without_a_queue_yet_lands_on_the_review_page_that_says_so(client, role_user):
    client.force_login(role_user(roles.REVIEWER))

    response = client.get("/", follow=True)

    assert response.redirect_chain[-1][0] == REVIEW
    assert "not assigned to any review queue yet" in response.content.decode()


def test_login_keeps_an_explicit_next(client, user_in):
    user = user_in(roles.REVIEWER)
    target = reverse("admin:refunds_refundrequest_changelist")

    response = client.post(
        f"{reverse('admin:login')}?next={target}",
        {"username": user.username, "password": "pass", "next": target},
    )

    assert response["Location"] == target


def test_home_asks_anonymous_visitors_to_log_in(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next=/"


def test_logged_out_page_offers_to_log_in_again_to_the_landing_page(client, user_in):
    client.force_login(user_in(roles.REVIEWER))

    html = client.post(reverse("admin:logout")).content.decode()

    assert '<a href="/">Log in again</a>' in html


@pytest.mark.parametrize(
    ("role", "links"),
    [
        (roles.REVIEWER, [REVIEW, NOTIFY, ABSENCE, ADMIN]),
        (roles.SENIOR_REVIEWER, [REVIEW, DASHBOARD, NOTIFY, ABSENCE, ADMIN]),
        (roles.POLICY_ADMIN, [DASHBOARD, NOTIFY, ADMIN]),
        (roles.AUDITOR, [DASHBOARD, NOTIFY, ADMIN]),
        ("superuser", [REVIEW, DASHBOARD, NOTIFY, ABSENCE, ADMIN]),
    ],
)
def test_admin_header_links_the_areas_the_role_may_use(client, user_in, role, links):
    client.force_login(user_in(role))

    html = client.get(reverse("admin:index")).content.decode()

    assert areas(html) == links
    assert current_area(html) == ADMIN


@pytest.mark.parametrize(
    ("role", "links"),
    [
        (roles.REVIEWER, [REVIEW, NOTIFY, ABSENCE, ADMIN]),
        (roles.SENIOR_REVIEWER, [REVIEW, DASHBOARD, NOTIFY, ABSENCE, ADMIN]),
    ],
)
def test_review_pages_link_back_to_the_admin_and_the_dashboard(client, user_in, role, links):
    client.force_login(user_in(role))

    html = client.get(REVIEW).content.decode()

    assert areas(html) == links
    assert current_area(html) == REVIEW


@pytest.mark.parametrize(
    ("role", "links"),
    [
        (roles.SENIOR_REVIEWER, [REVIEW, DASHBOARD, NOTIFY, ABSENCE, ADMIN]),
        (roles.AUDITOR, [DASHBOARD, NOTIFY, ADMIN]),
        (roles.POLICY_ADMIN, [DASHBOARD, NOTIFY, ADMIN]),
    ],
)
def test_dashboard_links_the_admin_and_for_reviewers_the_queue(client, user_in, role, links):
    client.force_login(user_in(role))

    html = client.get(DASHBOARD).content.decode()

    assert areas(html) == links
    assert current_area(html) == DASHBOARD


def test_the_absence_page_is_linked_for_reviewers_and_marks_itself_current(client, user_in):
    client.force_login(user_in(roles.REVIEWER))

    html = client.get(ABSENCE).content.decode()

    assert areas(html) == [REVIEW, NOTIFY, ABSENCE, ADMIN]
    assert current_area(html) == ABSENCE


def test_login_page_shows_no_area_links(client):
    assert areas(client.get(reverse("admin:login")).content.decode()) == []


@pytest.mark.parametrize(
    ("role", "url", "title"),
    [
        ("superuser", ADMIN, "Back-office administration | Refund desk"),
        (roles.REVIEWER, REVIEW, "My review queue | Refund desk"),
        (roles.AUDITOR, DASHBOARD, "Operations dashboard | Refund desk"),
        (roles.AUDITOR, "/admin/audit/auditevent/", "Select audit event to view | Refund desk"),
    ],
)
def test_pages_carry_the_site_title_and_favicon(client, user_in, role, url, title):
    client.force_login(user_in(role))

    html = client.get(url).content.decode()

    assert f"<title>{title}</title>" in html
    assert '<div id="site-name"><a href="/">Refund desk</a></div>' in html
    assert '<link rel="icon" href="/static/hitl_site/favicon.svg" type="image/svg+xml">' in html
    assert "View site" not in html


def test_login_page_is_titled_and_has_the_favicon(client):
    html = client.get(reverse("admin:login")).content.decode()

    assert "<title>Log in | Refund desk</title>" in html
    assert 'href="/static/hitl_site/favicon.ico"' in html


def test_favicon_ico_is_served(client):
    response = client.get("/favicon.ico", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/static/hitl_site/favicon.ico"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_make_run_prints_the_review_and_dashboard_urls():
    makefile = (Path(settings.BASE_DIR) / "Makefile").read_text()
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]

    for path in ("/review/", "/review/dashboard/", "/admin/"):
        assert f"http://127.0.0.1:$(PORT){path}" in run, path
