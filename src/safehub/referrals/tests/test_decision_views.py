"""The workflow pages: take the next contact, decide, sign off or return, and the refusals."""

import pytest
from django.urls import reverse

from safehub.audit.models import AuditEvent
from safehub.core.testing import example_bytes
from safehub.intake.models import Channel
from safehub.intake.services import notification_receive
from safehub.referrals.decisions import contact_decide, contact_take_next
from safehub.referrals.models import (
    Contact,
    ContactStatus,
    ContactStatusChange,
    Decision,
    Outcome,
    SignOff,
)

S = ContactStatus


@pytest.fixture
def contacts(reference):
    for name in ("notification-two-authorities.json", "notification-high-risk.json"):
        notification_receive(raw=example_bytes(name), channel=Channel.IMPORT)


@pytest.fixture
def screening(alice, contacts) -> Contact:
    contact = contact_take_next(taken_by=alice)
    assert contact is not None
    return contact


@pytest.fixture
def decided(screening, alice) -> Decision:
    return contact_decide(
        contact=screening,
        decided_by=alice,
        outcome=Outcome.ASSESSMENT_S17,
        rationale="Second call-out this month; the child was present.",
    )


def detail_url(contact: Contact) -> str:
    return reverse("referrals:contact_detail", args=[contact.pk])


def decide_url(contact: Contact) -> str:
    return reverse("referrals:contact_decide", args=[contact.pk])


def sign_off_url(decision: Decision) -> str:
    return reverse("referrals:decision_sign_off", args=[decision.contact_id, decision.pk])


def return_url(decision: Decision) -> str:
    return reverse("referrals:decision_return", args=[decision.contact_id, decision.pk])


def test_queue_shows_counts_and_the_take_next_button(client, alice, contacts):
    client.force_login(alice)
    page = client.get(reverse("referrals:queue")).content.decode()
    assert "Take the next contact" in page
    assert "Received: <strong>4</strong>" in page
    assert "Screening: <strong>0</strong>" in page
    assert "Decisions awaiting sign-off" not in page  # a worker does not sign off


def test_take_next_claims_the_most_urgent_and_lands_on_it(client, alice, contacts):
    client.force_login(alice)
    response = client.post(reverse("referrals:take_next"), follow=True)
    contact = Contact.objects.get(assigned_to=alice)
    assert contact.status == S.SCREENING
    assert response.redirect_chain[-1][0] == detail_url(contact)
    page = response.content.decode()
    assert f"You are screening {contact.given_names} {contact.family_name}" in page
    assert "Decide what happens next" in page
    assert "Child and family assessment (section 17)" in page
    assert "Taken from the queue." in page  # the status history


def test_take_next_on_an_empty_queue_says_so(client, alice, reference):
    client.force_login(alice)
    response = client.post(reverse("referrals:take_next"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("referrals:queue")
    assert "There are no contacts waiting" in response.content.decode()


def test_take_next_is_post_only_and_refused_to_the_police(client, alice, percy, contacts):
    client.force_login(alice)
    assert client.get(reverse("referrals:take_next")).status_code == 405
    client.force_login(percy)
    assert client.post(reverse("referrals:take_next")).status_code == 403
    assert not Contact.objects.filter(status=S.SCREENING).exists()


def test_the_screening_worker_decides(client, alice, screening):
    client.force_login(alice)
    response = client.post(
        decide_url(screening),
        {"outcome": Outcome.EARLY_HELP, "rationale": "Parents engaging; first call-out."},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == detail_url(screening)
    decision = Decision.objects.get(contact=screening)
    assert decision.outcome == Outcome.EARLY_HELP
    assert decision.decided_by == alice
    screening.refresh_from_db()
    assert screening.status == S.DECIDED
    page = response.content.decode()
    assert "Decision recorded: Early help" in page
    assert "Decide what happens next" not in page
    assert "A manager other than you signs this decision off." in page


def test_blank_rationale_is_refused_naming_the_field(client, alice, screening):
    client.force_login(alice)
    response = client.post(
        decide_url(screening), {"outcome": Outcome.EARLY_HELP, "rationale": "   "}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "govuk-error-summary" in page
    assert '<a href="#id_rationale">Give the reasons for the decision</a>' in page
    assert "checked" in page  # the chosen outcome is kept
    assert not Decision.objects.exists()
    # Still a view of the contact, audited as such.
    assert AuditEvent.objects.filter(action="view", object_id=str(screening.pk)).exists()


def test_missing_outcome_is_refused_linking_to_the_first_radio(client, alice, screening):
    client.force_login(alice)
    response = client.post(decide_url(screening), {"rationale": "Reasons."})
    assert response.status_code == 422
    assert '<a href="#id_outcome">' in response.content.decode()


def test_another_worker_of_the_council_may_not_decide(client, make_user, screening):
    carol = make_user("carol", "LA344", "hub_social_worker")
    client.force_login(carol)
    response = client.post(
        decide_url(screening), {"outcome": Outcome.EARLY_HELP, "rationale": "Reasons."}
    )
    assert response.status_code == 403
    assert not Decision.objects.exists()


def test_another_councils_worker_gets_not_found(client, bob, screening, decided):
    client.force_login(bob)
    data = {"outcome": Outcome.EARLY_HELP, "rationale": "Reasons.", "note": "n"}
    assert client.post(decide_url(screening), data).status_code == 404
    assert client.post(sign_off_url(decided), data).status_code == 404
    assert client.post(return_url(decided), data).status_code == 404


def test_an_unknown_decision_is_not_found(client, mary, screening, decided):
    client.force_login(mary)
    url = reverse("referrals:decision_sign_off", args=[screening.pk, decided.pk + 1000])
    assert client.post(url, {"note": ""}).status_code == 404


def test_deciding_a_contact_not_in_screening_is_a_conflict(client, mary, alice, decided):
    client.force_login(mary)
    response = client.post(
        decide_url(decided.contact), {"outcome": Outcome.EARLY_HELP, "rationale": "Again."}
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "This could not be done" in page
    assert "Only a contact in screening can be decided; this one is decided." in page
    assert Decision.objects.count() == 1


def test_manager_sees_awaiting_decisions_and_signs_off(client, mary, decided):
    client.force_login(mary)
    queue = client.get(reverse("referrals:queue")).content.decode()
    assert "Decisions awaiting sign-off" in queue
    assert detail_url(decided.contact) in queue

    page = client.get(detail_url(decided.contact)).content.decode()
    assert "Decision awaiting sign-off" in page
    assert "Second call-out this month; the child was present." in page
    assert "Sign off" in page and "Return to the worker" in page

    response = client.post(sign_off_url(decided), {"note": "Agreed."}, follow=True)
    assert response.redirect_chain[-1][0] == detail_url(decided.contact)
    decided.refresh_from_db()
    assert decided.sign_off == SignOff.SIGNED_OFF
    assert decided.signed_off_by == mary
    assert Contact.objects.get(pk=decided.contact_id).status == S.CLOSED
    assert "Decision signed off. The contact is closed." in response.content.decode()

    queue = client.get(reverse("referrals:queue")).content.decode()
    assert "No decisions are waiting for sign-off." in queue


def test_manager_returns_a_decision_with_a_note(client, mary, decided):
    client.force_login(mary)
    response = client.post(return_url(decided), {"note": "Check the school's view."})
    assert response.status_code == 302
    decided.refresh_from_db()
    assert decided.sign_off == SignOff.RETURNED
    assert decided.sign_off_note == "Check the school's view."
    assert Contact.objects.get(pk=decided.contact_id).status == S.SCREENING
    change = ContactStatusChange.objects.filter(contact_id=decided.contact_id).last()
    assert change is not None and change.to_status == S.SCREENING


def test_returning_without_a_note_is_refused_naming_the_field(client, mary, decided):
    client.force_login(mary)
    response = client.post(return_url(decided), {"note": " "})
    assert response.status_code == 422
    assert '<a href="#id_note">Say why the decision is returned</a>' in response.content.decode()
    decided.refresh_from_db()
    assert decided.sign_off == SignOff.AWAITING_SIGN_OFF


def test_a_worker_cannot_sign_off(client, alice, decided):
    client.force_login(alice)
    assert client.post(sign_off_url(decided), {"note": ""}).status_code == 403
    assert client.post(return_url(decided), {"note": "No."}).status_code == 403
    decided.refresh_from_db()
    assert decided.sign_off == SignOff.AWAITING_SIGN_OFF


def test_a_manager_cannot_sign_off_their_own_decision(client, mary, screening):
    decision = contact_decide(
        contact=screening, decided_by=mary, outcome=Outcome.EARLY_HELP, rationale="Reasons."
    )
    client.force_login(mary)
    page = client.get(detail_url(screening)).content.decode()
    assert "A manager other than you signs this decision off." in page
    assert client.post(sign_off_url(decision), {"note": ""}).status_code == 403


def test_returning_a_signed_off_decision_is_a_conflict(client, mary, decided):
    client.force_login(mary)
    client.post(sign_off_url(decided), {"note": ""})
    response = client.post(return_url(decided), {"note": "Second thoughts."})
    assert response.status_code == 409
    assert "The decision is already signed off." in response.content.decode()
    assert Contact.objects.get(pk=decided.contact_id).status == S.CLOSED
