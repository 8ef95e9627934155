"""A worker opens "My alerts" after a deadline of a child she holds was escalated to her, and goes
from the alert to the child's contact."""

import datetime as dt
import re

import pytest

from tests.browser.test_hub_pages import sign_in


@pytest.mark.django_db(transaction=True)
def test_a_worker_follows_an_alert_to_the_childs_contact(
    page, live_server, assert_accessible, alice, mary
):
    from safehub.core import clock
    from safehub.core.testing import example_bytes
    from safehub.intake.models import Channel
    from safehub.intake.services import notification_receive
    from safehub.referrals.decisions import contact_reassign
    from safehub.referrals.escalation import escalations_sweep
    from safehub.referrals.models import Contact

    received = clock.now() - dt.timedelta(hours=3, minutes=30)  # red: 4 hours, 7/8 gone
    with clock.frozen(received):
        receipt = notification_receive(
            raw=example_bytes("notification-high-risk.json"), channel=Channel.API
        )
        amy = Contact.objects.get(notification=receipt.notification, child_ref="C1")
        contact_reassign(contact=amy, to_user=alice, by=mary, reason="Hers.")
    escalations_sweep()

    sign_in(page, assert_accessible, "alice")
    page.locator("header").get_by_role("link", name="My alerts").click()
    page.wait_for_url(re.compile(r"/alerts/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "My alerts"
    table = page.locator("#alerts")
    assert "Screening decision" in table.inner_text()
    assert "The allocated worker" in table.inner_text()
    assert_accessible(page)
    table.get_by_role("link", name="Amy Example").click()
    page.wait_for_url(re.compile(rf"/contacts/{amy.pk}/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Amy Example"
