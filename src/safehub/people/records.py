"""Person records and truth files as `spec/person-records.md` defines them.

The parser is strict where the format is (a missing required column, an empty or repeated
`record_id`, a truth file that does not cover the records are errors) and forgiving where it says
so (unknown columns are ignored, a missing optional column is empty, a date of birth in a form it
does not accept is *unknown*: counted and reported, never guessed).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REQUIRED = ("record_id", "given_names", "family_name")
OPTIONAL = (
    "source",
    "date_of_birth",
    "sex",
    "address_line1",
    "town",
    "postcode",
    "nhs_number",
    "upn",
)
COLUMNS = REQUIRED + OPTIONAL

_DMY = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class RecordsError(ValueError):
    """The file cannot be read as person records (or as a truth file)."""


@dataclass(frozen=True)
class PersonRecord:
    record_id: str
    source: str
    given_names: str
    family_name: str
    date_of_birth: dt.date | None
    sex: str
    address_line1: str
    town: str
    postcode: str
    nhs_number: str
    upn: str


@dataclass
class ParsedRecords:
    records: list[PersonRecord]
    bad_dates: int = 0
    warnings: list[str] = field(default_factory=list)


def parse_date_of_birth(value: str) -> dt.date | None:
    """`YYYY-MM-DD`, `YYYYMMDD` or `DD/MM/YYYY`; None for anything else (or no real date)."""
    value = value.strip()
    for pattern, order in ((_ISO, "ymd"), (_COMPACT, "ymd"), (_DMY, "dmy")):
        m = pattern.match(value)
        if m:
            a, b, c = (int(g) for g in m.groups())
            y, mo, d = (a, b, c) if order == "ymd" else (c, b, a)
            try:
                return dt.date(y, mo, d)
            except ValueError:
                return None
    return None


def read_records(path: Path | str, *, max_warnings: int = 10) -> ParsedRecords:
    path = Path(path)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return parse_records(fh, default_source=path.name, max_warnings=max_warnings)


def parse_records(
    lines: Iterable[str], *, default_source: str, max_warnings: int = 10
) -> ParsedRecords:
    reader = csv.DictReader(lines, strict=True)
    header = reader.fieldnames
    if not header:
        raise RecordsError("the file is empty: a header row is required")
    header = [h.strip() for h in header]
    reader.fieldnames = header
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise RecordsError(f"required column(s) missing from the header: {', '.join(missing)}")
    out = ParsedRecords(records=[])
    seen: set[str] = set()
    try:
        for row in reader:
            line = reader.line_num
            if None in row:
                raise RecordsError(f"line {line}: more fields than the header has")
            rid = (row.get("record_id") or "").strip()
            if not rid:
                raise RecordsError(f"line {line}: record_id is empty")
            if rid in seen:
                raise RecordsError(f"line {line}: record_id {rid!r} appears more than once")
            seen.add(rid)

            def col(name: str, row: dict[str, str | None] = row) -> str:
                return (row.get(name) or "").strip()

            raw_dob = col("date_of_birth")
            dob = parse_date_of_birth(raw_dob) if raw_dob else None
            if raw_dob and dob is None:
                out.bad_dates += 1
                if out.bad_dates <= max_warnings:
                    out.warnings.append(
                        f"line {line} ({rid}): date_of_birth {raw_dob!r} is not a date in an "
                        "accepted form (YYYY-MM-DD, YYYYMMDD, DD/MM/YYYY); treated as unknown"
                    )
            sex = col("sex").upper()
            if sex not in ("M", "F", "U", ""):
                out.warnings.append(f"line {line} ({rid}): sex {sex!r} is not M, F or U; ignored")
                sex = ""
            out.records.append(
                PersonRecord(
                    record_id=rid,
                    source=col("source") or default_source,
                    given_names=col("given_names"),
                    family_name=col("family_name"),
                    date_of_birth=dob,
                    sex=sex,
                    address_line1=col("address_line1"),
                    town=col("town"),
                    postcode=col("postcode"),
                    nhs_number=col("nhs_number"),
                    upn=col("upn"),
                )
            )
    except csv.Error as exc:
        raise RecordsError(f"line {reader.line_num}: not valid CSV ({exc})") from None
    if out.bad_dates > max_warnings:
        out.warnings.append(
            f"... {out.bad_dates - max_warnings} more dates of birth treated as unknown"
        )
    return out


def read_truth(path: Path | str, record_ids: Iterable[str] | None = None) -> dict[str, str]:
    """record_id -> person_id. With `record_ids`, every one must appear, and nothing else."""
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        return parse_truth(fh, record_ids)


def parse_truth(lines: Iterable[str], record_ids: Iterable[str] | None = None) -> dict[str, str]:
    reader = csv.DictReader(lines, strict=True)
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    if "record_id" not in header or "person_id" not in header:
        raise RecordsError("a truth file needs the columns record_id,person_id")
    truth: dict[str, str] = {}
    try:
        for row in reader:
            rid, pid = (row["record_id"] or "").strip(), (row["person_id"] or "").strip()
            if not rid or not pid:
                raise RecordsError(f"truth line {reader.line_num}: empty record_id or person_id")
            if rid in truth:
                raise RecordsError(f"truth line {reader.line_num}: {rid!r} appears twice")
            truth[rid] = pid
    except csv.Error as exc:
        raise RecordsError(f"truth line {reader.line_num}: not valid CSV ({exc})") from None
    if record_ids is not None:
        ids = set(record_ids)
        absent = ids - truth.keys()
        extra = truth.keys() - ids
        if absent:
            raise RecordsError(
                f"{len(absent)} record(s) have no person_id in the truth file, e.g. "
                f"{sorted(absent)[0]!r}"
            )
        if extra:
            raise RecordsError(
                f"the truth file names {len(extra)} record(s) not in the records file, e.g. "
                f"{sorted(extra)[0]!r}"
            )
    return truth


def write_records(path: Path | str, rows: Iterator[dict[str, str]] | list[dict[str, str]]) -> int:
    n = 0
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            n += 1
    return n


def write_truth(path: Path | str, pairs: Iterable[tuple[str, str]]) -> None:
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["record_id", "person_id"])
        writer.writerows(pairs)
