"""The Encompass pages, as a permission matrix: not signed in → sign-in; another school's notice
→ 404; in scope without the role → 403; allowed → 200 and an audit row. The notice page shows the
Encompass subset and nothing else of the notification."""

import pytest
from django.urls import reverse

from safehub.audit.models import AuditEvent
from safehub.encompass.models import NoticeStatus
from safehub.encompass.tests.test_content import NEVER


def detail_url(notice):
    return reverse("encompass:notice_detail", args=[notice.pk])


def ack_url(notice):
    return reverse("encompass:notice_acknowledge", args=[notice.pk])


def test_pages_require_sign_in(client, receive):
    notice = receive()["C1"]
    for url in (reverse("encompass:notice_list"), detail_url(notice)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    response = client.post(ack_url(notice))
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.QUEUED


def test_the_lead_sees_their_notices_and_the_list_is_audited(client, receive, morgan):
    notice = receive()["C1"]
    client.force_login(morgan)
    response = client.get(reverse("encompass:notice_list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Operation Encompass notices" in page and "Amy Example" in page
    assert "MSP-26-004821" in page
    assert "Triage queue" not in page  # a school's lead has no hub navigation
    event = AuditEvent.objects.get(object_type="encompass.notice_list")
    assert (event.action, event.user) == ("view", morgan)
    assert event.detail["shown"] == [str(notice.pk)]


def test_another_schools_lead_sees_an_empty_list(client, receive, rowan):
    receive()
    client.force_login(rowan)
    page = client.get(reverse("encompass:notice_list")).content.decode()
    assert "Amy" not in page and "There are no notices for you." in page


def test_the_notice_page_shows_the_subset_only_and_is_audited(client, receive, morgan):
    notice = receive()["C1"]
    client.force_login(morgan)
    response = client.get(detail_url(notice))
    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "Amy Example",
        "11 June 2017",
        "MSP-26-004821",
        "Friday 20 November 2026 at 22:15",
        "14 Example Road, Birkenhead, CH41 6AB",
        "Said she hid in her room with her brother.",
        "Acknowledge",
    ):
        assert text in page, text
    for word in [*NEVER, "Leo"]:
        assert word not in page, word
    event = AuditEvent.objects.get(action="view", object_id=str(notice.pk))
    assert event.user == morgan and event.object_type == "encompass.encompassnotice"


def test_another_schools_notice_is_not_found_and_not_audited(client, receive, rowan):
    notice = receive()["C1"]
    client.force_login(rowan)
    assert client.get(detail_url(notice)).status_code == 404
    assert client.post(ack_url(notice)).status_code == 404
    assert not AuditEvent.objects.filter(object_id=str(notice.pk), user=rowan).exists()


@pytest.mark.parametrize("persona", ["harriet", "percy"])
def test_roles_without_encompass_get_403_on_the_list_and_404_on_a_notice(
    client, receive, request, persona
):
    notice = receive()["C1"]
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("encompass:notice_list")).status_code == 403
    assert client.get(detail_url(notice)).status_code == 404


def test_a_hub_social_worker_reads_the_notice_but_gets_403_acknowledging(client, receive, alice):
    notice = receive()["C1"]
    client.force_login(alice)
    page = client.get(detail_url(notice)).content.decode()
    assert "Amy Example" in page
    assert 'action="' + ack_url(notice) not in page  # no button for her
    assert client.post(ack_url(notice)).status_code == 403
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.QUEUED


def test_the_lead_acknowledges_and_the_page_says_who_and_when(client, receive, morgan):
    notice = receive()["C1"]
    client.force_login(morgan)
    response = client.post(ack_url(notice))
    assert response.status_code == 302 and response["Location"] == detail_url(notice)
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.ACKNOWLEDGED
    page = client.get(detail_url(notice)).content.decode()
    assert "Notice acknowledged" in page
    assert "Acknowledged by" in page and "Morgan" in page
    assert 'action="' + ack_url(notice) not in page
    assert AuditEvent.objects.filter(action="update", object_id=str(notice.pk)).count() == 1


def test_acknowledging_twice_changes_nothing(client, receive, morgan):
    notice = receive()["C1"]
    client.force_login(morgan)
    client.post(ack_url(notice))
    notice.refresh_from_db()
    first = notice.acknowledged_at
    response = client.post(ack_url(notice), follow=True)
    assert "already acknowledged" in response.content.decode()
    notice.refresh_from_db()
    assert notice.acknowledged_at == first
    assert AuditEvent.objects.filter(action="update", object_id=str(notice.pk)).count() == 1


def test_acknowledge_takes_post_only(client, receive, morgan):
    notice = receive()["C1"]
    client.force_login(morgan)
    assert client.get(ack_url(notice)).status_code == 405


def test_acknowledge_needs_the_csrf_token(receive, morgan):
    from django.test import Client

    notice = receive()["C1"]
    client = Client(enforce_csrf_checks=True)
    client.force_login(morgan)
    assert client.post(ack_url(notice)).status_code == 403
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.QUEUED


def test_hub_staff_keep_the_hub_navigation_and_see_the_recipient(client, receive, mary):
    receive()
    client.force_login(mary)
    page = client.get(reverse("encompass:notice_list")).content.decode()
    assert "Triage queue" in page
    assert "Birkenhead St Mary&#x27;s Primary School" in page


def test_an_overdue_notice_is_flagged(client, receive, morgan, smtp):
    import datetime as dt

    from safehub.core import clock

    smtp.stop()
    notice = receive()["C1"]
    client.force_login(morgan)
    with clock.frozen(notice.due_at + dt.timedelta(minutes=5)):
        listing = client.get(reverse("encompass:notice_list")).content.decode()
        page = client.get(detail_url(notice)).content.decode()
    assert "Overdue" in listing
    assert "Overdue: this notice was due by" in page
