"""MARAC referrals proposed at intake: who sees them, who decides them, and how.

The spec's high-risk example (Jane Example, Birkenhead) meets two criteria; her children's
contacts go to Wirral. Alice (Wirral social worker) and Mary (Wirral manager) see the referral, as
does Percy (Merseyside police); Bob (Liverpool) and Cheshire's police must not. Percy and Mary may
decide it; Alice may not.
"""

import datetime as dt
import json
import re
import uuid

import pytest
from django.urls import reverse

from safehub.audit.models import Action, AuditEvent
from safehub.core import clock
from safehub.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from safehub.core.testing import example, example_bytes
from safehub.intake.models import Channel, Notification
from safehub.intake.services import notification_receive
from safehub.risk.marac import CRITERIA
from safehub.risk.models import MaracReferral, MaracStatus
from safehub.risk.selectors import marac_referral_get, marac_referrals_in_scope
from safehub.risk.services import marac_referral_confirm, marac_referral_decline
from safehub.risk.views import CRITERIA_IN_WORDS

HIGH_RISK_REF = "MSP-26-004821"
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def receive(body: dict | None = None, *, at: dt.datetime = T0) -> Notification:
    raw = json.dumps(body).encode() if body else example_bytes("notification-high-risk.json")
    with clock.frozen(at):
        return notification_receive(raw=raw, channel=Channel.API).notification


def later_incident(reference: str, occurred: dt.datetime) -> dict:
    """The high-risk example again: the same victim and suspect, another incident."""
    body = example("notification-high-risk.json")
    body["incident_reference"] = reference
    body["occurred_at"] = occurred.isoformat()
    body["recorded_at"] = (occurred + dt.timedelta(hours=1)).isoformat()
    return body


def in_liverpool(body: dict) -> dict:
    body["incident_address"]["postcode"] = "L15 2AA"
    body["people"][0]["address"]["postcode"] = "L15 2AA"
    return body


def referral_of(notification: Notification) -> MaracReferral:
    return MaracReferral.objects.get(notification=notification)


@pytest.fixture
def referral(reference) -> MaracReferral:
    return referral_of(receive())


@pytest.fixture
def carol(make_user):
    """A police hub officer of another force (Cheshire)."""
    return make_user("carol", "CHS", "police_hub_officer")


@pytest.fixture
def frozen_decision_time():
    with clock.frozen(T0 + dt.timedelta(hours=1)):
        yield T0 + dt.timedelta(hours=1)


def updates(referral: MaracReferral) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            action=Action.UPDATE, object_type="risk.maracreferral", object_id=str(referral.pk)
        )
    )


# --- Scope --------------------------------------------------------------------------------------


def test_the_high_risk_example_proposes_a_referral_to_confirm(referral):
    assert referral.status == MaracStatus.TO_CONFIRM
    assert referral.victim_name == "Jane Example"
    assert referral.criteria_codes == ["visible_high_risk", "professional_judgement"]


def test_wirral_hub_staff_and_the_force_see_the_referral(referral, alice, mary, percy):
    for user in (alice, mary, percy):
        assert list(marac_referrals_in_scope(fetched_by=user)) == [referral]
        assert marac_referral_get(fetched_by=user, referral_id=referral.pk) == referral


def test_liverpool_and_another_force_see_nothing(referral, bob, carol):
    for user in (bob, carol):
        assert not marac_referrals_in_scope(fetched_by=user).exists()
        with pytest.raises(NotFound):
            marac_referral_get(fetched_by=user, referral_id=referral.pk)


def test_liverpool_sees_a_referral_whose_children_live_in_liverpool(reference, alice, bob):
    body = in_liverpool(
        later_incident("MSP-26-005001", dt.datetime(2026, 11, 21, 20, 0, tzinfo=dt.UTC))
    )
    liverpool = referral_of(receive(body))
    assert list(marac_referrals_in_scope(fetched_by=bob)) == [liverpool]
    assert not marac_referrals_in_scope(fetched_by=alice).exists()


def test_roles_without_marac_view_see_nothing(referral, make_user, harriet):
    analyst = make_user("ann", "LA344", "analyst")  # a Wirral user, but not a hub role
    for user in (analyst, harriet):
        assert not marac_referrals_in_scope(fetched_by=user).exists()
        with pytest.raises(NotFound):
            marac_referral_get(fetched_by=user, referral_id=referral.pk)


def test_a_bad_or_unknown_id_is_not_found(referral, percy):
    for bad in ("not-a-uuid", "", str(uuid.uuid4())):
        with pytest.raises(NotFound):
            marac_referral_get(fetched_by=percy, referral_id=bad)


def test_the_list_puts_those_to_confirm_first_then_the_newest(reference, percy):
    first = referral_of(receive())
    second = referral_of(
        receive(
            later_incident("MSP-26-005002", dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC)),
            at=T0 + dt.timedelta(hours=1),
        )
    )
    third = referral_of(
        receive(
            later_incident("MSP-26-005003", dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)),
            at=T0 + dt.timedelta(hours=2),
        )
    )
    with clock.frozen(T0 + dt.timedelta(hours=3)):
        marac_referral_confirm(referral=third, confirmed_by=percy, note="")
    assert list(marac_referrals_in_scope(fetched_by=percy)) == [second, first, third]


# --- Deciding -----------------------------------------------------------------------------------


def test_the_police_confirm_the_referral(referral, percy, frozen_decision_time):
    marac_referral_confirm(referral=referral, confirmed_by=percy, note="  Referred by DS Jones.  ")
    referral.refresh_from_db()
    assert referral.status == MaracStatus.CONFIRMED
    assert referral.decided_by == percy
    assert referral.decided_at == frozen_decision_time
    assert referral.note == "Referred by DS Jones."
    [event] = updates(referral)
    assert event.user == percy
    assert event.at == frozen_decision_time
    assert event.detail["status_from"] == "to_confirm"
    assert event.detail["status_to"] == "confirmed"
    assert event.detail["note"] == "Referred by DS Jones."
    assert event.detail["criteria"] == ["visible_high_risk", "professional_judgement"]


def test_a_hub_manager_may_decline_with_a_reason(referral, mary):
    marac_referral_decline(referral=referral, declined_by=mary, note="Already open to MARAC.")
    referral.refresh_from_db()
    assert referral.status == MaracStatus.DECLINED
    assert referral.decided_by == mary
    assert referral.decided_at is not None
    assert referral.note == "Already open to MARAC."
    assert [e.detail["status_to"] for e in updates(referral)] == ["declined"]


@pytest.mark.parametrize("note", ["", "   "])
def test_declining_without_a_reason_names_the_field_and_stores_nothing(referral, percy, note):
    with pytest.raises(DomainError) as refused:
        marac_referral_decline(referral=referral, declined_by=percy, note=note)
    assert refused.value.message.startswith("note: ")
    assert refused.value.status == 400
    referral.refresh_from_db()
    assert referral.status == MaracStatus.TO_CONFIRM
    assert referral.decided_by is None and referral.decided_at is None
    assert updates(referral) == []


def test_a_social_worker_cannot_confirm(referral, alice):
    with pytest.raises(PermissionDenied) as refused:
        marac_referral_confirm(referral=referral, confirmed_by=alice, note="")
    assert refused.value.status == 403
    with pytest.raises(PermissionDenied):
        marac_referral_decline(referral=referral, declined_by=alice, note="No.")
    referral.refresh_from_db()
    assert referral.status == MaracStatus.TO_CONFIRM
    assert updates(referral) == []


def test_outside_scope_deciding_is_not_found(referral, bob, carol):
    # Bob may not confirm anyway, but the referral's existence is not told to him either.
    for user in (bob, carol):
        with pytest.raises(NotFound):
            marac_referral_confirm(referral=referral, confirmed_by=user, note="")
    referral.refresh_from_db()
    assert referral.status == MaracStatus.TO_CONFIRM
    assert updates(referral) == []


def test_confirming_again_is_a_no_op(referral, percy, mary):
    with clock.frozen(T0 + dt.timedelta(hours=1)):
        marac_referral_confirm(referral=referral, confirmed_by=percy, note="First.")
    with clock.frozen(T0 + dt.timedelta(hours=2)):
        again = marac_referral_confirm(referral=referral, confirmed_by=mary, note="Second.")
    assert again.decided_by == percy
    referral.refresh_from_db()
    assert referral.decided_by == percy
    assert referral.decided_at == T0 + dt.timedelta(hours=1)
    assert referral.note == "First."
    assert len(updates(referral)) == 1


def test_changing_a_decision_is_a_conflict(referral, percy, mary):
    marac_referral_confirm(referral=referral, confirmed_by=percy, note="")
    with pytest.raises(Conflict) as refused:
        marac_referral_decline(referral=referral, declined_by=mary, note="Changed my mind.")
    assert refused.value.status == 409
    assert refused.value.code == "illegal_transition"
    referral.refresh_from_db()
    assert referral.status == MaracStatus.CONFIRMED
    assert referral.decided_by == percy
    assert len(updates(referral)) == 1


def test_a_declined_referral_cannot_then_be_confirmed(referral, percy):
    marac_referral_decline(referral=referral, declined_by=percy, note="Below threshold.")
    with pytest.raises(Conflict):
        marac_referral_confirm(referral=referral, confirmed_by=percy, note="")
    referral.refresh_from_db()
    assert referral.status == MaracStatus.DECLINED


def test_declining_again_without_a_note_is_still_a_no_op(referral, percy):
    marac_referral_decline(referral=referral, declined_by=percy, note="Below threshold.")
    marac_referral_decline(referral=referral, declined_by=percy, note="")
    referral.refresh_from_db()
    assert referral.note == "Below threshold."
    assert len(updates(referral)) == 1


# --- The repeat criterion -----------------------------------------------------------------------


def test_a_confirmed_referral_makes_a_later_incident_a_repeat(referral, percy):
    with clock.frozen(T0 + dt.timedelta(hours=1)):
        marac_referral_confirm(referral=referral, confirmed_by=percy, note="")
    body = later_incident("MSP-26-005010", dt.datetime(2026, 11, 26, 21, 0, tzinfo=dt.UTC))
    later = referral_of(receive(body, at=dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)))
    assert "repeat" in later.criteria_codes
    [repeat] = [c for c in later.criteria if c["code"] == "repeat"]
    assert "since their last MARAC referral on 24 November 2026" in repeat["evidence"]
    assert later.status == MaracStatus.TO_CONFIRM


@pytest.mark.parametrize("decide", ["leave", "decline"])
def test_only_a_confirmed_referral_makes_a_repeat(referral, percy, decide):
    if decide == "decline":
        with clock.frozen(T0 + dt.timedelta(hours=1)):
            marac_referral_decline(referral=referral, declined_by=percy, note="Below threshold.")
    body = later_incident("MSP-26-005011", dt.datetime(2026, 11, 26, 21, 0, tzinfo=dt.UTC))
    later = referral_of(receive(body, at=dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)))
    assert "repeat" not in later.criteria_codes


# --- The pages ----------------------------------------------------------------------------------


def list_url() -> str:
    return reverse("risk:referral_list")


def detail_url(referral: MaracReferral) -> str:
    return reverse("risk:referral_detail", args=[referral.pk])


def decide_url(referral: MaracReferral) -> str:
    return reverse("risk:referral_decide", args=[referral.pk])


def test_every_criterion_has_its_words():
    assert list(CRITERIA_IN_WORDS) == list(CRITERIA)


def test_pages_require_sign_in(client, referral):
    for response in (
        client.get(list_url()),
        client.get(detail_url(referral)),
        client.post(decide_url(referral), {"decision": "confirm"}),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    referral.refresh_from_db()
    assert referral.status == MaracStatus.TO_CONFIRM


def test_the_list_shows_the_referral_in_words(client, alice, referral):
    client.force_login(alice)
    response = client.get(list_url())
    assert response.status_code == 200
    page = response.content.decode()
    assert "Jane Example" in page
    assert f"MSP {HIGH_RISK_REF}" in page
    assert "Visible high risk (DASH)" in page
    assert "Professional judgement" in page
    assert "24 Nov 2026" in page
    assert "To confirm: <strong>1</strong>" in page
    assert detail_url(referral) in page


def test_the_list_is_audited_with_what_was_shown(client, alice, referral):
    client.force_login(alice)
    client.get(list_url())
    event = AuditEvent.objects.get(object_type="risk.marac_referral_list")
    assert event.action == Action.SEARCH
    assert event.detail["shown"] == [str(referral.pk)]


def test_the_list_filters_by_status(client, percy, referral):
    client.force_login(percy)
    assert "Jane Example" in client.get(list_url(), {"status": "to_confirm"}).content.decode()
    page = client.get(list_url(), {"status": "confirmed"}).content.decode()
    assert "Jane Example" not in page
    assert "There are no MARAC referrals here." in page
    assert "To confirm: <strong>1</strong>" in page  # the count ignores the filter
    # An unknown status shows them all.
    assert "Jane Example" in client.get(list_url(), {"status": "bogus"}).content.decode()


def test_the_list_is_forbidden_without_marac_view(client, harriet, referral):
    client.force_login(harriet)
    response = client.get(list_url())
    assert response.status_code == 403
    assert "MARAC referrals" not in response.content.decode()  # nor in the navigation


def test_the_navigation_links_to_the_list_for_hub_roles(client, alice, referral):
    client.force_login(alice)
    page = client.get(reverse("referrals:queue")).content.decode()
    assert f'href="{list_url()}"' in page


def test_another_councils_or_forces_referral_is_not_found(client, bob, carol, referral):
    for user in (bob, carol):
        client.force_login(user)
        assert client.get(detail_url(referral)).status_code == 404
        assert client.post(decide_url(referral), {"decision": "confirm"}).status_code == 404
    referral.refresh_from_db()
    assert referral.status == MaracStatus.TO_CONFIRM
    assert not AuditEvent.objects.filter(object_id=str(referral.pk)).exists()


def test_the_detail_shows_the_evidence_and_is_audited(client, alice, referral):
    client.force_login(alice)
    response = client.get(detail_url(referral))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Jane Example" in page
    assert "2 April 1992" in page
    assert f"MSP {HIGH_RISK_REF}" in page
    assert "DASH: 16 yes answers (14 or more is visible high risk)" in page
    assert "Strangulation, escalating frequency, threats to kill." in page
    assert re.search(r"Triage policy version</dt>\s*<dd[^>]*>1</dd>", page)
    assert "To confirm" in page
    assert "Record the decision" not in page  # a social worker does not decide
    event = AuditEvent.objects.get(action=Action.VIEW, object_id=str(referral.pk))
    assert event.user == alice
    assert event.object_type == "risk.maracreferral"


def test_the_police_see_the_decision_form(client, percy, referral):
    client.force_login(percy)
    page = client.get(detail_url(referral)).content.decode()
    assert "Refer to MARAC" in page and "Do not refer" in page
    assert "Record the decision" in page


def test_a_social_worker_posting_a_decision_is_forbidden(client, alice, referral):
    client.force_login(alice)
    response = client.post(decide_url(referral), {"decision": "confirm"})
    assert response.status_code == 403
    referral.refresh_from_db()
    assert referral.status == MaracStatus.TO_CONFIRM
    assert updates(referral) == []


def test_the_police_confirm_through_the_page(client, percy, referral):
    client.force_login(percy)
    response = client.post(
        decide_url(referral), {"decision": "confirm", "note": "Referred today."}, follow=True
    )
    assert response.redirect_chain == [(detail_url(referral), 302)]
    page = response.content.decode()
    assert "Jane Example is referred to MARAC" in page
    assert "govuk-notification-banner--success" in page
    assert "Referred to MARAC" in page
    assert "Referred today." in page
    assert "Record the decision" not in page
    referral.refresh_from_db()
    assert referral.status == MaracStatus.CONFIRMED
    assert referral.decided_by == percy
    assert len(updates(referral)) == 1


def test_declining_without_a_note_is_refused_on_the_note_field(client, mary, referral):
    client.force_login(mary)
    response = client.post(decide_url(referral), {"decision": "decline", "note": ""})
    assert response.status_code == 422
    page = response.content.decode()
    assert "<title>Error: " in page
    assert '<a href="#id_note">Say why the victim is not referred to MARAC</a>' in page
    assert 'id="id_note-error"' in page
    referral.refresh_from_db()
    assert referral.status == MaracStatus.TO_CONFIRM
    assert updates(referral) == []


def test_declining_with_a_note_through_the_page(client, mary, referral):
    client.force_login(mary)
    response = client.post(
        decide_url(referral), {"decision": "decline", "note": "Already heard."}, follow=True
    )
    page = response.content.decode()
    assert "Recorded that Jane Example is not referred to MARAC" in page
    assert "Not referred" in page
    referral.refresh_from_db()
    assert referral.status == MaracStatus.DECLINED


def test_a_decision_must_be_chosen(client, percy, referral):
    client.force_login(percy)
    response = client.post(decide_url(referral), {"note": "Hmm."})
    assert response.status_code == 422
    assert '<a href="#id_decision">Select whether to refer the victim to MARAC</a>' in (
        response.content.decode()
    )


def test_the_same_decision_again_is_a_no_op(client, percy, referral):
    client.force_login(percy)
    client.post(decide_url(referral), {"decision": "confirm"})
    response = client.post(decide_url(referral), {"decision": "confirm"}, follow=True)
    assert response.status_code == 200
    assert "This referral was already recorded: Referred to MARAC" in response.content.decode()
    assert len(updates(referral)) == 1


def test_the_other_decision_afterwards_is_a_409(client, percy, referral):
    client.force_login(percy)
    client.post(decide_url(referral), {"decision": "confirm"})
    response = client.post(decide_url(referral), {"decision": "decline", "note": "No."})
    assert response.status_code == 409
    page = response.content.decode()
    assert "This could not be done" in page
    assert "a decision cannot be changed" in page
    referral.refresh_from_db()
    assert referral.status == MaracStatus.CONFIRMED
    assert len(updates(referral)) == 1


def test_decide_is_post_only(client, percy, referral):
    client.force_login(percy)
    assert client.get(decide_url(referral)).status_code == 405


def test_a_routing_manager_sees_the_referral_of_a_notification_no_council_holds_yet(mary, alice):
    import json

    from safehub.core.testing import example
    from safehub.intake.models import Channel
    from safehub.intake.services import notification_receive
    from safehub.risk.selectors import marac_referrals_in_scope

    doc = example("notification-high-risk.json")
    doc["incident_address"]["postcode"] = "L9 5AB"  # a district two councils share
    for person in doc["people"]:
        person.pop("address", None)
        if person["role"] == "child":
            person["lives_at_incident_address"] = True
    notification_receive(raw=json.dumps(doc).encode(), channel=Channel.API)
    assert marac_referrals_in_scope(fetched_by=mary).count() == 1
    assert marac_referrals_in_scope(fetched_by=alice).count() == 0
