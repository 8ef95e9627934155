"""`safehub audit export`: the audit log for the information governance lead, as CSV."""

import csv
import datetime as dt
import hashlib
import io
import stat
import tracemalloc

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models.query import QuerySet
from django.test.utils import CaptureQueriesContext

from safehub.accounts.models import Agency
from safehub.audit import export as export_module
from safehub.audit.chain import audit_seal
from safehub.audit.export import COLUMNS, safe_cell
from safehub.audit.models import Action, AuditEvent, AuditSeal
from safehub.audit.tests.helpers import T0, insert_many_events, make_events

pytestmark = pytest.mark.django_db

DAY = "2026-11-24"


def event(**fields) -> AuditEvent:
    """One event as make_events writes them, any field changed."""
    values = {
        "at": T0,
        "actor": "Alice Archer",
        "role": "hub_social_worker",
        "action": "view",
        "object_type": "referrals.contact",
        "object_id": "1000",
        "purpose": "triage",
        "request_id": "req-0",
        **fields,
    }
    return AuditEvent.objects.create(**values)


def export(tmp_path, *args: str, name: str = "out.csv") -> tuple[list[dict[str, str]], str]:
    """Run the export; returns the rows read back and what the command printed."""
    path = tmp_path / name
    out = io.StringIO()
    call_command("audit", "export", *args, "-o", str(path), stdout=out)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        return list(reader), out.getvalue()


def day(tmp_path, *extra: str) -> list[dict[str, str]]:
    return export(tmp_path, "--from", DAY, "--to", DAY, *extra)[0]


def test_one_row_per_event_with_its_seal_once_sealed(tmp_path):
    msp = Agency.objects.create(kind="police_force", code="MSP", name="Merseyside Police")
    events = make_events(5, at=T0, step=dt.timedelta(minutes=1), agency=msp)
    # The first three are sealed; the last two not yet.
    audit_seal(now=T0 + dt.timedelta(minutes=2, seconds=30))
    rows = day(tmp_path)
    assert len(rows) == 5
    first = rows[0]
    assert first == {
        "at": "2026-11-24T09:00:00.000000Z",
        "actor": "Alice Archer",
        "role": "hub_social_worker",
        "agency": "Merseyside Police",
        "action": "view",
        "object_type": "referrals.contact",
        "object_id": "1000",
        "purpose": "triage",
        "request_id": "req-0",
        "detail": '{"child": "Zoë", "fields": ["name", "dob"], "n": 0}',
        "seal_seq": "1",
        "seal_hash": AuditSeal.objects.get(event=events[0]).hash,
    }
    assert [r["seal_seq"] for r in rows] == ["1", "2", "3", "", ""]
    assert [r["seal_hash"] == "" for r in rows] == [False, False, False, True, True]


def test_the_period_is_london_days_with_both_ends_included(tmp_path):
    # In July, London is an hour ahead of UTC.
    event(at=dt.datetime(2026, 6, 30, 22, 59, tzinfo=dt.UTC), object_type="before")
    event(at=dt.datetime(2026, 6, 30, 23, 0, tzinfo=dt.UTC), object_type="first")
    event(at=dt.datetime(2026, 7, 31, 22, 59, tzinfo=dt.UTC), object_type="last")
    event(at=dt.datetime(2026, 7, 31, 23, 0, tzinfo=dt.UTC), object_type="after")
    rows, _ = export(tmp_path, "--from", "2026-07-01", "--to", "2026-07-31")
    assert [(r["object_type"], r["at"]) for r in rows] == [
        ("first", "2026-06-30T23:00:00.000000Z"),
        ("last", "2026-07-31T22:59:00.000000Z"),
    ]


def test_filters_by_kind_of_record_record_and_person(tmp_path, alice, bob):
    make_events(2, at=T0, user=alice)
    make_events(1, at=T0, user=bob)
    event(object_type="encompass.notice", object_id="7")
    assert len(day(tmp_path)) == 4
    assert [r["object_type"] for r in day(tmp_path, "--object-type", "encompass.notice")] == [
        "encompass.notice"
    ]
    assert len(day(tmp_path, "--object-type", "referrals.contact", "--object-id", "1000")) == 2
    assert len(day(tmp_path, "--user", "alice")) == 2
    assert len(day(tmp_path, "--user", "bob", "--object-id", "1000")) == 1
    assert day(tmp_path, "--user", "bob", "--object-id", "1001") == []


def test_an_unknown_person_or_a_backwards_period_is_refused_and_nothing_written(tmp_path):
    make_events(1, at=T0)
    with pytest.raises(CommandError, match="No user is called 'nobody'"):
        day(tmp_path, "--user", "nobody")
    with pytest.raises(CommandError, match="ends before it starts"):
        export(tmp_path, "--from", "2026-11-25", "--to", "2026-11-24")
    with pytest.raises(CommandError, match="--from"):
        export(tmp_path, "--from", "24/11/2026", "--to", DAY)
    assert list(tmp_path.iterdir()) == []
    assert AuditEvent.objects.count() == 1


def test_the_export_is_audited_with_its_filters_rows_and_hash(tmp_path):
    make_events(3, at=T0)
    path = tmp_path / "ig.csv"
    out = io.StringIO()
    call_command(
        "audit",
        "export",
        "--from",
        DAY,
        "--to",
        DAY,
        "--object-type",
        "referrals.contact",
        "--purpose",
        "subject access request 42",
        "-o",
        str(path),
        stdout=out,
    )
    event = AuditEvent.objects.get(action=Action.EXPORT)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert event.actor.startswith("command line")
    assert (event.object_type, event.purpose) == ("audit.auditevent", "subject access request 42")
    assert event.detail == {
        "filters": {"start": DAY, "end": DAY, "object_type": "referrals.contact"},
        "rows": 3,
        "file": "ig.csv",
        "sha256": digest,
    }
    assert out.getvalue() == (
        f"Exported 3 audit events to {path} (SHA-256 {digest}); "
        f"the export is recorded as audit event {event.pk}.\n"
    )


def test_the_file_is_readable_by_its_owner_only(tmp_path):
    make_events(1, at=T0)
    day(tmp_path)
    mode = stat.S_IMODE((tmp_path / "out.csv").stat().st_mode)
    assert mode == 0o600


def test_a_failed_export_leaves_no_file_and_no_record(tmp_path, monkeypatch):
    make_events(3, at=T0)

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(export_module, "audit_record", broken)
    with pytest.raises(RuntimeError):
        day(tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert not AuditEvent.objects.filter(action=Action.EXPORT).exists()


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+44 151 000 0000", "'+44 151 000 0000"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Alice = Archer", "Alice = Archer"),
        ("", ""),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_made_inert(value, cell):
    assert safe_cell(value) == cell


def test_every_text_column_is_made_inert_in_the_file(tmp_path):
    event(
        actor="=cmd|' /C calc'!A0",
        role="+role",
        object_type="-type",
        object_id="@id",
        purpose="=purpose",
        request_id="+req",
    )
    (row,) = day(tmp_path)
    assert row["actor"] == "'=cmd|' /C calc'!A0"
    assert [row[c] for c in ("role", "object_type", "object_id", "purpose", "request_id")] == [
        "'+role",
        "'-type",
        "'@id",
        "'=purpose",
        "'+req",
    ]


def test_twenty_thousand_events_are_streamed_not_loaded(tmp_path, monkeypatch):
    insert_many_events(20_000)

    def never(self):
        raise AssertionError("the export loaded a whole queryset into memory")

    monkeypatch.setattr(QuerySet, "_fetch_all", never)
    with CaptureQueriesContext(connection) as queries:
        rows, out = export(tmp_path, "--from", DAY, "--to", DAY)
    assert out.startswith("Exported 20000 audit events")
    assert len(rows) == 20_000
    assert rows[-1]["object_id"] == "20999"
    # One SELECT of the events (a cursor read in chunks of 2,000), whatever the number of rows.
    selects = [q["sql"] for q in queries.captured_queries if "audit_auditseal" in q["sql"]]
    assert len(selects) == 1, selects


def test_the_export_of_twenty_thousand_holds_a_few_chunks_at_most(tmp_path):
    """Memory: the export's own peak with 20,000 events is well under what holding them takes."""
    insert_many_events(20_000)
    filters = export_module.ExportFilters(start=T0.date(), end=T0.date())
    tracemalloc.start()
    try:
        export_module.audit_export(filters=filters, path=tmp_path / "a.csv", exported_by="test")
        _, streamed = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        held = list(export_module.audit_export_queryset(filters=filters))
        _, loaded = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(held) == 20_000
    assert streamed < loaded / 3, (streamed, loaded)
