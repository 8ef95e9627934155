"""`safehub export cin-census`, end to end through call_command: the council named by its code
or its LA number, the file written and summarised, or refused with every problem and exit 1."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from lxml import etree

from safehub.casework.models import Section47
from safehub.core import clock
from safehub.returns.census import census_schema
from safehub.returns.tests.test_census_build import WRITTEN_AT, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_user):
    return build_world(make_user)


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with clock.frozen(WRITTEN_AT):
        call_command("export", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("code", ["LA344", "344", "la344"])
def test_it_writes_the_census_of_the_council_named_by_code_or_la_number(world, tmp_path, code):
    path = tmp_path / "census.xml"
    out, err = run("cin-census", "--council", code, "--year", "2026", "-o", str(path))
    assert census_schema().validate(etree.parse(str(path)))
    assert "Wrote the CIN census 2026 for" in out and "(LA 344)" in out
    assert "Children" in out and "Section 47 enquiries" in out
    lines = {line.split("  ")[1].strip(): line.split()[-1] for line in out.splitlines()[:8]}
    assert lines["Children"] == "4" and lines["Episodes"] == "4"
    assert lines["Initial conferences"] == "1" and lines["Queries"] == "0"
    assert err == ""


def test_la_is_the_same_option_as_council(world, tmp_path):
    path = tmp_path / "census.xml"
    run("cin-census", "--la", "344", "--year", "2026", "--output", str(path))
    assert path.exists()


def test_a_broken_record_is_listed_and_the_command_fails_writing_nothing(world, tmp_path):
    ben = world.episodes["ben"]
    Section47.objects.filter(episode=ben).update(icpc_on=dt.date(2025, 6, 22))  # a Sunday
    path = tmp_path / "census.xml"
    out, err = io.StringIO(), io.StringIO()
    with clock.frozen(WRITTEN_AT), pytest.raises(CommandError, match="no file was written"):
        call_command(
            "export", "cin-census", "--council", "LA344", "--year", "2026", "-o", str(path),
            stdout=out, stderr=err,
        )  # fmt: skip
    assert not path.exists() and list(tmp_path.iterdir()) == []
    errors = err.getvalue()
    assert f"rule 8875 (error), child {ben.child_id}: DateOfInitialCPC '2025-06-22'" in errors
    # The plan that started on the conference's recorded day no longer matches it.
    assert f"rule 2885 (error), child {ben.child_id}" in errors


def test_check_lists_problems_and_writes_nothing(world, tmp_path):
    out, _ = run("cin-census", "--council", "LA344", "--year", "2026", "--check")
    assert "it is valid" in out
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_council_or_a_school_is_refused(world, tmp_path):
    with pytest.raises(CommandError, match="No council"):
        run("cin-census", "--council", "LA999", "--year", "2026", "--check")
    with pytest.raises(CommandError, match="No council"):
        run("cin-census", "--council", "MSP", "--year", "2026", "--check")


def test_an_unwritable_path_is_an_error_not_a_traceback(world, tmp_path):
    with pytest.raises(CommandError, match="Could not write"):
        run(
            "cin-census", "--council", "344", "--year", "2026", "-o", str(tmp_path / "no" / "x.xml")
        )


def test_a_year_not_started_is_refused(world, tmp_path):
    with pytest.raises(CommandError, match="has not started"):
        run("cin-census", "--council", "344", "--year", "2031", "-o", str(tmp_path / "x.xml"))
    assert list(tmp_path.iterdir()) == []


def test_annex_a_is_a_subcommand_of_the_same_command(world, tmp_path):
    from safehub.audit.models import Action, AuditEvent

    path = tmp_path / "annex-a.xlsx"
    out, _ = run(
        "annex-a", "--council", "LA344", "--from", "2025-06-01", "--to", "2025-11-30",
        "-o", str(path),
    )  # fmt: skip
    assert path.exists()
    assert "Wrote Annex A for" in out and "01 June 2025 to 30 November 2025" in out
    event = AuditEvent.objects.get(action=Action.EXPORT, object_type="returns.annex_a")
    assert event.object_id == "LA344/2025-06-01/2025-11-30"


def test_annex_a_defaults_to_the_six_months_to_today(world, tmp_path):
    from safehub.audit.models import AuditEvent

    run("annex-a", "--la", "344", "-o", str(tmp_path / "annex-a.xlsx"))
    event = AuditEvent.objects.get(object_type="returns.annex_a")
    assert event.object_id == "LA344/2025-12-02/2026-06-01"
