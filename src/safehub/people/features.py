"""From a person record to the columns the linkage model compares and blocks on.

Everything here is plain Python over one record at a time, so that the same function prepares a
bulk file for DuckDB (or Spark) and a single person at intake; the blocking keys (`dob`,
`family_sx`+`dob_y`, `postcode`, `given_name`+`family_name`, `given_name`+`dob_y`, `nhs_number`,
`upn`) are the columns that will be indexed in the person index for real-time candidate fetch.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

from safehub.people.records import PersonRecord

DATA_DIR = Path(__file__).resolve().parent / "data"

# Folds the letters that NFKD does not decompose.
_FOLD = str.maketrans({"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "ß": "ss", "Æ": "AE", "æ": "ae"})
_NOT_NAME = re.compile(r"[^A-Z \-]")
_UK_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_STREET_WORDS = {
    "RD": "ROAD",
    "ST": "STREET",
    "AVE": "AVENUE",
    "AV": "AVENUE",
    "CL": "CLOSE",
    "DR": "DRIVE",
    "CRES": "CRESCENT",
    "CRS": "CRESCENT",
    "LN": "LANE",
    "GDNS": "GARDENS",
    "CT": "COURT",
    "PL": "PLACE",
    "TCE": "TERRACE",
    "TER": "TERRACE",
    "GRV": "GROVE",
    "GR": "GROVE",
    "SQ": "SQUARE",
    "PK": "PARK",
    "WY": "WAY",
    "HSE": "HOUSE",
    "FLT": "FLAT",
}
# A child, for the family-name comparison: under 18 at this date. Fixed rather than today so that
# a model scores the same pair the same way next year; move it when the model is retrained.
CHILD_BORN_AFTER = dt.date(2008, 1, 1)


def fold(text: str) -> str:
    """Upper case, accents removed (Zoë -> ZOE, Wiśniewski -> WISNIEWSKI)."""
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in text if not unicodedata.combining(c)).upper()


def name_tokens(text: str) -> list[str]:
    """Words of a name: apostrophes and full stops dropped (O'Brien -> OBRIEN), hyphens split."""
    text = fold(text).replace("'", "").replace("\u2019", "").replace(".", "")
    text = _NOT_NAME.sub(" ", text).replace("-", " ")
    return [t for t in text.split() if t]


@lru_cache(maxsize=1)
def nickname_groups() -> dict[str, tuple[str, ...]]:
    """Folded name -> the equivalence groups it belongs to (`data/nicknames.csv`)."""
    table: dict[str, set[str]] = {}
    with (DATA_DIR / "nicknames.csv").open(encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        for row in rows:
            for token in name_tokens(row["name"]):
                table.setdefault(token, set()).add(row["group"])
    return {k: tuple(sorted(v)) for k, v in table.items()}


def given_groups(name: str) -> list[str]:
    """The name's equivalence groups; a name in no group is its own group."""
    return list(nickname_groups().get(name, (name,))) if name else []


def soundex(name: str) -> str:
    """American Soundex (the census form), for a blocking key that survives most typos."""
    if not name:
        return ""
    codes = {
        **dict.fromkeys("BFPV", "1"),
        **dict.fromkeys("CGJKQSXZ", "2"),
        **dict.fromkeys("DT", "3"),
        "L": "4",
        **dict.fromkeys("MN", "5"),
        "R": "6",
    }
    out, last = name[0], codes.get(name[0], "")
    for ch in name[1:]:
        code = codes.get(ch, "")
        if code and code != last:
            out += code
        if ch not in "HW":
            last = code
        if len(out) == 4:
            break
    return out.ljust(4, "0")


def postcode_parts(raw: str) -> tuple[str | None, str | None, str | None]:
    """(postcode without space, sector, district) for a UK postcode in any case and spacing;
    a postcode that is not in the UK form keeps its folded text and has no sector or district."""
    compact = re.sub(r"[^A-Z0-9]", "", fold(raw))
    if not compact:
        return None, None, None
    m = _UK_POSTCODE.match(compact)
    if not m:
        return compact, None, None
    outward, inward = m.groups()
    return compact, f"{outward} {inward[0]}", outward


def address_clean(raw: str) -> str | None:
    words = re.sub(r"[^A-Z0-9 ]", " ", fold(raw)).split()
    words = [_STREET_WORDS.get(w, w) for w in words]
    return " ".join(words) or None


def digits(raw: str, length: int) -> str | None:
    d = re.sub(r"\D", "", raw)
    return d if len(d) == length else None


def model_row(record: PersonRecord) -> dict[str, Any]:
    given = name_tokens(record.given_names)
    family = name_tokens(record.family_name)
    given_name = given[0] if given else None
    family_name = "".join(family) or None
    dob = record.date_of_birth
    postcode, sector, district = postcode_parts(record.postcode)
    upn = re.sub(r"[^A-Z0-9]", "", fold(record.upn)) or None
    return {
        "unique_id": record.record_id,
        "source": record.source,
        "given_name": given_name,
        "given_initial": given_name[0] if given_name else None,
        "given_all": given or None,
        "given_groups": given_groups(given_name) if given_name else None,
        "family_name": family_name,
        "family_parts": [p for p in family if len(p) > 1] or None,
        "family_sx": soundex(family_name) if family_name else None,
        # Given and family name in either order: one key finds a pair whose names are transposed.
        "name_pair": " ".join(sorted((given_name, family_name)))
        if given_name and family_name
        else None,
        "dob": dob.isoformat() if dob else None,
        "dob_y": dob.year if dob else None,
        "dob_m": dob.month if dob else None,
        "dob_d": dob.day if dob else None,
        # Day and month as one key (month * 100 + day): with the name, it finds a pair whose year
        # of birth was mistyped.
        "dob_md": dob.month * 100 + dob.day if dob else None,
        "is_child": (dob >= CHILD_BORN_AFTER) if dob else None,
        "sex": record.sex if record.sex in ("M", "F") else None,
        "address_line1": address_clean(record.address_line1),
        "town": " ".join(name_tokens(record.town)) or None,
        "postcode": postcode,
        "postcode_sector": sector,
        "postcode_district": district,
        "nhs_number": digits(record.nhs_number, 10),
        "upn": upn if upn and len(upn) == 13 else None,
    }


def model_rows(records: list[PersonRecord]) -> list[dict[str, Any]]:
    return [model_row(r) for r in records]


def columns_present(rows: list[dict[str, Any]]) -> set[str]:
    """The columns that have a value in at least one row."""
    present: set[str] = set()
    for row in rows:
        present.update(k for k, v in row.items() if v is not None)
    return present
