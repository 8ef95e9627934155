"""`safehub linkage load`, `run` and `train` against the person index."""

import csv
import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command
from django.test.utils import override_settings

from safehub.audit.models import AuditEvent
from safehub.people import model
from safehub.people.matching import DEFAULT_MODEL_VERSION, active_model
from safehub.people.models import LinkageModel, LinkMethod, LinkReview, Person, SourceRecord
from safehub.people.records import COLUMNS

pytestmark = pytest.mark.django_db

AMY = {
    "given_names": "Amy",
    "family_name": "Example",
    "date_of_birth": "2017-06-11",
    "sex": "F",
    "address_line1": "14 Example Road",
    "town": "Birkenhead",
    "postcode": "CH41 6AB",
}


# A band no pair reaches (the two Amys below score 1 - 2e-8).
NEVER = 1 - 1e-12


def write(path, rows):
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_load_links_each_row_and_rejects_bad_rows_with_their_reasons(tmp_path, capsys):
    path = write(
        tmp_path / "roll.csv",
        [
            {"record_id": "1", **AMY},
            {"record_id": "2", **AMY, "family_name": "Exampel", "postcode": "L1 8JQ"},
            {"record_id": "3", **AMY, "given_names": "", "family_name": ""},
            {"record_id": "4", **AMY, "given_names": "Leo", "nhs_number": "1234567890"},
            {"record_id": "5", **AMY, "given_names": "Ola", "upn": "not-a-upn"},
        ],
    )
    rejects = tmp_path / "rejects.csv"
    call_command("linkage", "load", path, "--source", "school-roll", "--rejects", rejects)
    out, err = capsys.readouterr()
    assert "rejected 3: no given_names and no family_name" in err
    assert "rejected 4: nhs_number '1234567890' is not a valid NHS number" in err
    assert "rejected 5: upn 'not-a-upn'" in err
    assert "5 rows; 2 loaded" in out and "3 rejected" in out
    assert [r["record_id"] for r in csv.DictReader(rejects.open())] == ["3", "4", "5"]
    stored = {r.source_ref: r for r in SourceRecord.objects.all()}
    assert set(stored) == {"1", "2"}
    assert stored["1"].source == "school-roll" and stored["1"].values["family_name"] == "Example"
    # The second row is the first child with a typo and a new postcode: one person, or a review.
    second = stored["2"]
    assert second.person_id == stored["1"].person_id or (
        LinkReview.objects.filter(record=second, candidate_id=stored["1"].person_id).exists()
    )
    assert AuditEvent.objects.filter(object_type="people.PartnerFile").count() == 1

    # Again: nothing is loaded twice.
    call_command("linkage", "load", path, "--source", "school-roll")
    assert "0 loaded" in capsys.readouterr().out and SourceRecord.objects.count() == 2


def test_a_file_that_cannot_be_read_writes_nothing(tmp_path):
    path = write(tmp_path / "bad.csv", [{"record_id": "1", **AMY}, {"record_id": "1", **AMY}])
    with pytest.raises(CommandError, match="appears more than once"):
        call_command("linkage", "load", path, "--source", "x")
    assert not SourceRecord.objects.exists() and not Person.objects.exists()


def _two_separate_amys(tmp_path):
    """Two records of one child loaded while the bands put nothing together."""
    path = write(
        tmp_path / "a.csv",
        [
            {"record_id": "1", **AMY},
            {"record_id": "2", **AMY, "family_name": "Exampel", "postcode": "L1 8JQ"},
        ],
    )
    with override_settings(SAFEHUB_LINKAGE_AUTO_LINK=NEVER, SAFEHUB_LINKAGE_REVIEW=NEVER):
        call_command("linkage", "load", path, "--source", "a")
    records = list(SourceRecord.objects.order_by("source_ref"))
    assert len({r.person_id for r in records}) == 2 and not LinkReview.objects.exists()
    return records


@override_settings(SAFEHUB_LINKAGE_AUTO_LINK=NEVER)
def test_run_proposes_what_it_finds_into_clerical_review(tmp_path, capsys):
    first, second = _two_separate_amys(tmp_path)
    call_command("linkage", "run", "--batch-size", "1")
    [review] = LinkReview.objects.all()
    assert review.origin == "run" and review.status == "open"
    assert {review.record_id, review.candidate_id} & {first.pk, second.pk, first.person_id,
                                                      second.person_id}  # fmt: skip
    assert review.match_evidence["comparisons"]["dob"]["level"].startswith("Exact match")
    # Nothing was rewritten.
    assert {r.person_id for r in SourceRecord.objects.all()} == {first.person_id, second.person_id}
    assert "1 clerical reviews opened" in capsys.readouterr().out
    # A second run proposes nothing new.
    call_command("linkage", "run")
    assert LinkReview.objects.count() == 1


def test_run_links_a_lone_record_where_new_and_existing_evidence_agree(tmp_path):
    _first, _second = _two_separate_amys(tmp_path)
    call_command("linkage", "run")
    assert SourceRecord.objects.values("person_id").distinct().count() == 1
    moved = SourceRecord.objects.get(link_method=LinkMethod.AUTO)
    assert moved.match_probability >= 0.99 and not LinkReview.objects.filter(status="open")


def test_run_rehashes_the_keys_after_the_linkage_key_changes(tmp_path, capsys):
    first, _ = _two_separate_amys(tmp_path)
    with override_settings(SAFEHUB_LINKAGE_KEY="another key"):
        call_command("linkage", "run")
        assert SourceRecord.objects.get(pk=first.pk).address_key != first.address_key
    assert "2 records rehashed" in capsys.readouterr().out


def test_run_rehashes_only_when_a_sample_shows_a_change_or_when_asked(tmp_path, capsys):
    _two_separate_amys(tmp_path)
    call_command("linkage", "run")
    assert "blocking keys unchanged (a sample checked)" in capsys.readouterr().out
    call_command("linkage", "run", "--rehash")
    assert "0 records rehashed" in capsys.readouterr().out


@pytest.fixture
def people(tmp_path, monkeypatch):
    monkeypatch.setattr(model, "U_SAMPLE_PAIRS", 1.5e5)
    records, truth = tmp_path / "people.csv", tmp_path / "truth.csv"
    call_command("linkage", "generate", "--people", "1500", "-o", records, "--truth", truth)
    return records


def test_train_stores_a_version_with_what_it_was_trained_on(people, tmp_path):
    from safehub.people.evaluation import sha256_of

    assert active_model().version == DEFAULT_MODEL_VERSION
    call_command("linkage", "train", "--records", people)
    stored = LinkageModel.objects.get()
    assert stored.version == 1 and stored.active
    assert stored.trained_on["records"] == 1500
    assert stored.trained_on["sha256"] == sha256_of(people)
    assert stored.trained_on["date"] == dt.date.today().isoformat()
    assert set(stored.trained_on["sources"]) >= {"health", "police"}
    assert stored.document["term_frequencies"]["given_name"]["default"] > 0
    assert active_model().version == 1
    # From the index, and to a file as well.
    call_command("linkage", "load", people, "--source", "gen")
    out = tmp_path / "m.json"
    call_command("linkage", "train", "-o", out)
    latest = LinkageModel.objects.first()
    assert latest.version == 2 and latest.trained_on["from"] == "person index"
    assert out.is_file() and active_model().version == 2
    # The index's records are the file's: the same counts of the same values.
    assert latest.trained_on["records"] == 1500
    assert latest.document["term_frequencies"] == stored.document["term_frequencies"]
    # The digest is of what was read: the same index, the same digest; a record erased under
    # the retention policy is not read, and the digest changes.
    again = tmp_path / "again.json"
    call_command("linkage", "train", "--no-store", "-o", again)
    assert json.loads(again.read_text())["trained"]["sha256"] == latest.trained_on["sha256"]
    SourceRecord.objects.filter(pk=SourceRecord.objects.order_by("pk").first().pk).update(
        erased_at=dt.datetime(2032, 1, 1, tzinfo=dt.UTC)
    )
    call_command("linkage", "train", "--no-store", "-o", again)
    trained = json.loads(again.read_text())["trained"]
    assert trained["records"] == 1499 and trained["sha256"] != latest.trained_on["sha256"]


def test_the_index_digest_does_not_depend_on_the_exports_chunks_or_order():
    """DuckDB may hand the exported rows back cut into other chunks, or in another order, from
    one run to the next: the digest of the same rows is the same; of other rows, not."""
    import pyarrow as pa

    from safehub.people.services import ExportedIndex, index_digest

    rows = [{"unique_id": str(i), "source": "s", "given_name": f"N{i}"} for i in range(12)]
    table = pa.Table.from_pylist(rows, schema=model.SCHEMA)
    ids = list(range(12))
    shuffled = pa.concat_tables([table.slice(7), table.slice(0, 3), table.slice(3, 4)])
    assert shuffled.column("unique_id").num_chunks == 3
    digest = index_digest(ExportedIndex(table, ids, [], []))
    assert index_digest(ExportedIndex(shuffled, ids, [], [])) == digest
    rows[5]["given_name"] = "M5"
    other = pa.Table.from_pylist(rows, schema=model.SCHEMA)
    assert index_digest(ExportedIndex(other, ids, [], [])) != digest


@pytest.mark.parametrize("kept", ["first", "second"])
def test_run_neither_links_nor_proposes_again_a_pair_kept_apart(tmp_path, kept):
    """A person kept a record apart from the other Amy: `linkage run`, which would link them
    (see above), leaves them apart and opens no review, whichever of the two it would propose."""
    first, second = _two_separate_amys(tmp_path)
    record, other = (first, second) if kept == "first" else (second, first)
    LinkReview.objects.create(
        record=record,
        candidate_id=other.person_id,
        match_probability=0.999,
        match_evidence={},
        origin="run",
        status="kept_apart",
        created_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    )
    call_command("linkage", "run")
    assert SourceRecord.objects.values("person_id").distinct().count() == 2
    assert not LinkReview.objects.filter(status="open").exists()


@override_settings(SAFEHUB_LINKAGE_AUTO_LINK=NEVER)
def test_records_stored_before_features_were_kept_are_matched_and_then_given_them(tmp_path, capsys):
    """A record with no stored features (stored before they were kept) is read from its values,
    by matching and by the run's export alike, and the run's sample finds it and stores them."""
    from safehub.people.matching import stored_rows
    from safehub.people.services import index_export

    first, second = _two_separate_amys(tmp_path)
    expected = stored_rows([first.pk, second.pk])
    SourceRecord.objects.filter(pk=first.pk).update(features={})
    assert stored_rows([first.pk, second.pk]) == expected
    exported = index_export(batch_size=1)
    rows = {exported.ids[int(r["unique_id"])]: r for r in exported.table.to_pylist()}
    for pk in (first.pk, second.pk):
        # The same row as matching reads (the export numbers records by position instead).
        assert {k: v for k, v in rows[pk].items() if k != "unique_id"} == {
            k: expected[pk].get(k) for k in rows[pk] if k != "unique_id"
        }
    call_command("linkage", "run")
    assert "1 records rehashed" in capsys.readouterr().out
    assert SourceRecord.objects.get(pk=first.pk).features == {**expected[first.pk],
                                                               "unique_id": "1"}  # fmt: skip
    [review] = LinkReview.objects.all()
    assert review.origin == "run"
