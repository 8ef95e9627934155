"""Casework pages (the access matrix walks who may reach each; the browser test the journey):
the list's order and what each referral waits for, refusals on the field they name (422) or
above the form (409), nothing of another council, and the contact page's way in.

Wirral's spec example at 09:00 on Tuesday 24 November 2026: Amy (C1) and Leo (C2); Alice decides,
Mary signs off and authorises. Bob works for Liverpool."""

import datetime as dt

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from safehub.audit.models import Action, AuditEvent
from safehub.casework.models import CaseEpisode
from safehub.casework.services import enquiry_start
from safehub.core import clock
from safehub.core.testing import example_bytes
from safehub.intake.models import Channel
from safehub.intake.services import notification_receive
from safehub.referrals.decisions import contact_decide, contact_reassign, decision_sign_off
from safehub.referrals.models import Contact, Outcome
from safehub.timescales.calendar import add_working_days

pytestmark = pytest.mark.django_db
TUESDAY = dt.date(2026, 11, 24)


@pytest.fixture
def episodes(reference, frozen_now, alice, mary) -> dict[str, CaseEpisode]:
    """Amy referred for an assessment; Leo for a section 47 enquiry, started the same day."""
    receipt = notification_receive(
        raw=example_bytes("notification-high-risk.json"), channel=Channel.API
    )
    contacts = {c.child_ref: c for c in Contact.objects.filter(notification=receipt.notification)}
    for ref, outcome in (("C1", Outcome.ASSESSMENT_S17), ("C2", Outcome.STRATEGY_DISCUSSION_S47)):
        contact = contacts[ref]
        contact_reassign(contact=contact, to_user=alice, by=mary, reason="Hub allocation")
        contact.refresh_from_db()
        decision = contact_decide(
            contact=contact, decided_by=alice, outcome=outcome, rationale="Screened."
        )
        decision_sign_off(decision=decision, signed_off_by=mary, note="Agreed.")
    with transaction.atomic():
        enquiry_start(
            contact=Contact.objects.get(pk=contacts["C2"].pk),
            discussion=None,
            by=alice,
            started_on=TUESDAY,
            icpc_target=add_working_days(TUESDAY, 15),
        )
    return {ref: CaseEpisode.objects.get(contact=c) for ref, c in contacts.items()}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_list_shows_what_each_referral_waits_for_soonest_first(episodes, mary):
    response = client_for(mary).get(reverse("casework:episode_list"))
    assert response.status_code == 200
    text = response.content.decode()
    # Leo's conference (15 working days) is due before either assessment (45).
    assert text.index("Leo Example") < text.index("Amy Example")
    assert "Conference to record: 15 Dec 2026" in text
    assert text.count("Assessment to authorise") == 2
    shown = AuditEvent.objects.get(user=mary, action=Action.SEARCH, object_type="casework.list")
    assert set(shown.detail["shown"]) == {str(e.pk) for e in episodes.values()}


def test_another_councils_worker_finds_nothing(episodes, bob):
    client = client_for(bob)
    assert "Amy Example" not in client.get(reverse("casework:episode_list")).content.decode()
    for name in ("casework:episode_detail", "casework:close", "casework:child_details"):
        assert client.get(reverse(name, args=[episodes["C1"].pk])).status_code == 404


def test_an_assessment_of_another_referral_is_not_found(episodes, mary):
    other = episodes["C2"].assessments.get()
    url = reverse("casework:assessment_authorise", args=[episodes["C1"].pk, other.pk])
    assert client_for(mary).get(url).status_code == 404


def test_a_refusal_is_shown_on_the_field_it_names(episodes, mary):
    url = reverse(
        "casework:assessment_authorise",
        args=[episodes["C1"].pk, episodes["C1"].assessments.get().pk],
    )
    response = client_for(mary).post(
        url, {"authorised_on": "2026-11-23", "factors": ["3A"], "needs_support": "yes"}
    )
    assert response.status_code == 422
    text = response.content.decode()
    assert '<a href="#id_authorised_on">Cannot be before the referral on 24 November 2026' in text
    assert "(census rule 1103)" in text
    assert episodes["C1"].assessments.get().authorised_on is None


def test_none_with_a_factor_is_refused_without_javascript(episodes, mary):
    url = reverse(
        "casework:assessment_authorise",
        args=[episodes["C1"].pk, episodes["C1"].assessments.get().pk],
    )
    response = client_for(mary).post(
        url, {"authorised_on": "2026-11-24", "factors": ["21", "3A"], "needs_support": "no"}
    )
    assert response.status_code == 422
    assert '<a href="#id_factors">Choose the factors found' in response.content.decode()


def test_a_conflict_is_shown_above_the_form(episodes, alice):
    response = client_for(alice).post(
        reverse("casework:close", args=[episodes["C1"].pk]),
        {"closed_on": "2026-11-24", "reason": "RC8"},
    )
    assert response.status_code == 409
    text = response.content.decode()
    assert "This could not be done" in text and "An assessment is still open" in text
    assert CaseEpisode.objects.get(pk=episodes["C1"].pk).closed_on is None


def test_the_contact_page_leads_to_the_referral(episodes, alice):
    amy = episodes["C1"]
    text = client_for(alice).get(reverse("referrals:contact_detail", args=[amy.contact_id]))
    assert reverse("casework:episode_detail", args=[amy.pk]) in text.content.decode()


def test_the_referral_page_shows_the_clocks_and_is_audited(episodes, mary):
    with clock.frozen(dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)):
        response = client_for(mary).get(
            reverse("casework:episode_detail", args=[episodes["C1"].pk])
        )
    text = response.content.decode()
    assert "Child and family assessment" in text
    amy = episodes["C1"]
    authorise = reverse("casework:assessment_authorise", args=[amy.pk, amy.assessments.get().pk])
    assert f'href="{authorise}"' in text
    assert AuditEvent.objects.filter(
        user=mary, action=Action.VIEW, object_id=str(episodes["C1"].pk)
    ).exists()
