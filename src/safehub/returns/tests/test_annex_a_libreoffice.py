"""Annex A opens in a real spreadsheet: LibreOffice (headless) converts every sheet of the
workbook to CSV, and the four lists are there with Ofsted's column names and one row per contact,
referral, assessment and enquiry of the period, dates shown as dd/mm/yyyy.

Needs LibreOffice Calc on PATH (`apt-get install -y --no-install-recommends
libreoffice-calc-nogui`, 7.2 or later for the all-sheets CSV export); skipped without it.
"""

import csv
import datetime as dt
import os
import shutil
import subprocess

import pytest

from safehub.core import clock
from safehub.returns.annex_a import SHEETS, annex_a_write
from safehub.returns.tests.test_annex_a import AFTER, END, START, build_world

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
# Comma, double quote, UTF-8, from line 1, default cell format, default language, quoted fields
# not as text, special numbers detected, cells saved as shown (the dates as dd/mm/yyyy), no
# formulas, spaces kept, every sheet to a file of its own (LibreOffice 7.2+).
ALL_SHEETS_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"

pytestmark = pytest.mark.skipif(
    SOFFICE is None,
    reason=(
        "LibreOffice is not installed: `apt-get install -y --no-install-recommends "
        "libreoffice-calc-nogui` to check that Annex A opens in a real spreadsheet"
    ),
)


def convert(workbook, folder):
    """Every sheet of `workbook` as CSV rows, by sheet name, as LibreOffice reads them."""
    out = folder / "csv"
    profile = folder / "profile"  # a profile of its own: tests running at once do not share one
    result = subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            ALL_SHEETS_CSV,
            "--outdir",
            str(out),
            str(workbook),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "HOME": str(folder)},
    )
    assert result.returncode == 0, result.stderr
    sheets = {}
    for path in sorted(out.glob("*.csv")):
        name = path.stem.removeprefix(f"{workbook.stem}-")
        with path.open(encoding="utf-8", newline="") as handle:
            sheets[name] = list(csv.reader(handle))
    assert sheets, f"LibreOffice wrote no CSV: {result.stdout} {result.stderr}"
    return sheets


@pytest.mark.django_db
def test_annex_a_opens_in_libreoffice_with_the_four_lists_and_a_row_for_each_record(
    make_user, tmp_path
):
    world = build_world(make_user)
    path = tmp_path / "annex-a.xlsx"
    with clock.frozen(AFTER):
        summary = annex_a_write(world.council, START, END, path)

    sheets = convert(path, tmp_path)

    assert list(sheets) == ["List 1", "List 3", "List 4", "List 5"]
    for name, columns in SHEETS.items():
        rows = sheets[name]
        assert rows[0] == list(columns), name
        assert len(rows) - 1 == summary.rows[name], name
    assert summary.rows == {"List 1": 7, "List 3": 3, "List 4": 3, "List 5": 1}

    # Shown as a person reading the sheet sees them.
    first = sheets["List 1"][1]
    assert first[5] == "01/06/2026"
    assert first[6] == "t) 9: Anonymous"
    assert [row[6] for row in sheets["List 1"][1:]].count("q) 6: Police") == 4
    [enquiry] = sheets["List 5"][1:]
    assert enquiry[3] == "02/03/2015" and enquiry[4] == "11"
    assert enquiry[6:10] == ["16/09/2026", "b) No", "05/10/2026", "a) Yes"]
    assert dt.datetime.strptime(sheets["List 3"][2][5], "%d/%m/%Y").date() == dt.date(2026, 7, 10)
