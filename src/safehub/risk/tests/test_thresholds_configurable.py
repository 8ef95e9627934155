"""Every threshold is the policy's, not the code's: change the data, the outcome follows."""

import datetime as dt

from safehub.risk.marac import marac_criteria
from safehub.risk.rag import ChildFacts, earlier_notification_months, rag_rate, rag_screening_due
from safehub.risk.scoring import dash_score

from .conftest import dash, make_policy


def test_dash_bands_follow_the_policy():
    policy = make_policy(
        dash_bands={
            "SAFELIVES_RIC_24": {"medium": 5, "high": 8},
            "DASH_2009_27": {"medium": 10, "high": 14},
        }
    )
    answers = {str(n): "yes" for n in range(1, 9)}
    assert dash_score(instrument="SAFELIVES_RIC_24", answers=answers, policy=policy).band == "high"


def test_red_dash_threshold_follows_the_policy():
    policy = make_policy(
        rag={
            "red": [{"code": "dash_yes_at_least", "count": 12}],
            "amber": [{"code": "dash_yes_between", "low": 8, "high": 11}],
        }
    )
    result = rag_rate(facts=ChildFacts(officer_grade="standard", dash=dash(12)), policy=policy)
    assert (result.rag, result.reasons) == (
        "red",
        ["DASH: 12 yes answers (12 or more is high risk)"],
    )
    result = rag_rate(facts=ChildFacts(officer_grade="standard", dash=dash(8)), policy=policy)
    assert (result.rag, result.reasons) == (
        "amber",
        ["DASH: 8 yes answers (8 to 11 is medium risk)"],
    )


def test_a_rule_can_move_between_levels():
    policy = make_policy(
        rag={
            "red": [{"code": "child_present_or_witnessed"}],
            "amber": [{"code": "child_injured"}],
        }
    )
    assert (
        rag_rate(facts=ChildFacts(officer_grade="standard", witnessed=True), policy=policy).rag
        == "red"
    )
    assert (
        rag_rate(facts=ChildFacts(officer_grade="standard", injured=True), policy=policy).rag
        == "amber"
    )


def test_the_under_one_rule_takes_its_grade_from_the_policy():
    policy = make_policy(
        rag={
            "red": [{"code": "child_under_one_and_grade", "grade": "standard"}],
            "amber": [],
        }
    )
    result = rag_rate(facts=ChildFacts(officer_grade="standard", unborn=True), policy=policy)
    assert result.reasons == [
        "The child is under one year old (or unborn) and the officer graded the risk standard"
    ]


def test_the_earlier_notification_window_follows_the_policy():
    policy = make_policy(
        rag={"red": [], "amber": [{"code": "earlier_notification_within", "months": 6}]}
    )
    assert earlier_notification_months(policy) == 6
    result = rag_rate(
        facts=ChildFacts(officer_grade="standard", earlier_notifications_12m=2), policy=policy
    )
    assert result.reasons == [
        "Police notified us about this child or the same victim 2 times in the last 6 months"
    ]


def test_no_earlier_notification_window_when_no_rule_asks(policy):
    policy.rules["rag"]["amber"] = [{"code": "open_case"}]
    assert earlier_notification_months(policy) is None


def test_the_rating_names_the_version_that_made_it():
    result = rag_rate(facts=ChildFacts(officer_grade="high"), policy=make_policy(version=7))
    assert result.policy_version == 7


def test_marac_thresholds_follow_the_policy():
    policy = make_policy(
        marac={
            "visible_high_risk_yes": 12,
            "escalation_count": 5,
            "escalation_months": 6,
            "repeat_months": 3,
        }
    )

    def codes(**kwargs):
        args = {
            "dash": dash(12),
            "officer_grade": "standard",
            "professional_judgement": False,
            "notifications_same_victim_12m": 4,
            "same_pair_since_last_marac": 1,
            "last_marac_referral": dt.date(2026, 1, 10),
            "notified_on": dt.date(2026, 4, 10),
            "policy": policy,
        }
        return [c.code for c in marac_criteria(**{**args, **kwargs})]

    assert codes() == ["visible_high_risk", "repeat"]
    assert codes(notifications_same_victim_12m=5) == [
        "visible_high_risk",
        "potential_escalation",
        "repeat",
    ]
    assert codes(notified_on=dt.date(2026, 4, 11)) == ["visible_high_risk"]
    [escalation] = marac_criteria(
        dash=None,
        officer_grade="standard",
        professional_judgement=False,
        notifications_same_victim_12m=5,
        same_pair_since_last_marac=None,
        last_marac_referral=None,
        policy=policy,
    )
    assert escalation.evidence == (
        "5 police notifications for the same victim in the last 6 months, this one included "
        "(5 or more suggests escalation)"
    )


# Screening deadlines: received late on Friday 20 Nov 2026 (GMT in London).
RECEIVED = dt.datetime(2026, 11, 20, 23, 40, tzinfo=dt.UTC)  # Friday night


def test_default_screening_deadlines(db, policy):
    assert rag_screening_due(rag="red", received_at=RECEIVED, policy=policy) == dt.datetime(
        2026, 11, 21, 3, 40, tzinfo=dt.UTC
    )
    # Amber: end of the 1st working day after Friday = Monday 23:59:59 London (GMT).
    assert rag_screening_due(rag="amber", received_at=RECEIVED, policy=policy) == dt.datetime(
        2026, 11, 23, 23, 59, 59, tzinfo=dt.UTC
    )
    assert rag_screening_due(rag="green", received_at=RECEIVED, policy=policy) == dt.datetime(
        2026, 11, 25, 23, 59, 59, tzinfo=dt.UTC
    )


def test_screening_deadlines_follow_the_policy(db):
    policy = make_policy(
        screening={"red_hours": 2, "amber_working_days": 2, "green_working_days": 5}
    )
    assert rag_screening_due(rag="red", received_at=RECEIVED, policy=policy) == dt.datetime(
        2026, 11, 21, 1, 40, tzinfo=dt.UTC
    )
    assert rag_screening_due(rag="amber", received_at=RECEIVED, policy=policy) == dt.datetime(
        2026, 11, 24, 23, 59, 59, tzinfo=dt.UTC
    )
    assert rag_screening_due(rag="green", received_at=RECEIVED, policy=policy) == dt.datetime(
        2026, 11, 27, 23, 59, 59, tzinfo=dt.UTC
    )
