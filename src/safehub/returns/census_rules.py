"""Our own checks of a children in need census, before the file is written: the DfE validation
rules of statutory.md §4.3, and the few on the child's identifiers that the 2024-25 census added
(4180, 8750, 1570, 1580), that catch a child with no date of birth (8525Q), and 8730
(previous plans: zero or more), on which the schema's erratum rests (census.ERRATA).

Each rule is a small function registered with its DfE number and the DfE's message. It reads one
child as the census reports it (the dataclasses below: the records of the census year, as they
stood on its reference date) and yields, for each failure, the census field and the value that
fails. A rule whose number ends in Q is a DfE *query*: reported, but it does not stop the file
being written (the council answers it in DfE's COLLECT). Every other rule is an error: the
census is not written until it is put right.

The rules mirror the DfE-community validator (data-to-insight csc-validator-be-cin, statutory.md
[S44]); where safehub reads a rule differently it says so at the rule.
"""

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from safehub.casework.codes import NO_FACTORS
from safehub.timescales.calendar import add_working_days

SEX_CODES = ("M", "F", "U")
LA_CHILD_ID_RE = re.compile(r"^[A-Za-z0-9]+$")

# --- The census as the rules read it --------------------------------------------------------------


@dataclass
class CensusAssessment:
    started_on: dt.date
    authorised_on: dt.date | None  # None: open on the reference date
    factors: tuple[str, ...] = ()


@dataclass
class CensusEnquiry:
    started_on: dt.date
    icpc_target: dt.date | None
    icpc_on: dt.date | None  # None: no conference by the reference date
    icpc_not_required: bool = False


@dataclass
class CensusProtectionPlan:
    started_on: dt.date
    ended_on: dt.date | None
    initial_category: str
    latest_category: str
    previous_plans: int
    review_dates: tuple[dt.date, ...] = ()


@dataclass
class CensusCINPlan:
    started_on: dt.date
    ended_on: dt.date | None


@dataclass
class CensusEpisode:
    """One CINdetails: a referral and what followed it in the census year."""

    referral_date: dt.date
    referral_source: str
    primary_need: str
    referral_nfa: bool
    closed_on: dt.date | None = None  # None: open on the reference date
    closure_reason: str = ""
    icpc_on: dt.date | None = None  # CINdetails' own DateOfInitialCPC: safehub records none
    assessments: list[CensusAssessment] = field(default_factory=list)
    cin_plans: list[CensusCINPlan] = field(default_factory=list)
    enquiries: list[CensusEnquiry] = field(default_factory=list)
    plans: list[CensusProtectionPlan] = field(default_factory=list)


@dataclass
class CensusChild:
    child_id: str  # LAchildID
    sex: str  # M, F or U (the census's codes; anything else is reported)
    birth_date: dt.date | None = None
    expected_birth_date: dt.date | None = None
    upn: str = ""
    upn_unknown: str = ""
    ethnicity: str = "NOBT"
    disabilities: tuple[str, ...] = ()
    episodes: list[CensusEpisode] = field(default_factory=list)

    @property
    def unborn(self) -> bool:
        return self.birth_date is None and self.expected_birth_date is not None


@dataclass(frozen=True)
class CensusPeriod:
    """The census year: 1 April to 31 March (the reference date). `as_at` is the day the
    "open too long" queries count back from: the reference date, or today during the year. The
    working-day cut-offs of the queries are counted once here, not once per child."""

    start: dt.date
    reference_date: dt.date
    as_at: dt.date
    nfa_cutoff: dt.date  # 8569Q: one working day before the year starts
    assessment_cutoff: dt.date  # 8670Q: 45 working days before `as_at`
    enquiry_cutoff: dt.date  # 8675Q: 15 working days before `as_at`

    @classmethod
    def of(cls, year: int, today: dt.date | None = None) -> "CensusPeriod":
        start, reference = dt.date(year - 1, 4, 1), dt.date(year, 3, 31)
        as_at = reference if today is None else min(reference, today)
        return cls(
            start=start,
            reference_date=reference,
            as_at=as_at,
            nfa_cutoff=add_working_days(start, -1),
            assessment_cutoff=add_working_days(as_at, -45),
            enquiry_cutoff=add_working_days(as_at, -15),
        )


# --- Problems -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One failure: the rule (a DfE number, or "XSD" for the schema), the child's LAchildID
    (empty for the header), the census field and value, and for schema errors the line of the
    file that would have been written."""

    rule: str
    message: str
    child_id: str = ""
    field: str = ""
    value: str = ""
    line: int | None = None
    blocking: bool = True

    def __str__(self) -> str:
        where = f"child {self.child_id}" if self.child_id else "header"
        if self.line is not None:
            where += f", line {self.line}"
        what = f"{self.field} {self.value!r}" if self.value else self.field
        kind = "error" if self.blocking else "query"
        label = "schema" if self.rule == "XSD" else f"rule {self.rule}"
        return f"{label} ({kind}), {where}: {what}: {self.message}"


# --- The rules ------------------------------------------------------------------------------------

Failures = Iterator[tuple[str, Any]]
Check = Callable[[CensusChild, CensusPeriod], Failures]


@dataclass(frozen=True)
class Rule:
    code: str
    message: str
    check: Check

    @property
    def is_query(self) -> bool:
        return self.code.endswith("Q")


RULES: list[Rule] = []


def rule(code: str, message: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        RULES.append(Rule(code=code, message=message, check=check))
        return check

    return register


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)


def child_problems(child: CensusChild, period: CensusPeriod) -> list[Problem]:
    """Every rule's failures for one child, in rule order."""
    problems = []
    for each in RULES:
        for field_name, value in each.check(child, period):
            problems.append(
                Problem(
                    rule=each.code,
                    message=each.message,
                    child_id=child.child_id,
                    field=field_name,
                    value=_text(value),
                    blocking=not each.is_query,
                )
            )
    return problems


# The child's identifiers.


@rule("1570", "LA Child ID must not be longer than 20 characters")
def _la_child_id_length(child: CensusChild, period: CensusPeriod) -> Failures:
    if len(child.child_id) > 20:
        yield "LAchildID", child.child_id


@rule("1580", "LA Child ID must not contain any non-alphanumeric characters")
def _la_child_id_characters(child: CensusChild, period: CensusPeriod) -> Failures:
    if not LA_CHILD_ID_RE.match(child.child_id):
        yield "LAchildID", child.child_id


@rule("4180", "Sex must be provided and equal M, F, or U")
def _sex_code(child: CensusChild, period: CensusPeriod) -> Failures:
    if child.sex not in SEX_CODES:
        yield "Sex", child.sex


@rule("8750", "Sex must equal U for an unborn child")
def _sex_unborn(child: CensusChild, period: CensusPeriod) -> Failures:
    if child.unborn and child.sex != "U":
        yield "Sex", child.sex


@rule("8525Q", "Either Date of Birth or Expected Date of Birth must be provided (but not both)")
def _birth_date(child: CensusChild, period: CensusPeriod) -> Failures:
    if (child.birth_date is None) == (child.expected_birth_date is None):
        yield "PersonBirthDate", child.birth_date


# Nothing may start before the referral it belongs to.


@rule("1103", "The assessment start date cannot be before the referral date")
def _assessment_before_referral(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        for assessment in episode.assessments:
            if assessment.started_on < episode.referral_date:
                yield "AssessmentActualStartDate", assessment.started_on


@rule(
    "1104", "The date of the initial child protection conference cannot be before the referral date"
)
def _icpc_before_referral(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        for day in _icpc_dates(episode):
            if day < episode.referral_date:
                yield "DateOfInitialCPC", day


@rule("1105", "The child protection plan start date cannot be before the referral date")
def _plan_before_referral(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        for plan in episode.plans:
            if plan.started_on < episode.referral_date:
                yield "CPPstartDate", plan.started_on


@rule("2889", "The S47 start date cannot be before the referral date.")
def _enquiry_before_referral(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        for enquiry in episode.enquiries:
            if enquiry.started_on < episode.referral_date:
                yield "S47ActualStartDate", enquiry.started_on


@rule("4015", "The CIN Plan start date cannot be before the referral date")
def _cin_plan_before_referral(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        for plan in episode.cin_plans:
            if plan.started_on < episode.referral_date:
                yield "CINPlanStartDate", plan.started_on


# Section 47 enquiries, conferences and plans.


def _icpc_dates(episode: CensusEpisode) -> list[dt.date]:
    days = [e.icpc_on for e in episode.enquiries if e.icpc_on is not None]
    if episode.icpc_on is not None:
        days.append(episode.icpc_on)
    return days


@rule(
    "8615",
    "Section 47 Enquiry Start Date must be present and cannot be later than the date of the "
    "initial Child Protection Conference",
)
def _enquiry_after_icpc(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        for enquiry in episode.enquiries:
            if enquiry.icpc_on is not None and enquiry.started_on > enquiry.icpc_on:
                yield "S47ActualStartDate", enquiry.started_on


@rule(
    "2884",
    "An initial child protection conference is recorded at both the S47 and CIN Details level "
    "and it should only be recorded in one",
)
def _icpc_at_one_level(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        if episode.icpc_on is not None and any(e.icpc_on for e in episode.enquiries):
            yield "DateOfInitialCPC", episode.icpc_on


@rule(
    "2885",
    "Child protection plan shown as starting a different day to the initial child protection "
    "conference.",
)
def _plan_starts_at_icpc(child: CensusChild, period: CensusPeriod) -> Failures:
    # As DfE: a plan starting in the census year starts on the day of one of its episode's
    # conferences (an enquiry's, or the episode's own when it has no enquiry).
    for episode in child.episodes:
        conferences = set(_icpc_dates(episode))
        for plan in episode.plans:
            in_year = period.start <= plan.started_on <= period.reference_date
            if in_year and plan.started_on not in conferences:
                yield "CPPstartDate", plan.started_on


@rule("8875", "The Date of Initial Child Protection Conference cannot be a weekend")
def _icpc_weekend(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        for day in _icpc_dates(episode):
            if day.weekday() >= 5:
                yield "DateOfInitialCPC", day


@rule(
    "8870Q",
    "Please check and either amend or provide a reason: The Target Date for Initial Child "
    "Protection Conference should not be a weekend",
)
def _icpc_target_weekend(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        for enquiry in episode.enquiries:
            if enquiry.icpc_target is not None and enquiry.icpc_target.weekday() >= 5:
                yield "InitialCPCtarget", enquiry.icpc_target


@rule("8730", "Total Number of previous Child Protection Plans missing")
def _previous_plans(child: CensusChild, period: CensusPeriod) -> Failures:
    # DfE: present and greater than or equal to zero (the schema's erratum rests on this).
    for episode in child.episodes:
        for plan in episode.plans:
            if plan.previous_plans is None or plan.previous_plans < 0:
                yield "NumberOfPreviousCPP", plan.previous_plans


@rule(
    "8841",
    "The review date cannot be on the same day or before the Child protection Plan start date.",
)
def _review_after_plan_start(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        for plan in episode.plans:
            for day in plan.review_dates:
                if day <= plan.started_on:
                    yield "CPPreviewDate", day


# Assessment factors.


@rule(
    "8614",
    "Parental or child factors at assessment should only be present for a completed assessment.",
)
def _factors_only_when_completed(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        for assessment in episode.assessments:
            if assessment.authorised_on is None and assessment.factors:
                yield "AssessmentFactors", assessment.factors


@rule(
    "8897Q",
    "Parental or child factors at assessment information is missing from a completed assessment",
)
def _factors_when_completed(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        for assessment in episode.assessments:
            authorised = assessment.authorised_on
            if authorised is not None and authorised >= period.start and not assessment.factors:
                yield "AssessmentAuthorisationDate", authorised


@rule(
    "8869",
    "The assessment factors code “21” cannot be used in conjunction with any other assessment "
    "factors.",
)
def _no_factors_alone(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        for assessment in episode.assessments:
            if NO_FACTORS in assessment.factors and len(assessment.factors) > 1:
                yield "AssessmentFactors", assessment.factors


@rule(
    "8873Q",
    "Please check and either amend data or provide a reason: When there is only one assessment "
    "on the episode and the factors code “21 No factors identified” has been used for the "
    "completed assessment, the reason for closure 'RC8' or 'RC9' should be used.",
)
def _no_factors_closure(child: CensusChild, period: CensusPeriod) -> Failures:
    # As DfE: an episode still open has no reason for closure, so it is queried too.
    for episode in child.episodes:
        if len(episode.assessments) != 1:
            continue
        if NO_FACTORS in episode.assessments[0].factors and episode.closure_reason not in (
            "RC8",
            "RC9",
        ):
            yield "ReasonForClosure", episode.closure_reason


# Referrals with no further action.


@rule("8831", "Activity is recorded against a case marked as a referral with no further action")
def _nfa_no_activity(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        if not episode.referral_nfa:
            continue
        for assessment in episode.assessments:
            yield "AssessmentActualStartDate", assessment.started_on
        for enquiry in episode.enquiries:
            yield "S47ActualStartDate", enquiry.started_on
        for day in _icpc_dates(episode):
            yield "DateOfInitialCPC", day


@rule("8832", "Child Protection details provided for a referral with no further action.")
def _nfa_no_plan(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        if episode.referral_nfa:
            for plan in episode.plans:
                yield "CPPstartDate", plan.started_on


@rule("4000", "CIN Plan details provided for a referral with no further action")
def _nfa_no_cin_plan(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        if episode.referral_nfa:
            for plan in episode.cin_plans:
                yield "CINPlanStartDate", plan.started_on


@rule(
    "8569Q",
    "A case with referral date before one working day prior to the collection start date must "
    "not be flagged as a no further action case",
)
def _nfa_old_referral(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        if episode.referral_nfa and episode.referral_date < period.nfa_cutoff:
            yield "ReferralNFA", episode.referral_date


# Work still open at the end of the year.


@rule(
    "8670Q",
    "Please check and either amend data or provide a reason: Assessment started more than 45 "
    "working days before the end of the census year. However, there is no Assessment end date.",
)
def _assessment_open_too_long(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        for assessment in episode.assessments:
            open_ = assessment.authorised_on is None
            if open_ and assessment.started_on < period.assessment_cutoff:
                yield "AssessmentActualStartDate", assessment.started_on


@rule(
    "8675Q",
    "Please check and either amend data or provide a reason: S47 Enquiry started more than 15 "
    "working days before the end of the census year. However, there is no date of Initial Child "
    "Protection Conference.",
)
def _enquiry_open_too_long(child: CensusChild, period: CensusPeriod) -> Failures:
    for episode in child.episodes:
        for enquiry in episode.enquiries:
            waiting = enquiry.icpc_on is None and not enquiry.icpc_not_required
            if waiting and enquiry.started_on < period.enquiry_cutoff:
                yield "S47ActualStartDate", enquiry.started_on
