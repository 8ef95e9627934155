"""The RAG rating of a child's contact, by the policy's rules (issue 3, item 2).

The first level with a matching rule wins (red, then amber; green otherwise), and every rule of
that level that matches gives its reason, in words a social worker reads. Every rule is an
"at least" test, so more risk never gives a lower rating: a DASH band above the officer's grade
raises the rating, an officer's grade above the DASH band stands (statutory.md §2.3: "other factors
may increase risk level, but will not reduce it"). policy_rules_validate refuses DASH rules that
would break this.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from safehub.core.clock import LONDON
from safehub.intake.validation import NotificationBody, Person
from safehub.risk.models import TriagePolicy
from safehub.risk.policy import GRADES, grade_rank
from safehub.risk.scoring import DashScore, dash_score
from safehub.timescales.calendar import working_days_due

GREEN_REASON = "None of the red or amber rules applies"
_LEVEL_RISK = {"red": "high risk", "amber": "medium risk"}


@dataclass(frozen=True)
class ChildFacts:
    """What the rules look at for one child of one notification."""

    officer_grade: str
    dash: DashScore | None = None
    professional_judgement: bool = False
    injured: bool = False
    unborn: bool = False
    age_years: int | None = None  # at the incident; None when unborn or unknown
    present: bool = False
    witnessed: bool = False
    # Earlier notifications (this one not included) about this child or the same victim, counted
    # over the window the policy asks for: see earlier_notification_months().
    earlier_notifications_12m: int = 0
    open_case: bool = False
    child_protection_plan: bool = False

    def __post_init__(self) -> None:
        if self.officer_grade not in GRADES:
            raise ValueError(f"officer_grade must be one of {GRADES}, not {self.officer_grade!r}")

    @property
    def under_one(self) -> bool:
        return self.unborn or (self.age_years is not None and self.age_years < 1)


@dataclass(frozen=True)
class RagResult:
    rag: str  # red, amber or green
    reasons: list[str]
    policy_version: int


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _officer_grade_at_least(facts: ChildFacts, rule: dict[str, Any], level: str) -> str | None:
    if grade_rank(facts.officer_grade) >= grade_rank(rule["grade"]):
        return f"Officer graded the risk {facts.officer_grade}"
    return None


def _dash_yes_at_least(facts: ChildFacts, rule: dict[str, Any], level: str) -> str | None:
    if facts.dash is not None and facts.dash.yes >= rule["count"]:
        answers = _plural(facts.dash.yes, "yes answer")
        return f"DASH: {answers} ({rule['count']} or more is {_LEVEL_RISK[level]})"
    return None


def _dash_yes_between(facts: ChildFacts, rule: dict[str, Any], level: str) -> str | None:
    if facts.dash is not None and rule["low"] <= facts.dash.yes <= rule["high"]:
        answers = _plural(facts.dash.yes, "yes answer")
        return f"DASH: {answers} ({rule['low']} to {rule['high']} is {_LEVEL_RISK[level]})"
    return None


def _professional_judgement(facts: ChildFacts, rule: dict[str, Any], level: str) -> str | None:
    if facts.professional_judgement:
        return "The officer raised the risk on professional judgement"
    return None


def _child_injured(facts: ChildFacts, rule: dict[str, Any], level: str) -> str | None:
    return "The child was injured" if facts.injured else None


def _child_under_one_and_grade(facts: ChildFacts, rule: dict[str, Any], level: str) -> str | None:
    # The grade is the higher of the officer's and the DASH band: a DASH band cannot be outranked
    # by a lower officer grade.
    if not facts.under_one:
        return None
    wanted = grade_rank(rule["grade"])
    child = "The child is under one year old (or unborn)"
    if grade_rank(facts.officer_grade) >= wanted:
        return f"{child} and the officer graded the risk {facts.officer_grade}"
    if facts.dash is not None and grade_rank(facts.dash.band) >= wanted:
        answers = _plural(facts.dash.yes, "yes answer")
        return f"{child} and DASH puts the risk at {facts.dash.band} ({answers})"
    return None


def _child_protection_plan(facts: ChildFacts, rule: dict[str, Any], level: str) -> str | None:
    if facts.child_protection_plan:
        return "The child is already subject of a child protection plan"
    return None


def _child_present_or_witnessed(facts: ChildFacts, rule: dict[str, Any], level: str) -> str | None:
    if facts.present or facts.witnessed:
        return "The child was present at or witnessed the incident"
    return None


def _earlier_notification_within(facts: ChildFacts, rule: dict[str, Any], level: str) -> str | None:
    n = facts.earlier_notifications_12m
    if n >= 1:
        return (
            "Police notified us about this child or the same victim "
            f"{_plural(n, 'time')} in the last {rule['months']} months"
        )
    return None


def _open_case(facts: ChildFacts, rule: dict[str, Any], level: str) -> str | None:
    return "The child has an open children's social care case" if facts.open_case else None


Rule = Callable[[ChildFacts, dict[str, Any], str], str | None]

# One function per code of policy.RULE_PARAMS; test_policy checks that the two lists agree.
RULES: dict[str, Rule] = {
    "officer_grade_at_least": _officer_grade_at_least,
    "dash_yes_at_least": _dash_yes_at_least,
    "dash_yes_between": _dash_yes_between,
    "professional_judgement": _professional_judgement,
    "child_injured": _child_injured,
    "child_under_one_and_grade": _child_under_one_and_grade,
    "child_protection_plan": _child_protection_plan,
    "child_present_or_witnessed": _child_present_or_witnessed,
    "earlier_notification_within": _earlier_notification_within,
    "open_case": _open_case,
}


def rag_rate(*, facts: ChildFacts, policy: TriagePolicy) -> RagResult:
    """Red, amber or green for one child, with every reason of the winning level."""
    for level in ("red", "amber"):
        reasons = []
        for rule in policy.rules["rag"][level]:
            reason = RULES[rule["code"]](facts, rule, level)
            if reason is not None:
                reasons.append(reason)
        if reasons:
            return RagResult(rag=level, reasons=reasons, policy_version=policy.version)
    return RagResult(rag="green", reasons=[GREEN_REASON], policy_version=policy.version)


def earlier_notification_months(policy: TriagePolicy) -> int | None:
    """Over how many months to count ChildFacts.earlier_notifications_12m for this policy (12 in
    the default), or None when no rule looks at earlier notifications."""
    months = [
        rule["months"]
        for level in ("red", "amber")
        for rule in policy.rules["rag"][level]
        if rule["code"] == "earlier_notification_within"
    ]
    return max(months) if months else None


def age_at(*, date_of_birth: dt.date, on: dt.date) -> int:
    """Whole years of age on `on` (0 for a child born after it)."""
    years = (
        on.year
        - date_of_birth.year
        - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))
    )
    return max(years, 0)


def child_facts_from_notification(
    *,
    notification: NotificationBody,
    child: Person,
    policy: TriagePolicy,
    earlier_notifications_12m: int = 0,
    open_case: bool = False,
    child_protection_plan: bool = False,
) -> ChildFacts:
    """The facts about `child` that the notification itself gives; what only safehub's records
    know (earlier notifications, an open case, a plan) the caller passes in."""
    risk = notification.risk
    incident_day = notification.occurred_at.astimezone(LONDON).date()
    if child.unborn:
        age: int | None = None
    elif child.date_of_birth is not None:
        age = age_at(date_of_birth=child.date_of_birth, on=incident_day)
    else:
        age = child.age_estimate
    return ChildFacts(
        officer_grade=risk.officer_grade,
        dash=dash_score(instrument=risk.instrument, answers=risk.answers, policy=policy),
        professional_judgement=risk.professional_judgement,
        injured=bool(child.injured),
        unborn=child.unborn,
        age_years=age,
        present=bool(child.present_at_incident),
        witnessed=bool(child.witnessed),
        earlier_notifications_12m=earlier_notifications_12m,
        open_case=open_case,
        child_protection_plan=child_protection_plan,
    )


def rag_screening_due(*, rag: str, received_at: dt.datetime, policy: TriagePolicy) -> dt.datetime:
    """When a contact rated `rag` must be screened under `policy`: red a number of hours after
    receipt, amber and green by the end of the n-th working day after the London day of receipt.
    """
    if received_at.tzinfo is None:
        raise ValueError("received_at must be aware")
    screening = policy.rules["screening"]
    if rag == "red":
        return received_at.astimezone(dt.UTC) + dt.timedelta(hours=screening["red_hours"])
    if rag in ("amber", "green"):
        return working_days_due(received_at, screening[f"{rag}_working_days"])
    raise ValueError(f"unknown RAG rating {rag!r}: expected red, amber or green")
