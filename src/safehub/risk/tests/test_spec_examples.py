"""End to end over the spec's example notifications: parsed by intake's validator, scored, rated
and checked for MARAC under the shipped default policy (version 1, as stored by the migration)."""

import datetime as dt

import pytest

from safehub.core.testing import example_bytes
from safehub.intake.validation import validate_notification
from safehub.risk.marac import marac_criteria
from safehub.risk.rag import child_facts_from_notification, rag_rate
from safehub.risk.scoring import dash_score
from safehub.risk.selectors import policy_active

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def parse(name):
    notification, errors = validate_notification(example_bytes(name), now=NOW)
    assert errors == []
    return notification


@pytest.fixture
def policy(db):
    return policy_active()


def assess(notification, policy):
    risk = notification.risk
    score = dash_score(instrument=risk.instrument, answers=risk.answers, policy=policy)
    children = {
        person.ref: rag_rate(
            facts=child_facts_from_notification(
                notification=notification, child=person, policy=policy
            ),
            policy=policy,
        )
        for person in notification.people
        if person.role == "child"
    }
    marac = marac_criteria(
        dash=score,
        officer_grade=risk.officer_grade,
        professional_judgement=risk.professional_judgement,
        notifications_same_victim_12m=1,
        same_pair_since_last_marac=None,
        last_marac_referral=None,
        policy=policy,
        officer_rationale=risk.officer_rationale,
    )
    return score, children, marac


def test_high_risk_example(policy):
    score, children, marac = assess(parse("notification-high-risk.json"), policy)
    # Yes to questions 1, 2, 3, 5, 6, 8, 10, 11, 12, 14, 15, 18, 21, 23, 24 and 26.
    assert (score.instrument, score.yes, score.no, score.not_known, score.asked, score.band) == (
        "DASH_2009_27",
        16,
        11,
        0,
        27,
        "high",
    )
    assert [c.code for c in marac] == ["visible_high_risk", "professional_judgement"]
    assert marac[0].evidence == "DASH: 16 yes answers (14 or more is visible high risk)"
    assert marac[1].evidence == (
        "Officer graded the risk high. Officer's rationale: "
        "Strangulation, escalating frequency, threats to kill."
    )
    assert set(children) == {"C1", "C2"}
    for ref in ("C1", "C2"):
        result = children[ref]
        assert result.rag == "red"
        assert result.policy_version == 1
        assert result.reasons == [
            "Officer graded the risk high",
            "DASH: 16 yes answers (14 or more is high risk)",
        ]


def test_no_children_example(policy):
    score, children, marac = assess(parse("notification-no-children.json"), policy)
    assert (score.instrument, score.yes, score.no, score.not_known, score.band) == (
        "SAFELIVES_RIC_24",
        3,
        21,
        0,
        "standard",
    )
    assert children == {}
    assert marac == []


def test_two_authorities_example(policy):
    score, children, marac = assess(parse("notification-two-authorities.json"), policy)
    assert score is None  # DARA: the officer's medium grade is the assessment
    assert children["C1"].rag == "amber"
    assert children["C1"].reasons == [
        "Officer graded the risk medium",
        "The child was present at or witnessed the incident",
    ]
    assert children["C2"].rag == "amber"
    assert children["C2"].reasons == ["Officer graded the risk medium"]
    assert children["U1"].rag == "red"
    assert children["U1"].reasons == [
        "The child is under one year old (or unborn) and the officer graded the risk medium"
    ]
    assert marac == []


def test_a_childs_age_is_taken_at_the_incident(policy):
    notification = parse("notification-high-risk.json")
    leo = next(p for p in notification.people if p.ref == "C2")
    facts = child_facts_from_notification(notification=notification, child=leo, policy=policy)
    assert (facts.age_years, facts.present, facts.witnessed, facts.under_one) == (
        2,
        True,
        False,
        False,
    )
    baby = leo.model_copy(update={"date_of_birth": dt.date(2025, 11, 21)})
    facts = child_facts_from_notification(notification=notification, child=baby, policy=policy)
    assert (facts.age_years, facts.under_one) == (0, True)
    first_birthday = leo.model_copy(update={"date_of_birth": dt.date(2025, 11, 20)})
    facts = child_facts_from_notification(
        notification=notification, child=first_birthday, policy=policy
    )
    assert facts.age_years == 1


def test_the_age_estimate_stands_when_there_is_no_date_of_birth(policy):
    notification = parse("notification-two-authorities.json")
    maya = next(p for p in notification.people if p.ref == "C2")
    facts = child_facts_from_notification(notification=notification, child=maya, policy=policy)
    assert (facts.age_years, facts.present, facts.unborn) == (14, False, False)
