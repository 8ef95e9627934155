import copy

import pytest

from safehub.risk.models import TriagePolicy
from safehub.risk.policy import DEFAULT_RULES
from safehub.risk.scoring import DashScore


def make_policy(version: int = 1, **sections) -> TriagePolicy:
    """An unsaved policy: the default rules with whole sections replaced."""
    rules = copy.deepcopy(DEFAULT_RULES)
    rules.update(copy.deepcopy(sections))
    return TriagePolicy(version=version, rules=rules)


def dash(yes: int, *, instrument: str = "SAFELIVES_RIC_24", band: str | None = None) -> DashScore:
    """A DASH score with `yes` yes answers; the rest no. Band by the default thresholds."""
    questions = 24 if instrument == "SAFELIVES_RIC_24" else 27
    if band is None:
        band = "high" if yes >= 14 else "medium" if yes >= 10 else "standard"
    return DashScore(
        instrument=instrument, yes=yes, no=questions - yes, not_known=0, asked=questions, band=band
    )


@pytest.fixture
def policy() -> TriagePolicy:
    return make_policy()
