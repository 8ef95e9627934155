"""The DfE children in need (CIN) census: the XML return of a council for a census year (1 April
to 31 March, the reference date), built from the casework records (statutory.md §4,
docs/cin-census.md) and checked before it is written.

Who is in it: every child with a referral (a casework episode) open at any time in the year, that
is referred on or before 31 March and not closed before 1 April. Each episode is one CINdetails
with the assessments, children in need plans, section 47 enquiries and child protection plans of
the year, as they stood on the reference date: an assessment authorised, a conference held, a plan
ended or a referral closed after 31 March is reported as still open, so re-running a past year
gives the same file.

Checked twice before a byte reaches the file's path:
- against the DfE's XML schema (`schemas/CIN_schema_2024.xsd`, with the one correction in ERRATA
  below): each child is validated as it is built, so that every schema error is listed with the
  child's LAchildID and the line of the file; then the whole file is validated once more, streamed;
- against the DfE validation rules safehub mirrors (`census_rules`), each failure with its rule
  number, the child and the field.
Any schema error or error rule stops the export: nothing is left at the path (the file is built
beside it, readable by its owner only, and removed). DfE *queries* (rules ending in Q) are listed
and do not stop it. A written census is an audit event (EXPORT) with its counts and SHA-256.

The records are read with five queries per 2,000 episodes (no query per child), so the largest
council's year (about 30,000 episodes) is built in seconds with flat memory.
"""

import datetime as dt
import functools
import hashlib
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Q
from lxml import etree

import safehub
from safehub.accounts.models import Agency, AgencyKind
from safehub.audit.models import Action, AuditEvent
from safehub.audit.services import audit_record
from safehub.casework.models import Assessment, CaseEpisode, ChildProtectionPlan, CINPlan, Section47
from safehub.core import clock
from safehub.core.errors import DomainError
from safehub.returns.census_rules import (
    CensusAssessment,
    CensusChild,
    CensusCINPlan,
    CensusEnquiry,
    CensusEpisode,
    CensusPeriod,
    CensusProtectionPlan,
    Problem,
    child_problems,
)
from safehub.timescales.calendar import london_date

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "CIN_schema_2024.xsd"
SOFTWARE_CODE = "safehub"
CHUNK_SIZE = 2000
AUDIT_OBJECT_TYPE = "returns.cin_census"
XS = "http://www.w3.org/2001/XMLSchema"
# GenderCurrent's codes, for a schema from before 2024-25 (see schemas/README.md).
GENDER_CURRENT = {"M": "1", "F": "2", "U": "0"}
INDENT = "  "


# --- The schema -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erratum:
    """A correction made to the vendored schema as it is loaded (the file stays as published)."""

    complex_type: str
    element: str
    published: str  # the type the schema gives the element
    corrected: str
    why: str


ERRATA = (
    Erratum(
        complex_type="childprotectionplanstype",
        element="NumberOfPreviousCPP",
        published="xs:positiveInteger",
        corrected="xs:nonNegativeInteger",
        why="DfE rule 8730: NumberOfPreviousCPP must be greater than or equal to zero; a child's "
        "first plan has 0 previous plans, which xs:positiveInteger refuses",
    ),
)


def census_schema_document() -> Any:
    """The vendored schema with ERRATA applied. An erratum the schema no longer needs (the type
    is already the corrected one) is skipped; one whose element has changed otherwise stops
    everything, for a person to look at it."""
    document = etree.parse(str(SCHEMA_PATH))
    for erratum in ERRATA:
        found = document.xpath(
            f"//xs:complexType[@name='{erratum.complex_type}']"
            f"//xs:element[@name='{erratum.element}']",
            namespaces={"xs": XS},
        )
        if len(found) != 1 or found[0].get("type") not in (erratum.published, erratum.corrected):
            raise ImproperlyConfigured(
                f"{SCHEMA_PATH.name}: {erratum.element} is not as the erratum expects; review "
                "ERRATA in safehub.returns.census"
            )
        found[0].set("type", erratum.corrected)
    return document


@functools.cache
def census_schema() -> etree.XMLSchema:
    return etree.XMLSchema(census_schema_document())


@functools.cache
def sex_element() -> str:
    """The element the vendored schema gives the child's sex: `Sex` (M/F/U, the census from
    2024-25) or, in earlier schemas, `GenderCurrent` (1/2/0)."""
    names = etree.parse(str(SCHEMA_PATH)).xpath(
        "//xs:complexType[@name='childidentifierstype']//xs:element/@name", namespaces={"xs": XS}
    )
    for name in ("Sex", "GenderCurrent"):
        if name in names:
            return name
    raise ImproperlyConfigured(f"{SCHEMA_PATH.name} declares neither Sex nor GenderCurrent")


def census_sex(recorded: str, *, unborn: bool) -> str:
    """The census's Sex code for a child: U for an unborn child (rule 8750) and when nothing is
    recorded; M or F as recorded. Anything else is passed on as it is, for rule 4180 and the
    schema to report."""
    if unborn:
        return "U"
    return (recorded or "").strip().upper() or "U"


def _sex_text(sex: str) -> str:
    return GENDER_CURRENT.get(sex, sex) if sex_element() == "GenderCurrent" else sex


# --- What a census holds --------------------------------------------------------------------------


@dataclass
class CensusSummary:
    """The council, the year, what the census holds, and every problem found."""

    council_code: str
    la_code: str
    year: int
    children: int = 0
    episodes: int = 0
    assessments: int = 0
    enquiries: int = 0  # section 47 enquiries
    icpcs: int = 0  # initial child protection conferences held
    protection_plans: int = 0
    cin_plans: int = 0
    errors: list[Problem] = field(default_factory=list)
    queries: list[Problem] = field(default_factory=list)
    sha256: str = ""  # of the file written
    serial_no: str = ""

    @property
    def counts(self) -> dict[str, int]:
        return {
            "children": self.children,
            "episodes": self.episodes,
            "assessments": self.assessments,
            "section 47 enquiries": self.enquiries,
            "initial conferences": self.icpcs,
            "child protection plans": self.protection_plans,
            "children in need plans": self.cin_plans,
            "queries": len(self.queries),
        }

    def add(self, problems: list[Problem]) -> None:
        for problem in problems:
            (self.errors if problem.blocking else self.queries).append(problem)

    def as_detail(self) -> dict[str, Any]:
        """For the audit event of an export."""
        return {
            "council": self.la_code,
            "year": self.year,
            "serial_no": self.serial_no,
            "counts": self.counts,
            "queries": sorted({q.rule for q in self.queries}),
            "sha256": self.sha256,
        }


class CensusInvalid(DomainError):
    """The census failed the schema or an error rule: no file was written."""

    def __init__(self, summary: CensusSummary) -> None:
        count = len(summary.errors)
        super().__init__(
            f"The CIN census {summary.year} for {summary.la_code} has {count} "
            f"error{'s' if count != 1 else ''}: no file was written.",
            code="census_invalid",
        )
        self.summary = summary


# --- Reading the records --------------------------------------------------------------------------

_EPISODE_FIELDS = (
    "id",
    "child_id",
    "referral_date",
    "referral_source",
    "referral_nfa",
    "primary_need",
    "closed_on",
    "closure_reason",
    "upn",
    "upn_unknown",
    "ethnicity",
    "disabilities",
    "contact__date_of_birth",
    "contact__unborn",
    "contact__expected_date_of_birth",
    "contact__sex",
)


def census_episodes(*, council: Agency, period: CensusPeriod) -> Any:
    """The council's episodes open at any time in the census year: referred on or before the
    reference date and not closed before the year began."""
    return CaseEpisode.objects.filter(
        local_authority=council, referral_date__lte=period.reference_date
    ).filter(Q(closed_on__isnull=True) | Q(closed_on__gte=period.start))


def _by_or_none(day: dt.date | None, period: CensusPeriod) -> dt.date | None:
    """`day`, if it had happened by the reference date; otherwise None (still to come)."""
    return day if day is not None and day <= period.reference_date else None


def _related(ids: list[Any], period: CensusPeriod) -> dict[str, dict[Any, list[Any]]]:
    """The assessments, enquiries and plans of these episodes that belong in the census year,
    grouped by episode: four queries."""
    start, reference = period.start, period.reference_date
    found: dict[str, dict[Any, list[Any]]] = {
        key: defaultdict(list) for key in ("assessments", "enquiries", "plans", "cin_plans")
    }
    assessments = (
        Assessment.objects.filter(episode_id__in=ids, started_on__lte=reference)
        .filter(Q(authorised_on__isnull=True) | Q(authorised_on__gte=start))
        .order_by("started_on", "id")
        .values_list("episode_id", "started_on", "authorised_on", "factors")
    )
    for episode_id, started_on, authorised_on, factors in assessments:
        authorised = _by_or_none(authorised_on, period)
        # Factors found by an authorisation after the year are not this year's; factors on an
        # assessment never authorised are reported (rule 8614).
        kept = () if authorised_on is not None and authorised is None else tuple(factors or ())
        found["assessments"][episode_id].append(
            CensusAssessment(started_on=started_on, authorised_on=authorised, factors=kept)
        )
    enquiries = (
        Section47.objects.filter(episode_id__in=ids, started_on__lte=reference)
        .filter(Q(icpc_on__gte=start) | Q(icpc_on__isnull=True))
        .exclude(icpc_not_required=True, started_on__lt=start)
        .order_by("started_on", "id")
        .values_list("episode_id", "started_on", "icpc_target", "icpc_on", "icpc_not_required")
    )
    for episode_id, started_on, target, icpc_on, not_required in enquiries:
        found["enquiries"][episode_id].append(
            CensusEnquiry(
                started_on=started_on,
                icpc_target=target,
                icpc_on=_by_or_none(icpc_on, period),
                icpc_not_required=not_required,
            )
        )
    plans = (
        ChildProtectionPlan.objects.filter(episode_id__in=ids, started_on__lte=reference)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=start))
        .order_by("started_on", "id")
        .values_list(
            "episode_id",
            "started_on",
            "ended_on",
            "initial_category",
            "latest_category",
            "previous_plans",
            "review_dates",
        )
    )
    for episode_id, started_on, ended_on, initial, latest, previous, reviews in plans:
        review_days = sorted(
            day
            for day in (dt.date.fromisoformat(str(r)) for r in reviews or ())
            if start <= day <= reference
        )
        found["plans"][episode_id].append(
            CensusProtectionPlan(
                started_on=started_on,
                ended_on=_by_or_none(ended_on, period),
                initial_category=initial,
                latest_category=latest,
                previous_plans=previous,
                review_dates=tuple(review_days),
            )
        )
    cin_plans = (
        CINPlan.objects.filter(episode_id__in=ids, started_on__lte=reference)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=start))
        .order_by("started_on", "id")
        .values_list("episode_id", "started_on", "ended_on")
    )
    for episode_id, started_on, ended_on in cin_plans:
        found["cin_plans"][episode_id].append(
            CensusCINPlan(started_on=started_on, ended_on=_by_or_none(ended_on, period))
        )
    return found


def _child(
    rows: list[tuple[Any, ...]], related: dict[str, dict[Any, list[Any]]], period: CensusPeriod
) -> CensusChild:
    """One child from their episode rows (oldest referral first): the child's own details are
    the latest episode's."""
    *_, latest = rows
    (_, child_id, *_, upn, upn_unknown, ethnicity, disabilities, born, unborn, expected, sex) = (
        latest
    )
    child = CensusChild(
        child_id=child_id,
        sex=census_sex(sex, unborn=unborn),
        birth_date=None if unborn else born,
        expected_birth_date=expected if unborn else None,
        upn=upn,
        upn_unknown="" if upn else upn_unknown,
        ethnicity=ethnicity,
        disabilities=tuple(disabilities or ()),
    )
    for row in rows:
        episode_id, _, referral_date, source, nfa, need, closed_on, reason, *_ = row
        closed = _by_or_none(closed_on, period)
        child.episodes.append(
            CensusEpisode(
                referral_date=referral_date,
                referral_source=source,
                primary_need=need,
                referral_nfa=nfa,
                closed_on=closed,
                closure_reason=reason if closed is not None else "",
                assessments=related["assessments"].get(episode_id, []),
                cin_plans=related["cin_plans"].get(episode_id, []),
                enquiries=related["enquiries"].get(episode_id, []),
                plans=related["plans"].get(episode_id, []),
            )
        )
    return child


def census_children(*, council: Agency, period: CensusPeriod) -> Iterator[CensusChild]:
    """The census's children, by LAchildID, read CHUNK_SIZE episodes at a time (a chunk never
    splits a child's episodes)."""
    rows = list(
        census_episodes(council=council, period=period)
        .order_by("child_id", "referral_date", "id")
        .values_list(*_EPISODE_FIELDS)
    )
    i = 0
    while i < len(rows):
        j = min(i + CHUNK_SIZE, len(rows))
        while j < len(rows) and rows[j][1] == rows[j - 1][1]:
            j += 1
        chunk = rows[i:j]
        related = _related([row[0] for row in chunk], period)
        group: list[tuple[Any, ...]] = []
        for row in chunk:
            if group and row[1] != group[0][1]:
                yield _child(group, related, period)
                group = []
            group.append(row)
        if group:
            yield _child(group, related, period)
        i = j


# --- The XML --------------------------------------------------------------------------------------


def _sub(parent: Any, tag: str, value: Any = None) -> Any:
    element = etree.SubElement(parent, tag)
    if value is not None:
        element.text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return element


def _bool(value: bool) -> str:
    return "true" if value else "false"


def child_element(child: CensusChild) -> Any:
    """One <Child>, its elements in the schema's order."""
    root = etree.Element("Child")
    ids = _sub(root, "ChildIdentifiers")
    _sub(ids, "LAchildID", child.child_id)
    if child.upn:
        _sub(ids, "UPN", child.upn)
    elif child.upn_unknown:
        _sub(ids, "UPNunknown", child.upn_unknown)
    if child.birth_date is not None:
        _sub(ids, "PersonBirthDate", child.birth_date)
    if child.expected_birth_date is not None:
        _sub(ids, "ExpectedPersonBirthDate", child.expected_birth_date)
    _sub(ids, sex_element(), _sex_text(child.sex))
    characteristics = _sub(root, "ChildCharacteristics")
    _sub(characteristics, "Ethnicity", child.ethnicity)
    if child.disabilities:
        disabilities = _sub(characteristics, "Disabilities")
        for code in child.disabilities:
            _sub(disabilities, "Disability", code)
    for episode in child.episodes:
        _episode_element(root, episode)
    return root


def _episode_element(root: Any, episode: CensusEpisode) -> None:
    details = _sub(root, "CINdetails")
    _sub(details, "CINreferralDate", episode.referral_date)
    _sub(details, "ReferralSource", episode.referral_source)
    _sub(details, "PrimaryNeedCode", episode.primary_need or None)
    if episode.closed_on is not None:
        _sub(details, "CINclosureDate", episode.closed_on)
        _sub(details, "ReasonForClosure", episode.closure_reason)
    if episode.icpc_on is not None:
        _sub(details, "DateOfInitialCPC", episode.icpc_on)
    for assessment in episode.assessments:
        element = _sub(details, "Assessments")
        _sub(element, "AssessmentActualStartDate", assessment.started_on)
        if assessment.authorised_on is not None:
            _sub(element, "AssessmentAuthorisationDate", assessment.authorised_on)
        if assessment.factors:
            factors = _sub(element, "FactorsIdentifiedAtAssessment")
            for code in assessment.factors:
                _sub(factors, "AssessmentFactors", code)
    for cin_plan in episode.cin_plans:
        element = _sub(details, "CINPlanDates")
        _sub(element, "CINPlanStartDate", cin_plan.started_on)
        if cin_plan.ended_on is not None:
            _sub(element, "CINPlanEndDate", cin_plan.ended_on)
    for enquiry in episode.enquiries:
        element = _sub(details, "Section47")
        _sub(element, "S47ActualStartDate", enquiry.started_on)
        if enquiry.icpc_target is not None:
            _sub(element, "InitialCPCtarget", enquiry.icpc_target)
        if enquiry.icpc_on is not None:
            _sub(element, "DateOfInitialCPC", enquiry.icpc_on)
        _sub(element, "ICPCnotRequired", _bool(enquiry.icpc_not_required))
    _sub(details, "ReferralNFA", _bool(episode.referral_nfa))
    for plan in episode.plans:
        element = _sub(details, "ChildProtectionPlans")
        _sub(element, "CPPstartDate", plan.started_on)
        if plan.ended_on is not None:
            _sub(element, "CPPendDate", plan.ended_on)
        _sub(element, "InitialCategoryOfAbuse", plan.initial_category)
        _sub(element, "LatestCategoryOfAbuse", plan.latest_category)
        _sub(element, "NumberOfPreviousCPP", plan.previous_plans)
        if plan.review_dates:
            reviews = _sub(element, "Reviews")
            for day in plan.review_dates:
                _sub(reviews, "CPPreviewDate", day)


def header_element(*, la_code: str, period: CensusPeriod, serial_no: str) -> Any:
    header = etree.Element("Header")
    details = _sub(header, "CollectionDetails")
    _sub(details, "Collection", "CIN")
    _sub(details, "Year", period.reference_date.year)
    _sub(details, "ReferenceDate", period.reference_date)
    source = _sub(header, "Source")
    _sub(source, "SourceLevel", "L")
    _sub(source, "LEA", la_code)
    _sub(source, "SoftwareCode", SOFTWARE_CODE)
    _sub(source, "Release", safehub.__version__)
    _sub(source, "SerialNo", serial_no)
    now = clock.now().astimezone(clock.LONDON).replace(microsecond=0, tzinfo=None)
    _sub(source, "DateTime", now.isoformat())
    return header


def _block(element: Any, level: int) -> bytes:
    """The element pretty-printed at `level` of indentation, ending with a new line."""
    etree.indent(element, space=INDENT, level=level)
    return INDENT.encode() * level + etree.tostring(element, encoding="utf-8") + b"\n"


def _schema_problems(
    log: Any, *, first_line: int, child_id: str = "", seen: set[tuple[int, str]] | None = None
) -> list[Problem]:
    problems = []
    for entry in log:
        line = first_line + entry.line - 1 if entry.line > 0 else None
        key = (line or 0, entry.message)
        if seen is not None:
            if key in seen or (line is None and any(m == entry.message for _, m in seen)):
                continue
            seen.add(key)
        path = entry.path or ""
        tag = path.rsplit("/", 1)[-1].split("[", 1)[0] if path else ""
        problems.append(
            Problem(rule="XSD", message=entry.message, child_id=child_id, field=tag, line=line)
        )
    return problems


def _validate_child(data: bytes, *, first_line: int, child_id: str) -> list[Problem]:
    """Schema errors of one child: it is validated inside a message of its own (the schema has
    no constraint across children), so that each error is known to be this child's."""
    wrapper = b"<Message><Children>" + data + b"</Children></Message>"
    document = etree.fromstring(wrapper, parser=None).getroottree()
    schema = census_schema()
    if schema.validate(document):
        return []
    return _schema_problems(schema.error_log, first_line=first_line, child_id=child_id)


def _validate_file(handle: IO[bytes]) -> list[Problem]:
    """The whole file against the schema, streamed (memory stays flat)."""
    handle.seek(0)
    try:
        for _, element in etree.iterparse(handle, events=("end",), schema=census_schema()):
            if element.tag == "Child":
                element.clear(keep_tail=True)
                parent = element.getparent()
                while parent is not None and element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        return _schema_problems(exc.error_log, first_line=1, seen=set())
    return []


def _serial_no(council: Agency, year: int) -> str:
    """DfE's SerialNo: this council's census for the year, numbered from 001."""
    done = AuditEvent.objects.filter(
        action=Action.EXPORT, object_type=AUDIT_OBJECT_TYPE, object_id=f"{council.code}/{year}"
    ).count()
    return f"{done + 1:03d}"


def _reading() -> AbstractContextManager[Any]:
    """On PostgreSQL, read in one transaction (one snapshot for every chunk). On SQLite, none:
    safehub's transactions there are IMMEDIATE and would hold the write lock."""
    if connection.vendor == "postgresql":
        return transaction.atomic()
    return nullcontext()


def census_period(year: int) -> CensusPeriod:
    today = london_date(clock.now())
    if year < 2000 or dt.date(year - 1, 4, 1) > today:
        raise DomainError(f"year: the census year ending 31 March {year} has not started")
    return CensusPeriod.of(year, today=today)


def _require_council(council: Agency) -> str:
    if council.kind != AgencyKind.CHILDREN_SERVICES or not council.la_code:
        raise DomainError(f"council: {council.name} is not a council's children's services")
    return council.la_code


def _build(*, council: Agency, year: int, handle: IO[bytes]) -> CensusSummary:
    """Write the census to `handle` and return what it holds and every problem found. The
    caller decides what to do with the bytes: they are a valid census only when the summary has
    no errors."""
    la_code = _require_council(council)
    period = census_period(year)
    summary = CensusSummary(council_code=council.code, la_code=la_code, year=year)
    summary.serial_no = _serial_no(council, year)
    line = 1

    def write(data: bytes) -> None:
        nonlocal line
        handle.write(data)
        line += data.count(b"\n")

    write(b'<?xml version="1.0" encoding="UTF-8"?>\n<Message>\n')
    write(_block(header_element(la_code=la_code, period=period, serial_no=summary.serial_no), 1))
    write(INDENT.encode() + b"<Children>\n")
    with _reading():
        for child in census_children(council=council, period=period):
            data = _block(child_element(child), 2)
            summary.add(_validate_child(data, first_line=line, child_id=child.child_id))
            summary.add(child_problems(child, period))
            write(data)
            _count(summary, child)
    write(INDENT.encode() + b"</Children>\n</Message>\n")
    if not summary.errors:
        # Only the whole file shows what no child does: the header, or no child at all.
        summary.add(_validate_file(handle))
    return summary


def _count(summary: CensusSummary, child: CensusChild) -> None:
    summary.children += 1
    for episode in child.episodes:
        summary.episodes += 1
        summary.assessments += len(episode.assessments)
        summary.enquiries += len(episode.enquiries)
        summary.icpcs += sum(1 for e in episode.enquiries if e.icpc_on is not None)
        summary.icpcs += episode.icpc_on is not None
        summary.protection_plans += len(episode.plans)
        summary.cin_plans += len(episode.cin_plans)


# --- Checking and writing -------------------------------------------------------------------------


def census_check(*, council: Agency, year: int) -> CensusSummary:
    """Build the census and check it, writing nothing: what it would hold, and its problems."""
    with tempfile.TemporaryFile() as handle:
        return _build(council=council, year=year, handle=handle)


def census_write(
    *, council: Agency, year: int, path: Path, exported_by: Any, purpose: str = ""
) -> CensusSummary:
    """Build, check and write the council's census for the year ending 31 March `year` to
    `path`, readable by its owner only, and record the export. Raises CensusInvalid, leaving
    nothing at `path`, if the schema or an error rule fails; queries are in the summary."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w+b") as handle:
            summary = _build(council=council, year=year, handle=handle)
            if summary.errors:
                raise CensusInvalid(summary)
            handle.flush()
            handle.seek(0)
            summary.sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
        with transaction.atomic():
            audit_record(
                actor=exported_by,
                action=Action.EXPORT,
                object_type=AUDIT_OBJECT_TYPE,
                object_id=f"{council.code}/{year}",
                purpose=purpose,
                detail={**summary.as_detail(), "file": path.name},
            )
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return summary


def census_filename(council: Agency, year: int) -> str:
    return f"cin-census-{council.la_code or council.code}-{year}.xml"
