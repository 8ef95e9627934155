"""`people_generate`: English people with the noise that real records have, and their truth."""

import csv
import re

from safehub.people.generator import people_generate
from safehub.people.records import read_records, read_truth


def test_the_same_seed_writes_the_same_files(tmp_path):
    people_generate(400, 7, tmp_path / "a.csv", tmp_path / "a_t.csv")
    people_generate(400, 7, tmp_path / "b.csv", tmp_path / "b_t.csv")
    people_generate(400, 8, tmp_path / "c.csv", tmp_path / "c_t.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a_t.csv").read_bytes() == (tmp_path / "b_t.csv").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()


def test_it_writes_n_records_that_parse_and_a_truth_that_covers_them(tmp_path):
    assert people_generate(2000, 1, tmp_path / "p.csv", tmp_path / "t.csv") == 2000
    parsed = read_records(tmp_path / "p.csv")
    truth = read_truth(tmp_path / "t.csv", [r.record_id for r in parsed.records])
    assert len(parsed.records) == 2000
    assert 500 < len(set(truth.values())) < 1500  # most people are recorded more than once


def test_the_records_carry_the_noise_of_real_ones(tmp_path):
    people_generate(3000, 1, tmp_path / "p.csv", tmp_path / "t.csv")
    with (tmp_path / "p.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    postcodes = [r["postcode"] for r in rows if r["postcode"]]
    assert any(" " in p for p in postcodes) and any(" " not in p for p in postcodes)
    assert any(p.islower() for p in postcodes)
    dobs = [r["date_of_birth"] for r in rows]
    assert any(re.fullmatch(r"\d{2}/\d{2}/\d{4}", d) for d in dobs)
    assert any(re.fullmatch(r"\d{8}", d) for d in dobs)
    assert any("-" in r["family_name"] for r in rows)  # double-barrelled
    assert any(r["nhs_number"] for r in rows) and any(r["upn"] for r in rows)
    truth = dict(csv.reader((tmp_path / "t.csv").open()))
    by_person: dict[str, set[str]] = {}
    for r in rows:
        by_person.setdefault(truth[r["record_id"]], set()).add(r["given_names"].split()[0])
    nicknamed = [
        names
        for names in by_person.values()
        if {"Bill", "William"} <= names
        or {"Tom", "Thomas"} <= names
        or {"Kate", "Katherine"} <= names
        or {"Jim", "James"} <= names
        or {"Jamie", "James"} <= names
    ]
    assert nicknamed
