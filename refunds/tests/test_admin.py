"""The refund request list in the admin: short, unwrapped ids and the amount asked for."""

from decimal import Decimal

import pytest
from django.urls import reverse

from refunds.tests.factories import RefundRequestFactory

pytestmark = pytest.mark.django_db


def test_request_list_shows_short_ids_and_the_amount(admin_client):
    asked = RefundRequestFactory(requested_amount=Decimal("19.99"), currency="GBP")
    unstated = RefundRequestFactory(requested_amount=None)

    html = admin_client.get(reverse("admin:refunds_refundrequest_changelist")).content.decode()

    uuid = str(asked.public_id)
    assert f'<code class="hitl-id" title="{uuid}">{uuid[:8]}</code>' in html
    assert f">{uuid}<" not in html  # never the whole UUID in a cell, where it wraps
    assert '<span class="hitl-money">19.99 GBP</span>' in html
    assert '<span class="hitl-money">—</span>' in html  # none stated
    assert str(unstated.public_id)[:8] in html
    assert "column-amount" in html  # a sortable column of its own


def test_request_page_links_its_audit_events_for_auditors(client, role_user):
    request = RefundRequestFactory()
    url = reverse("admin:refunds_refundrequest_change", args=[request.pk])
    events = f"{reverse('admin:audit_auditevent_changelist')}?request={request.pk}"

    client.force_login(role_user("auditor"))
    assert events in client.get(url).content.decode()
    client.force_login(role_user("policy_admin"))  # may not read the audit log
    assert events not in client.get(url).content.decode()
