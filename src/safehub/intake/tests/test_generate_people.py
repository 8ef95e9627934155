"""`safehub generate --people N -o people.csv --truth truth.csv`: the person records the linkage
evaluation reads (person-records.md), deterministic for a seed."""

import csv

import pytest
from django.core.management import CommandError, call_command

from safehub.people.records import read_records, read_truth


def test_people_and_their_truth_are_written_in_the_spec_format(tmp_path):
    records, truth = tmp_path / "people.csv", tmp_path / "truth.csv"
    call_command(
        "generate_notifications", "--people", "300", "--seed", "5", "-o", records, "--truth", truth
    )
    parsed = read_records(records)
    assert len(parsed.records) == 300
    pairs = read_truth(truth, [r.record_id for r in parsed.records])
    assert len(pairs) == 300
    # Some people have more than one record, or there would be nothing to link.
    assert len(set(pairs.values())) < 300
    with records.open(newline="") as f:
        header = next(csv.reader(f))
    assert {"record_id", "given_names", "family_name", "date_of_birth", "postcode"} <= set(header)


def test_the_same_seed_gives_the_same_files(tmp_path):
    for run in ("a", "b"):
        call_command(
            "generate_notifications",
            "--people",
            "100",
            "--seed",
            "9",
            "-o",
            tmp_path / f"{run}.csv",
            "--truth",
            tmp_path / f"{run}-truth.csv",
        )
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a-truth.csv").read_bytes() == (tmp_path / "b-truth.csv").read_bytes()


def test_people_without_a_truth_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="--truth"):
        call_command("generate_notifications", "--people", "10", "-o", tmp_path / "p.csv")
