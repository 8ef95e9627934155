"""How the rules combine: the first level that matches wins, all its reasons are listed, and
nothing ever lowers a level."""

from safehub.risk.rag import ChildFacts, rag_rate

from .conftest import dash, make_policy


def rate(policy, **facts):
    return rag_rate(facts=ChildFacts(**facts), policy=policy)


def test_red_wins_over_amber_and_lists_no_amber_reason(policy):
    result = rate(policy, officer_grade="standard", injured=True, present=True, open_case=True)
    assert result.rag == "red"
    assert result.reasons == ["The child was injured"]


def test_every_matching_reason_of_the_winning_level_is_listed_in_policy_order(policy):
    result = rate(
        policy,
        officer_grade="high",
        dash=dash(16, instrument="DASH_2009_27"),
        professional_judgement=True,
        injured=True,
        unborn=False,
        age_years=0,
        child_protection_plan=True,
    )
    assert result.rag == "red"
    assert result.reasons == [
        "Officer graded the risk high",
        "DASH: 16 yes answers (14 or more is high risk)",
        "The officer raised the risk on professional judgement",
        "The child was injured",
        "The child is under one year old (or unborn) and the officer graded the risk high",
        "The child is already subject of a child protection plan",
    ]


def test_every_matching_amber_reason_is_listed(policy):
    result = rate(
        policy,
        officer_grade="medium",
        dash=dash(12),
        present=True,
        witnessed=True,
        earlier_notifications_12m=2,
        open_case=True,
    )
    assert result.rag == "amber"
    assert result.reasons == [
        "Officer graded the risk medium",
        "DASH: 12 yes answers (10 to 13 is medium risk)",
        "The child was present at or witnessed the incident",
        "Police notified us about this child or the same victim 2 times in the last 12 months",
        "The child has an open children's social care case",
    ]


def test_the_order_of_the_levels_is_fixed_whatever_the_rules_say():
    # Amber's rule would match too, but red is tried first.
    policy = make_policy(
        rag={
            "red": [{"code": "open_case"}],
            "amber": [{"code": "officer_grade_at_least", "grade": "standard"}],
        }
    )
    assert rate(policy, officer_grade="standard", open_case=True).rag == "red"
    assert rate(policy, officer_grade="standard").rag == "amber"


def test_a_dash_band_higher_than_the_officer_grade_raises_the_rating(policy):
    result = rate(policy, officer_grade="standard", dash=dash(15))
    assert (result.rag, result.reasons) == (
        "red",
        ["DASH: 15 yes answers (14 or more is high risk)"],
    )
    assert rate(policy, officer_grade="standard", dash=dash(10)).rag == "amber"


def test_an_officer_grade_higher_than_the_dash_band_stands(policy):
    result = rate(policy, officer_grade="high", dash=dash(2))
    assert (result.rag, result.reasons) == ("red", ["Officer graded the risk high"])
    assert rate(policy, officer_grade="medium", dash=dash(0)).rag == "amber"


def test_more_yes_answers_never_give_a_lower_rating(policy):
    order = {"green": 0, "amber": 1, "red": 2}
    for grade in ("standard", "medium", "high"):
        ratings = [order[rate(policy, officer_grade=grade, dash=dash(y)).rag] for y in range(25)]
        assert ratings == sorted(ratings), grade


def test_adding_a_fact_never_lowers_the_rating(policy):
    order = {"green": 0, "amber": 1, "red": 2}
    base = {"officer_grade": "medium", "age_years": 5}
    flags = [
        {"professional_judgement": True},
        {"injured": True},
        {"unborn": True},
        {"present": True},
        {"witnessed": True},
        {"earlier_notifications_12m": 1},
        {"open_case": True},
        {"child_protection_plan": True},
        {"officer_grade": "high"},
    ]
    before = order[rate(policy, **base).rag]
    for flag in flags:
        assert order[rate(policy, **{**base, **flag}).rag] >= before, flag


def test_dara_has_no_dash_score_and_relies_on_the_officer_grade(policy):
    assert rate(policy, officer_grade="high", dash=None).reasons == ["Officer graded the risk high"]
    assert rate(policy, officer_grade="medium", dash=None).rag == "amber"
    assert rate(policy, officer_grade="standard", dash=None).rag == "green"
