"""What a policy's rules must be before they can be published: each problem named by its key."""

import copy

import pytest

from safehub.risk import rag
from safehub.risk.policy import DEFAULT_RULES, RULE_PARAMS, policy_rules_validate


def rules_with(change) -> dict:
    rules = copy.deepcopy(DEFAULT_RULES)
    change(rules)
    return rules


def test_the_default_rules_are_valid():
    assert policy_rules_validate(DEFAULT_RULES) == []


def test_every_rule_code_of_the_vocabulary_is_implemented():
    assert set(rag.RULES) == set(RULE_PARAMS)


def test_an_unknown_rule_code_is_refused_by_name():
    rules = rules_with(lambda r: r["rag"]["red"].append({"code": "moon_is_full"}))
    [problem] = policy_rules_validate(rules)
    assert problem.startswith("rag.red[6].code: unknown rule code 'moon_is_full'")


def test_a_rule_without_a_code_is_refused():
    rules = rules_with(lambda r: r["rag"]["amber"].insert(0, {"grade": "high"}))
    assert policy_rules_validate(rules)[0].startswith("rag.amber[0].code: unknown rule code None")


def test_a_missing_parameter_is_named():
    rules = rules_with(lambda r: r["rag"]["red"][0].pop("grade"))
    assert policy_rules_validate(rules) == [
        "rag.red[0].grade: missing (officer_grade_at_least needs grade)"
    ]


def test_an_unexpected_parameter_is_named():
    rules = rules_with(lambda r: r["rag"]["red"][3].update(severity="bad"))
    assert policy_rules_validate(rules) == [
        "rag.red[3].severity: child_injured takes no parameter 'severity'"
    ]


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        (
            {"code": "officer_grade_at_least", "grade": "severe"},
            "rag.red[0].grade: must be one of standard, medium, high, not 'severe'",
        ),
        (
            {"code": "dash_yes_at_least", "count": "14"},
            "rag.red[0].count: must be a whole number from 1 to 27, not '14'",
        ),
        (
            {"code": "dash_yes_at_least", "count": True},
            "rag.red[0].count: must be a whole number from 1 to 27, not True",
        ),
        (
            {"code": "dash_yes_at_least", "count": 30},
            "rag.red[0].count: must be a whole number from 1 to 27, not 30",
        ),
        (
            {"code": "earlier_notification_within", "months": 0},
            "rag.red[0].months: must be a whole number from 1 to 120, not 0",
        ),
    ],
)
def test_a_bad_parameter_value_is_named(rule, problem):
    rules = rules_with(lambda r: r["rag"]["red"].__setitem__(0, rule))
    assert problem in policy_rules_validate(rules)


def test_a_backwards_dash_range_is_refused():
    rules = rules_with(lambda r: r["rag"]["amber"][1].update(low=13, high=10))
    assert "rag.amber[1]: low (13) must not be above high (10)" in policy_rules_validate(rules)


def test_dash_rules_that_would_lower_the_rating_for_more_yes_answers_are_refused():
    # Without the red "14 or more", 14 yes answers would fall out of amber's 10-13 into green.
    rules = rules_with(lambda r: r["rag"]["red"].pop(1))
    assert policy_rules_validate(rules) == [
        "rag.amber: 14 DASH yes answers would rate below amber although 13 rate amber or higher "
        "(add a dash_yes_at_least rule)"
    ]


def test_dash_bands_must_have_medium_below_high_within_the_form():
    def change(r):
        r["dash_bands"]["SAFELIVES_RIC_24"] = {"medium": 14, "high": 10}
        r["dash_bands"]["DASH_2009_27"]["high"] = 28

    assert policy_rules_validate(rules_with(change)) == [
        "dash_bands.SAFELIVES_RIC_24: medium (14) must be below high",
        "dash_bands.DASH_2009_27.high: must be a whole number from 1 to 27, not 28",
    ]


def test_dash_bands_for_dara_or_an_unknown_form_are_refused():
    rules = rules_with(lambda r: r["dash_bands"].update(DARA={"medium": 1, "high": 2}))
    assert policy_rules_validate(rules) == [
        "dash_bands.DARA: unknown key (expected SAFELIVES_RIC_24, DASH_2009_27)"
    ]


def test_missing_and_unknown_sections_are_named():
    rules = rules_with(lambda r: (r.pop("marac"), r.update(colour="blue")))
    assert policy_rules_validate(rules) == [
        "rules.marac: missing",
        "rules.colour: unknown key (expected dash_bands, rag, marac, screening)",
    ]


def test_marac_and_screening_numbers_are_checked():
    def change(r):
        r["marac"]["escalation_count"] = 0
        r["screening"]["red_hours"] = 4.5

    assert policy_rules_validate(rules_with(change)) == [
        "marac.escalation_count: must be a whole number from 1 to 100, not 0",
        "screening.red_hours: must be a whole number from 1 to 72, not 4.5",
    ]


def test_green_may_not_be_screened_sooner_than_amber():
    rules = rules_with(lambda r: r["screening"].update(amber_working_days=3, green_working_days=1))
    assert policy_rules_validate(rules) == [
        "screening.green_working_days: must not be shorter than amber's"
    ]


def test_rules_that_are_not_an_object_are_refused():
    assert policy_rules_validate([1, 2]) == ["rules: must be an object"]
    assert policy_rules_validate({**DEFAULT_RULES, "rag": {"red": {}, "amber": []}}) == [
        "rag.red: must be a list of rules"
    ]


def test_escalation_thresholds_are_percentages_and_the_worker_is_warned_first():
    good = {**DEFAULT_RULES, "clocks": {"escalate_worker_at_percent": 60}}
    assert policy_rules_validate(good) == []
    late_worker = {
        **DEFAULT_RULES,
        "clocks": {"escalate_worker_at_percent": 90, "escalate_manager_at_percent": 80},
    }
    assert policy_rules_validate(late_worker) == [
        "clocks.escalate_manager_at_percent: must be later than escalate_worker_at_percent "
        "(the worker is warned first)"
    ]
    too_far = {**DEFAULT_RULES, "clocks": {"escalate_manager_at_percent": 100}}
    assert [e.split(":")[0] for e in policy_rules_validate(too_far)] == [
        "clocks.escalate_manager_at_percent"
    ]
    flag = {**DEFAULT_RULES, "clocks": {"strategy_discussion_red_same_day": "yes"}}
    assert policy_rules_validate(flag) == [
        "clocks.strategy_discussion_red_same_day: must be true or false"
    ]


def test_the_escalation_thresholds_come_from_the_policy(reference):
    """A policy that warns at 50% and 80%: a four-hour clock warns its worker after two hours."""
    import datetime as dt

    from safehub.referrals.escalation import escalation_due_at
    from safehub.timescales.models import Clock

    start = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
    clock = Clock(started_at=start, due_at=start + dt.timedelta(hours=4))
    rules = {
        **DEFAULT_RULES,
        "clocks": {"escalate_worker_at_percent": 50, "escalate_manager_at_percent": 80},
    }
    assert escalation_due_at(clock, "worker", rules=rules) == start + dt.timedelta(hours=2)
    assert escalation_due_at(clock, "manager", rules=rules) == start + dt.timedelta(minutes=192)
    assert escalation_due_at(clock, "head_of_service", rules=rules) == clock.due_at
    defaults = escalation_due_at(clock, "worker", rules=DEFAULT_RULES)
    assert defaults == start + dt.timedelta(hours=3)
