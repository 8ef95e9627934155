"""Who sees which notices: a school's lead their school's, a council's education team their
inbox's, the hub's staff those of their council's contacts; nobody else anything."""

import datetime as dt

from safehub.accounts.models import Agency
from safehub.encompass.selectors import encompass_notice_list, encompass_notices_for
from safehub.encompass.services import encompass_acknowledge
from safehub.encompass.tests.bodies import high_risk
from safehub.encompass.tests.test_recipients import unserved


def test_each_reader_sees_only_their_notices(
    receive, morgan, rowan, edna, alice, mary, bob, percy, harriet
):
    school = receive()["C1"]
    inbox = receive(high_risk(school_urn=None))["C1"]
    waiting = receive(unserved(high_risk(school_urn=None)))["C1"]

    def seen(user):
        return set(encompass_notices_for(fetched_by=user))

    assert seen(morgan) == {school}
    assert seen(rowan) == set()
    assert seen(edna) == {inbox}
    assert seen(alice) == {school, inbox}  # Wirral's contacts
    assert seen(mary) == {school, inbox, waiting}  # a manager also sees those to be routed
    assert seen(bob) == set()  # Liverpool
    assert seen(percy) == set()  # police: contact.view, but no Encompass role
    assert seen(harriet) == set()


def test_another_councils_education_team_sees_nothing(receive, make_user):
    receive(high_risk(school_urn=None))
    liverpool = make_user("lena", "EDU341", "education_safeguarding_lead")
    assert not encompass_notices_for(fetched_by=liverpool).exists()


def test_an_inactive_user_sees_nothing(receive, morgan):
    receive()
    morgan.is_active = False
    assert not encompass_notices_for(fetched_by=morgan).exists()


def test_the_list_puts_overdue_first_and_acknowledged_last(receive, mary, edna):
    Agency.objects.filter(code="URN900001").update(dsl_email="")  # all to the council inbox
    acknowledged = receive(high_risk(school_urn=None))["C1"]
    late = receive()["C1"]  # recorded Fri 20 Nov: due Mon 23 Nov 08:30
    body = high_risk()
    body["occurred_at"] = "2026-11-26T07:00:00+00:00"
    body["recorded_at"] = "2026-11-26T08:00:00+00:00"
    on_time = receive(body)["C1"]  # due Thu 26 Nov 08:30
    encompass_acknowledge(notice=acknowledged, acknowledged_by=edna)
    now = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
    listed = list(encompass_notice_list(fetched_by=mary, now=now))
    assert listed == [late, on_time, acknowledged]
    assert [n.rank for n in listed] == [0, 1, 2]
