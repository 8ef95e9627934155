"""DASH scoring (statutory.md §2.1-2.3): the yes-count over the answered questions, "not known"
kept apart from "no", and the band by the policy's thresholds for that instrument. DARA is not
scored: the officer's grade is the assessment (§2.4)."""

from collections.abc import Mapping
from dataclasses import dataclass

from safehub.risk.models import TriagePolicy
from safehub.risk.policy import DASH_INSTRUMENTS

DARA = "DARA"


@dataclass(frozen=True)
class DashScore:
    instrument: str
    yes: int
    no: int
    not_known: int
    asked: int  # questions answered (yes, no or not known); a missing key was not asked
    band: str  # standard, medium or high

    @property
    def questions(self) -> int:
        return DASH_INSTRUMENTS[self.instrument]


def dash_band(*, instrument: str, yes: int, policy: TriagePolicy) -> str:
    """standard, medium or high for `yes` answers by the instrument's thresholds."""
    thresholds = policy.rules["dash_bands"][instrument]
    if yes >= thresholds["high"]:
        return "high"
    if yes >= thresholds["medium"]:
        return "medium"
    return "standard"


def dash_score(
    *, instrument: str, answers: Mapping[str, str] | None, policy: TriagePolicy
) -> DashScore | None:
    """The DASH score, or None for DARA."""
    if instrument == DARA:
        return None
    if instrument not in DASH_INSTRUMENTS:
        raise ValueError(f"unknown risk instrument {instrument!r}")
    counts = {"yes": 0, "no": 0, "not_known": 0}
    for key, answer in (answers or {}).items():
        if answer not in counts:
            raise ValueError(f"DASH answer {key}: {answer!r} is not yes, no or not_known")
        counts[answer] += 1
    return DashScore(
        instrument=instrument,
        yes=counts["yes"],
        no=counts["no"],
        not_known=counts["not_known"],
        asked=sum(counts.values()),
        band=dash_band(instrument=instrument, yes=counts["yes"], policy=policy),
    )
