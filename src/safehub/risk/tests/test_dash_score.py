"""DASH scoring: yes-count over answered items, "not known" apart from "no", bands by the
instrument's thresholds, nothing for DARA."""

import pytest

from safehub.risk.scoring import dash_score

from .conftest import make_policy


def answers(yes: int, no: int = 0, not_known: int = 0) -> dict[str, str]:
    values = ["yes"] * yes + ["no"] * no + ["not_known"] * not_known
    return {str(n): value for n, value in enumerate(values, start=1)}


def test_yes_count_is_over_answered_items_only(policy):
    score = dash_score(instrument="SAFELIVES_RIC_24", answers=answers(5, 3), policy=policy)
    assert (score.yes, score.no, score.not_known, score.asked) == (5, 3, 0, 8)


def test_not_known_is_kept_apart_from_no(policy):
    score = dash_score(instrument="DASH_2009_27", answers=answers(2, 10, 4), policy=policy)
    assert (score.yes, score.no, score.not_known, score.asked) == (2, 10, 4, 16)


def test_no_answers_is_zero_yes_and_standard(policy):
    for empty in (None, {}):
        score = dash_score(instrument="SAFELIVES_RIC_24", answers=empty, policy=policy)
        assert (score.yes, score.asked, score.band) == (0, 0, "standard")


@pytest.mark.parametrize(
    ("yes", "band"),
    [
        (0, "standard"),
        (1, "standard"),
        (9, "standard"),
        (10, "medium"),
        (13, "medium"),
        (14, "high"),
        (24, "high"),
    ],
)
def test_bands_are_1_to_9_standard_10_to_13_medium_14_and_over_high(policy, yes, band):
    score = dash_score(instrument="SAFELIVES_RIC_24", answers=answers(yes), policy=policy)
    assert score.band == band


def test_the_27_question_form_has_the_same_default_bands(policy):
    score = dash_score(instrument="DASH_2009_27", answers=answers(14, 13), policy=policy)
    assert (score.instrument, score.yes, score.band, score.questions) == (
        "DASH_2009_27",
        14,
        "high",
        27,
    )


def test_dara_gives_no_dash_score(policy):
    assert dash_score(instrument="DARA", answers=None, policy=policy) is None


def test_bands_follow_each_instruments_own_thresholds():
    policy = make_policy(
        dash_bands={
            "SAFELIVES_RIC_24": {"medium": 8, "high": 12},
            "DASH_2009_27": {"medium": 10, "high": 14},
        }
    )
    ric = dash_score(instrument="SAFELIVES_RIC_24", answers=answers(12), policy=policy)
    acpo = dash_score(instrument="DASH_2009_27", answers=answers(12), policy=policy)
    assert (ric.band, acpo.band) == ("high", "medium")


def test_an_answer_that_is_not_yes_no_or_not_known_is_refused(policy):
    with pytest.raises(ValueError, match="maybe"):
        dash_score(instrument="SAFELIVES_RIC_24", answers={"1": "maybe"}, policy=policy)


def test_an_unknown_instrument_is_refused(policy):
    with pytest.raises(ValueError, match="unknown risk instrument"):
        dash_score(instrument="DASH_1999", answers={}, policy=policy)
