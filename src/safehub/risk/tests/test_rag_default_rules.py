"""Each rule of the shipped default, alone: the rating it gives and the words it gives it in."""

import pytest

from safehub.risk.rag import GREEN_REASON, ChildFacts, rag_rate

from .conftest import dash


def rate(policy, **facts):
    facts.setdefault("officer_grade", "standard")
    return rag_rate(facts=ChildFacts(**facts), policy=policy)


# Red


def test_red_when_officer_graded_the_risk_high(policy):
    result = rate(policy, officer_grade="high")
    assert (result.rag, result.reasons) == ("red", ["Officer graded the risk high"])


def test_red_when_dash_has_14_or_more_yes_answers(policy):
    result = rate(policy, dash=dash(16))
    assert (result.rag, result.reasons) == (
        "red",
        ["DASH: 16 yes answers (14 or more is high risk)"],
    )


def test_red_at_exactly_14_yes_answers(policy):
    assert rate(policy, dash=dash(14)).rag == "red"


def test_red_on_professional_judgement(policy):
    result = rate(policy, professional_judgement=True)
    assert (result.rag, result.reasons) == (
        "red",
        ["The officer raised the risk on professional judgement"],
    )


def test_red_when_the_child_was_injured(policy):
    result = rate(policy, injured=True)
    assert (result.rag, result.reasons) == ("red", ["The child was injured"])


def test_red_when_the_child_is_under_one_and_the_officer_graded_medium(policy):
    result = rate(policy, officer_grade="medium", age_years=0)
    assert result.rag == "red"
    assert result.reasons == [
        "The child is under one year old (or unborn) and the officer graded the risk medium"
    ]


def test_red_when_the_child_is_unborn_and_the_officer_graded_medium(policy):
    result = rate(policy, officer_grade="medium", unborn=True)
    assert result.rag == "red"
    assert result.reasons == [
        "The child is under one year old (or unborn) and the officer graded the risk medium"
    ]


def test_under_one_with_a_standard_grade_is_not_red(policy):
    assert rate(policy, officer_grade="standard", unborn=True).rag == "green"
    assert rate(policy, officer_grade="standard", age_years=0).rag == "green"


def test_a_one_year_old_with_a_medium_grade_is_amber_not_red(policy):
    result = rate(policy, officer_grade="medium", age_years=1)
    assert (result.rag, result.reasons) == ("amber", ["Officer graded the risk medium"])


def test_a_child_of_unknown_age_is_not_taken_for_under_one(policy):
    assert rate(policy, officer_grade="medium", age_years=None).rag == "amber"


def test_under_one_and_a_medium_dash_band_is_red_even_with_a_standard_officer_grade(policy):
    # Nothing lowers a level: the DASH band counts as the grade when it is the higher one.
    result = rate(policy, officer_grade="standard", age_years=0, dash=dash(11))
    assert result.rag == "red"
    assert result.reasons == [
        "The child is under one year old (or unborn) and DASH puts the risk at medium "
        "(11 yes answers)"
    ]


def test_red_when_the_child_is_already_subject_of_a_child_protection_plan(policy):
    result = rate(policy, child_protection_plan=True)
    assert (result.rag, result.reasons) == (
        "red",
        ["The child is already subject of a child protection plan"],
    )


# Amber


def test_amber_when_officer_graded_the_risk_medium(policy):
    result = rate(policy, officer_grade="medium")
    assert (result.rag, result.reasons) == ("amber", ["Officer graded the risk medium"])


@pytest.mark.parametrize("yes", [10, 11, 13])
def test_amber_when_dash_has_10_to_13_yes_answers(policy, yes):
    result = rate(policy, dash=dash(yes))
    assert (result.rag, result.reasons) == (
        "amber",
        [f"DASH: {yes} yes answers (10 to 13 is medium risk)"],
    )


def test_nine_dash_yes_answers_alone_are_green(policy):
    assert rate(policy, dash=dash(9)).rag == "green"


def test_amber_when_the_child_was_present(policy):
    result = rate(policy, present=True)
    assert (result.rag, result.reasons) == (
        "amber",
        ["The child was present at or witnessed the incident"],
    )


def test_amber_when_the_child_witnessed_the_incident(policy):
    result = rate(policy, witnessed=True)
    assert (result.rag, result.reasons) == (
        "amber",
        ["The child was present at or witnessed the incident"],
    )


def test_amber_after_an_earlier_notification_within_12_months(policy):
    result = rate(policy, earlier_notifications_12m=1)
    assert (result.rag, result.reasons) == (
        "amber",
        ["Police notified us about this child or the same victim 1 time in the last 12 months"],
    )


def test_earlier_notifications_are_counted_in_the_reason(policy):
    result = rate(policy, earlier_notifications_12m=3)
    assert result.reasons == [
        "Police notified us about this child or the same victim 3 times in the last 12 months"
    ]


def test_amber_when_the_child_has_an_open_case(policy):
    result = rate(policy, open_case=True)
    assert (result.rag, result.reasons) == (
        "amber",
        ["The child has an open children's social care case"],
    )


# Green


def test_green_when_no_rule_applies_and_it_says_so(policy):
    result = rate(policy, officer_grade="standard", dash=dash(3), age_years=7)
    assert (result.rag, result.reasons) == ("green", [GREEN_REASON])
    assert GREEN_REASON == "None of the red or amber rules applies"


def test_the_rating_names_the_policy_version(policy):
    assert rate(policy).policy_version == 1


def test_an_unknown_officer_grade_is_refused():
    with pytest.raises(ValueError, match="officer_grade"):
        ChildFacts(officer_grade="very high")
