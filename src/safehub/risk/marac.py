"""The MARAC referral criteria for the adult victim of a notification (statutory.md §2.3, issue 3
item 7). Each criterion met comes with its evidence, for the person who confirms the referral.
Thresholds are the policy's `marac` section."""

import datetime as dt
from dataclasses import dataclass

from safehub.core import clock
from safehub.core.clock import LONDON
from safehub.risk.models import TriagePolicy
from safehub.risk.scoring import DashScore
from safehub.timescales.calendar import add_calendar_months

CRITERIA = ("visible_high_risk", "professional_judgement", "potential_escalation", "repeat")


@dataclass(frozen=True)
class MaracCriterion:
    code: str  # one of CRITERIA
    evidence: str


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def marac_criteria(
    *,
    dash: DashScore | None,
    officer_grade: str,
    professional_judgement: bool,
    notifications_same_victim_12m: int,
    same_pair_since_last_marac: int | None,
    last_marac_referral: dt.date | None,
    policy: TriagePolicy,
    officer_rationale: str | None = None,
    notified_on: dt.date | None = None,
) -> list[MaracCriterion]:
    """The criteria met, in the order of CRITERIA.

    - `notifications_same_victim_12m`: notifications for the same victim in the policy's
      escalation window (12 months by default), this one included.
    - `same_pair_since_last_marac`: notifications for the same victim and suspect since their
      last MARAC referral, this one included; None when the pair was never referred.
    - `notified_on`: the London date of this notification (default today).
    """
    thresholds = policy.rules["marac"]
    met: list[MaracCriterion] = []

    high_yes = thresholds["visible_high_risk_yes"]
    if dash is not None and dash.yes >= high_yes:
        answers = _plural(dash.yes, "yes answer")
        met.append(
            MaracCriterion(
                "visible_high_risk",
                f"DASH: {answers} ({high_yes} or more is visible high risk)",
            )
        )

    judgement = []
    if officer_grade == "high":
        judgement.append("Officer graded the risk high")
    if professional_judgement:
        judgement.append("The officer raised the risk on professional judgement")
    if judgement:
        evidence = "; ".join(judgement)
        if officer_rationale:
            evidence += f". Officer's rationale: {officer_rationale}"
        met.append(MaracCriterion("professional_judgement", evidence))

    count, months = thresholds["escalation_count"], thresholds["escalation_months"]
    if notifications_same_victim_12m >= count:
        met.append(
            MaracCriterion(
                "potential_escalation",
                f"{_plural(notifications_same_victim_12m, 'police notification')} for the same "
                f"victim in the last {months} months, this one included ({count} or more "
                "suggests escalation)",
            )
        )

    if last_marac_referral is not None and same_pair_since_last_marac:
        today = notified_on or clock.now().astimezone(LONDON).date()
        window = thresholds["repeat_months"]
        if last_marac_referral <= today <= add_calendar_months(last_marac_referral, window):
            referred = f"{last_marac_referral.day} {last_marac_referral:%B %Y}"
            met.append(
                MaracCriterion(
                    "repeat",
                    f"{_plural(same_pair_since_last_marac, 'police notification')} for the same "
                    "victim and suspect since their last MARAC referral on "
                    f"{referred}, this one included (within {window} "
                    "months of it is a repeat)",
                )
            )
    return met
