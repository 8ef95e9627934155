"""The MARAC referral criteria, each with its evidence (statutory.md §2.3)."""

import datetime as dt

import pytest

from safehub.core import clock
from safehub.risk.marac import marac_criteria

from .conftest import dash


def criteria(policy, **kwargs):
    args = {
        "dash": None,
        "officer_grade": "standard",
        "professional_judgement": False,
        "notifications_same_victim_12m": 1,
        "same_pair_since_last_marac": None,
        "last_marac_referral": None,
        "notified_on": dt.date(2026, 11, 20),
        "policy": policy,
    }
    return marac_criteria(**{**args, **kwargs})


def codes(result):
    return [c.code for c in result]


def test_nothing_met_for_a_standard_first_notification(policy):
    assert criteria(policy, dash=dash(3)) == []


def test_visible_high_risk_at_14_yes_answers(policy):
    [met] = criteria(policy, dash=dash(14))
    assert met.code == "visible_high_risk"
    assert met.evidence == "DASH: 14 yes answers (14 or more is visible high risk)"


def test_13_yes_answers_are_not_visible_high_risk(policy):
    assert criteria(policy, dash=dash(13)) == []


def test_visible_high_risk_counts_the_27_question_form_too(policy):
    assert codes(criteria(policy, dash=dash(16, instrument="DASH_2009_27"))) == [
        "visible_high_risk"
    ]


def test_professional_judgement_when_the_officer_graded_high(policy):
    [met] = criteria(policy, officer_grade="high")
    assert (met.code, met.evidence) == ("professional_judgement", "Officer graded the risk high")


def test_professional_judgement_when_the_flag_is_set(policy):
    [met] = criteria(policy, officer_grade="medium", professional_judgement=True)
    assert met.code == "professional_judgement"
    assert met.evidence == "The officer raised the risk on professional judgement"


def test_professional_judgement_evidence_quotes_the_officers_rationale(policy):
    [met] = criteria(policy, officer_grade="high", officer_rationale="Threats to kill.")
    assert met.evidence == "Officer graded the risk high. Officer's rationale: Threats to kill."


def test_a_medium_grade_without_the_flag_is_not_professional_judgement(policy):
    assert criteria(policy, officer_grade="medium") == []


def test_dara_relies_on_the_officer_grade(policy):
    assert codes(criteria(policy, dash=None, officer_grade="high")) == ["professional_judgement"]


def test_potential_escalation_at_three_notifications_in_12_months_this_one_included(policy):
    [met] = criteria(policy, notifications_same_victim_12m=3)
    assert met.code == "potential_escalation"
    assert met.evidence == (
        "3 police notifications for the same victim in the last 12 months, this one included "
        "(3 or more suggests escalation)"
    )


def test_two_notifications_are_not_escalation(policy):
    assert criteria(policy, notifications_same_victim_12m=2) == []


def test_repeat_within_12_months_of_the_last_marac_referral(policy):
    [met] = criteria(
        policy,
        same_pair_since_last_marac=1,
        last_marac_referral=dt.date(2026, 3, 3),
        notified_on=dt.date(2026, 11, 20),
    )
    assert met.code == "repeat"
    assert met.evidence == (
        "1 police notification for the same victim and suspect since their last MARAC referral "
        "on 3 March 2026, this one included (within 12 months of it is a repeat)"
    )


@pytest.mark.parametrize(
    ("notified_on", "is_repeat"),
    [
        (dt.date(2026, 3, 3), True),
        (dt.date(2027, 3, 3), True),  # 12 months to the day
        (dt.date(2027, 3, 4), False),  # after 12 months it is a new referral
        (dt.date(2026, 3, 2), False),  # before the referral
    ],
)
def test_repeat_window_is_12_months_from_the_referral(policy, notified_on, is_repeat):
    result = criteria(
        policy,
        same_pair_since_last_marac=2,
        last_marac_referral=dt.date(2026, 3, 3),
        notified_on=notified_on,
    )
    assert ("repeat" in codes(result)) is is_repeat


def test_no_repeat_without_a_notification_for_the_same_pair(policy):
    for same_pair in (None, 0):
        result = criteria(
            policy, same_pair_since_last_marac=same_pair, last_marac_referral=dt.date(2026, 3, 3)
        )
        assert result == []


def test_no_repeat_for_a_pair_never_referred(policy):
    assert criteria(policy, same_pair_since_last_marac=4, last_marac_referral=None) == []


def test_repeat_is_judged_on_todays_london_date_by_default(policy):
    def repeat_at(now):
        with clock.frozen(now):
            result = marac_criteria(
                dash=None,
                officer_grade="standard",
                professional_judgement=False,
                notifications_same_victim_12m=1,
                same_pair_since_last_marac=1,
                last_marac_referral=dt.date(2025, 6, 1),
                policy=policy,
            )
        return "repeat" in codes(result)

    assert repeat_at(dt.datetime(2026, 6, 1, 22, 30, tzinfo=dt.UTC))  # 23:30 on 1 June in London
    assert not repeat_at(dt.datetime(2026, 6, 1, 23, 30, tzinfo=dt.UTC))  # 2 June in London


def test_all_criteria_are_listed_in_a_fixed_order(policy):
    result = criteria(
        policy,
        dash=dash(20),
        officer_grade="high",
        professional_judgement=True,
        notifications_same_victim_12m=5,
        same_pair_since_last_marac=2,
        last_marac_referral=dt.date(2026, 6, 1),
    )
    assert codes(result) == [
        "visible_high_risk",
        "professional_judgement",
        "potential_escalation",
        "repeat",
    ]
    assert result[1].evidence == (
        "Officer graded the risk high; The officer raised the risk on professional judgement"
    )
