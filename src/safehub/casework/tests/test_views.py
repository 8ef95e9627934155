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
        url,
        {
            "authorised_on": "2026-11-23",
            "factors": ["3A"],
            "needs_support": "yes",
            "primary_need": "N1",
        },
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


# --- Plans: reviews and ends; the primary need ----------------------------------------------


@pytest.fixture
def leo_plan(episodes, alice):
    """Leo's conference on Tuesday made a plan (emotional abuse)."""
    from safehub.casework.services import icpc_record, plan_start

    enquiry = episodes["C2"].enquiries.get()
    icpc_record(enquiry=enquiry, by=alice, icpc_on=TUESDAY, not_required=False, led_to_plan=True)
    return plan_start(enquiry=enquiry, by=alice, category="EMO", previous_plans=0)


def test_the_referral_page_offers_a_review_and_the_end_of_an_open_plan(episodes, leo_plan, alice):
    leo = episodes["C2"]
    text = client_for(alice).get(reverse("casework:episode_detail", args=[leo.pk])).content
    text = text.decode()
    assert reverse("casework:plan_review", args=[leo.pk, leo_plan.pk]) in text
    assert reverse("casework:plan_end", args=[leo.pk, leo_plan.pk]) in text
    assert "Next review due by" in text and "Wednesday 24 February 2027" in text


def test_a_review_on_the_day_the_plan_started_is_refused_on_its_field(episodes, leo_plan, alice):
    url = reverse("casework:plan_review", args=[episodes["C2"].pk, leo_plan.pk])
    client = client_for(alice)
    assert client.get(url).status_code == 200
    response = client.post(url, {"reviewed_on": "2026-11-24", "latest_category": "NEG"})
    assert response.status_code == 422
    text = response.content.decode()
    assert '<a href="#id_reviewed_on">A review comes after the plan started on 24 November' in text
    assert "(census rule 8841)" in text
    leo_plan.refresh_from_db()
    assert (leo_plan.review_dates, leo_plan.latest_category) == ([], "EMO")


def test_an_ended_plan_is_a_conflict_shown_above_the_form(episodes, leo_plan, alice):
    url = reverse("casework:plan_end", args=[episodes["C2"].pk, leo_plan.pk])
    client = client_for(alice)
    assert client.post(url, {"ended_on": "2026-11-24"}).status_code == 302
    response = client.post(url, {"ended_on": "2026-11-24"})
    assert response.status_code == 409
    assert "The child protection plan ended on 24 November 2026" in response.content.decode()


def test_a_plan_of_another_referral_is_not_found(episodes, leo_plan, alice):
    client = client_for(alice)
    for name in ("casework:plan_review", "casework:plan_end"):
        url = reverse(name, args=[episodes["C1"].pk, leo_plan.pk])
        assert client.get(url).status_code == 404
    url = reverse("casework:cin_plan_end", args=[episodes["C2"].pk, 999999])
    assert client.get(url).status_code == 404


def test_the_primary_need_is_changed_on_the_childs_details_page(episodes, alice):
    amy = episodes["C1"]
    url = reverse("casework:child_details", args=[amy.pk])
    form = {"upn": "", "upn_unknown": "UN1", "ethnicity": "WBRI", "primary_need": "N5"}
    assert client_for(alice).post(url, form).status_code == 302
    amy.refresh_from_db()
    assert amy.primary_need == "N5"
    response = client_for(alice).post(url, {**form, "primary_need": ""})
    assert response.status_code == 422
    assert '<a href="#id_primary_need">Select the child' in response.content.decode()


def test_closing_a_referral_with_nothing_done_says_it_is_no_further_action(
    reference, frozen_now, alice, mary
):
    receipt = notification_receive(
        raw=example_bytes("notification-high-risk.json"), channel=Channel.API
    )
    contact = Contact.objects.get(notification=receipt.notification, child_ref="C1")
    contact_reassign(contact=contact, to_user=alice, by=mary, reason="Hub allocation")
    contact.refresh_from_db()
    decision = contact_decide(
        contact=contact, decided_by=alice, outcome=Outcome.ALREADY_OPEN, rationale="Known."
    )
    decision_sign_off(decision=decision, signed_off_by=mary, note="Agreed.")
    episode = CaseEpisode.objects.get(contact=contact)
    url = reverse("casework:close", args=[episode.pk])
    assert "no further action" in client_for(alice).get(url).content.decode()
    client_for(alice).post(url, {"closed_on": "2026-11-24", "reason": "RC8"})
    episode.refresh_from_db()
    assert (episode.closed_on, episode.referral_nfa) == (TUESDAY, True)
