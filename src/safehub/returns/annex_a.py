"""Ofsted's Annex A (ILACS), the child-level lists an inspection asks for on its first day: the
four the front door and casework produce (statutory.md §5, docs/annex-a.md).

- List 1, contacts: one row per contact the council received in the period (one per child);
- List 3, referrals: one row per referral (casework episode) dated in the period;
- List 4, assessments: one row per assessment in progress or completed in the period;
- List 5, section 47 enquiries and ICPCs: one row per enquiry started in the period.

`annex_a_write(council, start, end, path)` writes the workbook (the `safehub export annex-a`
command calls it); `annex_a_bytes(...)` returns it for the web download. Both read the records
with a handful of queries streamed in chunks (no query per row) and write with openpyxl's
write-only mode, so that the largest council's six months (about 50,000 contacts) take seconds.

The lists show the records as they stood at the end of the period: an assessment authorised, or
a conference held, after the last day of the period is shown as still open. Re-running a past
period therefore gives the same rows.
"""

import datetime as dt
import hashlib
import io
import os
import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from django.db import connection, transaction
from django.db.models import Q
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from safehub.accounts.models import Agency, AgencyKind
from safehub.casework.codes import Disability
from safehub.casework.models import Assessment, CaseEpisode, Section47
from safehub.core.clock import LONDON
from safehub.core.errors import DomainError
from safehub.intake.keys import person_key
from safehub.referrals.models import Contact
from safehub.timescales.calendar import add_calendar_months

CHUNK_SIZE = 2000
DATE_FORMAT = "dd/mm/yyyy"

# --- Ofsted's coded values -----------------------------------------------------------------------
#
# The dropdown values of Ofsted's Annex A template, each with its letter prefix, keyed by the code
# safehub stores. Source: the Social Finance liia-tools Annex A cleaner
# (liiatools/annex_a_pipeline/spec/Annex_A_schema.yml and the earlier csdatatools data-map.yml,
# statutory.md [S46]), cross-checked with the D2I Standard Safeguarding Dataset's Annex A extract
# (AnnexA_sqlserver, v1.2.0 Jul 2024, [S47]). The two agree everywhere but one place: liia-tools
# gives both "Refused" and "Information not yet obtained" the prefix "s)", D2I gives
# "s) REFU" and "t) NOBT"; the letters run on without a gap, so D2I's is taken.
# ❓ Not checked against the current Ofsted template itself (statutory.md §9 item 4): before a
# council sends the file, compare these lists with the template's dropdowns.

GENDER = {
    "M": "a) Male",
    "F": "b) Female",
    "U": "c) Not stated/recorded",
    "": "c) Not stated/recorded",
    # "d) Neither" exists in the template; safehub records no such value (the census's Sex is
    # M, F or U).
}
GENDER_NOT_RECORDED = GENDER["U"]

ETHNICITY = {
    "WBRI": "a) WBRI",
    "WIRI": "b) WIRI",
    "WIRT": "c) WIRT",
    "WOTH": "d) WOTH",
    "WROM": "e) WROM",
    "MWBC": "f) MWBC",
    "MWBA": "g) MWBA",
    "MWAS": "h) MWAS",
    "MOTH": "i) MOTH",
    "AIND": "j) AIND",
    "APKN": "k) APKN",
    "ABAN": "l) ABAN",
    "AOTH": "m) AOTH",
    "BCRB": "n) BCRB",
    "BAFR": "o) BAFR",
    "BOTH": "p) BOTH",
    "CHNE": "q) CHNE",
    "OOTH": "r) OOTH",
    "REFU": "s) REFU",
    "NOBT": "t) NOBT",
}
# A contact that never became a referral: the front door records no ethnicity.
ETHNICITY_NOT_OBTAINED = ETHNICITY["NOBT"]

# The DfE CIN census ReferralSource codes (Contact Source in List 1, Referral Source in List 3).
SOURCE = {
    "1A": "a) 1A: Individual",
    "1B": "b) 1B: Individual",
    "1C": "c) 1C: Individual",
    "1D": "d) 1D: Individual",
    "2A": "e) 2A: Schools",
    "2B": "f) 2B: Education services",
    "3A": "g) 3A: Health services",
    "3B": "h) 3B: Health services",
    "3C": "i) 3C: Health services",
    "3D": "j) 3D: Health services",
    "3E": "k) 3E: Health services",
    "3F": "l) 3F: Health services",
    "4": "m) 4: Housing",
    "5A": "n) 5A: LA services",
    "5B": "o) 5B: LA services",
    "5C": "p) 5C: LA services",
    "5D": "p1) 5D: LA services",
    "6": "q) 6: Police",
    "7": "r) 7: Other legal agency",
    "8": "s) 8: Other",
    "9": "t) 9: Anonymous",
    "10": "u) 10: Unknown",
}
SOURCE_UNKNOWN = SOURCE["10"]

YES = "a) Yes"
NO = "b) No"
UNKNOWN = "c) Unknown"  # "Does the Child have a Disability" and List 4's yes/no/unknown columns


def yes_no(value: bool | None) -> str:
    """a) Yes / b) No, or blank for "not yet known" (an open assessment, a conference to come)."""
    if value is None:
        return ""
    return YES if value else NO


def disability(codes: list[str] | None) -> str:
    """Does the Child have a Disability: any census disability code but NONE is a yes; NONE
    alone a no; nothing recorded is unknown."""
    codes = codes or []
    if any(code != Disability.NONE for code in codes):
        return YES
    return NO if codes else UNKNOWN


# --- The lists' columns, exactly as the template names them (statutory.md §5) ---------------------

COMMON = ("Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)")
LIST_1 = (*COMMON, "Date of Contact", "Contact Source")
LIST_3 = (
    *COMMON,
    "Date of referral",
    "Referral Source",
    "Referral NFA?",
    "Number of Referrals in Last 12 Months",
    "Allocated Team",
    "Allocated Worker",
)
LIST_4 = (
    *COMMON,
    "Does the Child have a Disability",
    "Continuous Assessment Start Date",
    "Child Seen During Continuous Assessment",
    "Continuous Assessment Date of Authorisation",
    "Was the child assessed as requiring LA children's social care support?",
    "Allocated Team",
    "Allocated Worker",
)
LIST_5 = (
    *COMMON,
    "Does the Child have a Disability",
    "Strategy discussion initiating Section 47 Enquiry Start Date",
    "Was an Initial Child Protection Conference deemed unnecessary?",
    "Date of Initial Child Protection Conference",
    "Did the Initial Child Protection Conference Result in a Child Protection Plan",
    "Number of Section 47 Enquiries in the last 12 months",
    "Number of ICPCs in the last 12 months",
    "Allocated Team",
    "Allocated Worker",
)
# Sheet names as the template's tabs and the liia-tools cleaner name them.
SHEETS: dict[str, tuple[str, ...]] = {
    "List 1": LIST_1,
    "List 3": LIST_3,
    "List 4": LIST_4,
    "List 5": LIST_5,
}


@dataclass(frozen=True)
class AnnexASummary:
    """What a workbook holds: the council, the period and the rows of each list."""

    la_code: str
    start: dt.date
    end: dt.date
    contacts: int  # List 1
    referrals: int  # List 3
    assessments: int  # List 4
    enquiries: int  # List 5
    sha256: str = ""  # of the file written

    @property
    def rows(self) -> dict[str, int]:
        """Rows per sheet, by sheet name."""
        return {
            "List 1": self.contacts,
            "List 3": self.referrals,
            "List 4": self.assessments,
            "List 5": self.enquiries,
        }

    def as_detail(self) -> dict[str, Any]:
        """For the audit event of an export."""
        return {
            "council": self.la_code,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rows": self.rows,
            "sha256": self.sha256,
        }


# --- Values ---------------------------------------------------------------------------------------


def contact_child_id(contact_id: Any) -> str:
    """The Child Unique ID of a contact that has no referral (so no episode and no LAchildID):
    the episode's format ("C" and 11 characters, letters and digits) made from the contact's own
    id, so that the same contact has the same ID in every export."""
    return "C" + str(contact_id).replace("-", "")[:11].upper()


def age_in_years(born: dt.date | None, on: dt.date) -> int | None:
    """Whole years from `born` to `on`; None for a child not born by then or of unknown birth."""
    if born is None or born > on:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def worker_name(first: str | None, last: str | None, username: str | None) -> str:
    """The allocated worker as people know them (as User.display_name); blank if none."""
    return f"{first or ''} {last or ''}".strip() or (username or "")


def _key(given: str, family: str, born: dt.date | None, fallback: str) -> str:
    """Who "the same child" is, until the person index gives one identifier per person: the
    exact normalised name and date of birth (the rule MARAC's repeat check uses); a child with
    no date of birth is only ever matched to their own records."""
    if born is None or not (given or family):
        return "id:" + fallback
    return person_key(given_names=given or "", family_name=family or "", date_of_birth=born)


def _before_on(day: dt.date | None, end: dt.date) -> dt.date | None:
    """`day`, if it had happened by the end of the period; otherwise None."""
    return day if day is not None and day <= end else None


def _instants(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The period's London days as instants: [start 00:00, the day after end 00:00)."""
    since = dt.datetime.combine(start, dt.time.min, tzinfo=LONDON)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=LONDON)
    return since, until


class _Earlier:
    """For each child (by key), the sorted instants of their events; counts those in a window
    before a given one. Events with the same date are ordered by a tie-breaker, so that of two
    referrals on one day the later counts the earlier, not the reverse."""

    def __init__(self) -> None:
        self._events: dict[str, list[tuple[dt.date, str]]] = defaultdict(list)
        self._sorted = False

    def add(self, key: str, day: dt.date, tie: str = "") -> None:
        self._events[key].append((day, tie))
        self._sorted = False

    def count(self, key: str, day: dt.date, tie: str = "", *, months: int = 12) -> int:
        """Events of `key` from `months` before `day` (that day included) up to, not including,
        (day, tie)."""
        if not self._sorted:
            for events in self._events.values():
                events.sort()
            self._sorted = True
        events = self._events.get(key, [])
        lower = bisect_left(events, (add_calendar_months(day, -months), ""))
        upper = bisect_left(events, (day, tie))
        return max(0, upper - lower)


# --- The rows -------------------------------------------------------------------------------------


def _common(
    child_id: str,
    sex: str,
    unborn: bool,
    ethnicity: str | None,
    born: dt.date | None,
    end: dt.date,
) -> list[Any]:
    gender = GENDER_NOT_RECORDED if unborn else GENDER.get(sex or "", GENDER_NOT_RECORDED)
    born = None if unborn else born
    return [
        child_id,
        gender,
        ETHNICITY.get(ethnicity or "", ETHNICITY_NOT_OBTAINED),
        born,
        age_in_years(born, end),
    ]


def list_1_rows(council: Agency, start: dt.date, end: dt.date) -> Iterator[list[Any]]:
    """One row per contact received (London date) in the period and routed to the council; a
    contact withdrawn by an amendment of its notification (the child is no longer named) is no
    contact about that child, and is left out."""
    since, until = _instants(start, end)
    contacts = (
        Contact.objects.filter(
            local_authority=council,
            received_at__gte=since,
            received_at__lt=until,
            withdrawn_in_version__isnull=True,
        )
        # A notification's children in the order it names them.
        .order_by("received_at", "notification_id", "child_ref", "id")
        .values_list(
            "id",
            "received_at",
            "referral_source",
            "sex",
            "unborn",
            "date_of_birth",
            "episode__child_id",
            "episode__ethnicity",
        )
    )
    for pk, received_at, source, sex, unborn, born, child_id, ethnicity in contacts.iterator(
        chunk_size=CHUNK_SIZE
    ):
        yield [
            *_common(child_id or contact_child_id(pk), sex, unborn, ethnicity, born, end),
            received_at.astimezone(LONDON).date(),
            SOURCE.get(source, SOURCE_UNKNOWN),
        ]


_PERSON = (
    "contact__given_names",
    "contact__family_name",
    "contact__date_of_birth",
    "contact__sex",
    "contact__unborn",
    "contact__assigned_to__first_name",
    "contact__assigned_to__last_name",
    "contact__assigned_to__username",
)


def list_3_rows(council: Agency, start: dt.date, end: dt.date) -> Iterator[list[Any]]:
    """One row per referral (episode) dated in the period, with the number of the same child's
    referrals in the 12 months before it (not counting it)."""
    episodes = (
        CaseEpisode.objects.filter(
            local_authority=council,
            referral_date__gte=add_calendar_months(start, -12),
            referral_date__lte=end,
        )
        .order_by("referral_date", "child_id", "id")
        .values_list(
            "id",
            "child_id",
            "referral_date",
            "referral_source",
            "referral_nfa",
            "ethnicity",
            "contact__received_at",
            *_PERSON,
        )
    )
    earlier = _Earlier()
    listed = []
    for row in episodes.iterator(chunk_size=CHUNK_SIZE):
        pk, child_id, day, _source, _nfa, _eth, received_at, given, family, born = row[:10]
        key = _key(given, family, born, child_id)
        tie = f"{received_at.isoformat()}|{pk}"
        earlier.add(key, day, tie)
        if day >= start:
            listed.append((key, tie, row))
    team = council.name
    for key, tie, row in listed:
        pk, child_id, day, source, nfa, ethnicity, _received, _g, _f, born, sex, unborn = row[:12]
        first, last, username = row[12:]
        yield [
            *_common(child_id, sex, unborn, ethnicity, born, end),
            day,
            SOURCE.get(source, SOURCE_UNKNOWN),
            yes_no(nfa),
            earlier.count(key, day, tie),
            team,
            worker_name(first, last, username),
        ]


def list_4_rows(council: Agency, start: dt.date, end: dt.date) -> Iterator[list[Any]]:
    """One row per assessment in progress or completed during the period: started on or before
    its last day and not authorised before its first."""
    assessments = (
        Assessment.objects.filter(episode__local_authority=council, started_on__lte=end)
        .filter(Q(authorised_on__isnull=True) | Q(authorised_on__gte=start))
        .order_by("started_on", "episode__child_id", "id")
        .values_list(
            "started_on",
            "child_seen_on",
            "authorised_on",
            "needs_support",
            "episode__child_id",
            "episode__ethnicity",
            "episode__disabilities",
            *(f"episode__{field}" for field in _PERSON[2:]),
        )
    )
    team = council.name
    for row in assessments.iterator(chunk_size=CHUNK_SIZE):
        started, seen, authorised, needs_support, child_id, ethnicity, disabilities = row[:7]
        born, sex, unborn, first, last, username = row[7:]
        authorised = _before_on(authorised, end)
        yield [
            *_common(child_id, sex, unborn, ethnicity, born, end),
            disability(disabilities),
            started,
            YES if _before_on(seen, end) else NO,
            authorised,
            yes_no(needs_support) if authorised else "",
            team,
            worker_name(first, last, username),
        ]


def _unnecessary(icpc_on: dt.date | None, not_required: bool) -> str:
    """Was an ICPC deemed unnecessary: no, once one is held; yes, once the enquiry decided none
    is needed (that decision carries no date, so it shows whenever it was recorded ❓); blank
    while the enquiry is open."""
    if icpc_on is not None:
        return NO
    return YES if not_required else ""


def list_5_rows(council: Agency, start: dt.date, end: dt.date) -> Iterator[list[Any]]:
    """One row per section 47 enquiry started in the period, with the same child's enquiries
    started, and conferences held, in the 12 months before its start."""
    since = add_calendar_months(start, -12)
    enquiries = (
        Section47.objects.filter(episode__local_authority=council, started_on__lte=end)
        .filter(Q(started_on__gte=since) | Q(icpc_on__gte=since))
        .order_by("started_on", "episode__child_id", "id")
        .values_list(
            "id",
            "started_on",
            "icpc_not_required",
            "icpc_on",
            "icpc_led_to_plan",
            "episode__child_id",
            "episode__ethnicity",
            "episode__disabilities",
            *(f"episode__{field}" for field in _PERSON),
        )
    )
    started = _Earlier()
    conferences = _Earlier()
    listed = []
    for row in enquiries.iterator(chunk_size=CHUNK_SIZE):
        pk, day, _not_required, icpc_on, _plan, child_id, _eth, _dis, given, family, born = row[:11]
        key = _key(given, family, born, child_id)
        tie = str(pk).zfill(20)
        started.add(key, day, tie)
        if icpc_on is not None and icpc_on <= end:
            conferences.add(key, icpc_on)
        if start <= day:
            listed.append((key, tie, row))
    team = council.name
    for key, tie, row in listed:
        _pk, day, not_required, icpc_on, led_to_plan, child_id, ethnicity, disabilities = row[:8]
        born, sex, unborn, first, last, username = row[10:]
        icpc_on = _before_on(icpc_on, end)
        yield [
            *_common(child_id, sex, unborn, ethnicity, born, end),
            disability(disabilities),
            day,
            _unnecessary(icpc_on, not_required),
            icpc_on,
            yes_no(led_to_plan) if icpc_on is not None else "",
            started.count(key, day, tie),
            # Conferences strictly before the enquiry started: its own comes after.
            conferences.count(key, day, ""),
            team,
            worker_name(first, last, username),
        ]


# --- The workbook ---------------------------------------------------------------------------------

_CONTROL = ILLEGAL_CHARACTERS_RE


class _Sheet:
    """One write-only sheet: a bold header row, then rows whose dates are Excel dates shown
    dd/mm/yyyy and whose text is never taken for a formula."""

    def __init__(self, workbook: Workbook, title: str, columns: tuple[str, ...]) -> None:
        self.sheet: WriteOnlyWorksheet = workbook.create_sheet(title)
        for index, name in enumerate(columns):
            letter = get_column_letter(index + 1)
            self.sheet.column_dimensions[letter].width = max(12, min(len(name) + 2, 45))
        bold = Font(bold=True)
        wrap = Alignment(wrap_text=True, vertical="top")
        header = []
        for name in columns:
            cell = WriteOnlyCell(self.sheet, value=name)
            cell.font, cell.alignment = bold, wrap
            header.append(cell)
        self.sheet.append(header)
        self.rows = 0

    def append(self, values: Iterable[Any]) -> None:
        self.sheet.append([self._cell(value) for value in values])
        self.rows += 1

    def _cell(self, value: Any) -> Any:
        if isinstance(value, dt.date):
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.number_format = DATE_FORMAT
            return cell
        if isinstance(value, str):
            text = _CONTROL.sub("", value)
            if text.startswith("="):
                # openpyxl writes any text starting "=" as a formula: a worker's name must never
                # run as one on the inspector's computer.
                cell = WriteOnlyCell(self.sheet, value=text)
                cell.data_type = "s"
                return cell
            return text or None
        return value


def _reading() -> AbstractContextManager[Any]:
    """On PostgreSQL, read in one transaction: outside one, a server-side cursor is WITH HOLD
    and the server computes every row before the first is sent. On SQLite, no transaction
    (safehub's are IMMEDIATE, and would hold the write lock for the whole export)."""
    if connection.vendor == "postgresql":
        return transaction.atomic()
    return nullcontext()


def _check(council: Agency, start: dt.date, end: dt.date) -> None:
    if council.kind != AgencyKind.CHILDREN_SERVICES or not council.la_code:
        raise DomainError(f"council: {council.name} is not a council's children's services")
    if end < start:
        raise DomainError("end: the period must end on or after the day it starts")


def _build(council: Agency, start: dt.date, end: dt.date, target: IO[bytes]) -> AnnexASummary:
    _check(council, start, end)
    workbook = Workbook(write_only=True)
    workbook.properties.creator = "safehub"
    workbook.properties.title = f"Annex A, {council.name}, {start:%d/%m/%Y} to {end:%d/%m/%Y}"
    makers = (list_1_rows, list_3_rows, list_4_rows, list_5_rows)
    counts = []
    with _reading():
        for (title, columns), rows in zip(SHEETS.items(), makers, strict=True):
            sheet = _Sheet(workbook, title, columns)
            for row in rows(council, start, end):
                sheet.append(row)
            counts.append(sheet.rows)
    workbook.save(target)
    contacts, referrals, assessments, enquiries = counts
    return AnnexASummary(
        la_code=council.la_code or "",
        start=start,
        end=end,
        contacts=contacts,
        referrals=referrals,
        assessments=assessments,
        enquiries=enquiries,
    )


def annex_a_bytes(council: Agency, start: dt.date, end: dt.date) -> tuple[bytes, AnnexASummary]:
    """The workbook, in memory (the web download), and what it holds."""
    buffer = io.BytesIO()
    summary = _build(council, start, end, buffer)
    data = buffer.getvalue()
    return data, _with_sha(summary, hashlib.sha256(data).hexdigest())


def annex_a_write(council: Agency, start: dt.date, end: dt.date, path: Path) -> AnnexASummary:
    """Write the council's Annex A lists for the London days `start` to `end` (both included)
    to `path`, readable by its owner only. The file is written beside `path` and renamed into
    place when complete: a failure leaves nothing at `path`."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            summary = _build(council, start, end, handle)
        with partial.open("rb") as written:
            digest = hashlib.file_digest(written, "sha256").hexdigest()
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return _with_sha(summary, digest)


def _with_sha(summary: AnnexASummary, digest: str) -> AnnexASummary:
    return replace(summary, sha256=digest)


def annex_a_filename(council: Agency, start: dt.date, end: dt.date) -> str:
    code = re.sub(r"[^A-Za-z0-9]", "", council.la_code or council.code)
    return f"annex-a-{code}-{start:%Y-%m-%d}-to-{end:%Y-%m-%d}.xlsx"
