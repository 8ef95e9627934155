"""`safehub linkage evaluate | train | generate | febrl4` end to end."""

import json

import pytest
from django.core.management import CommandError, call_command

from safehub.people import evaluation, model


@pytest.fixture(autouse=True)
def fewer_u_pairs(monkeypatch):
    # A tenth of the random pairs that estimate u: enough for 1,500 records, and lean on CI.
    monkeypatch.setattr(model, "U_SAMPLE_PAIRS", 1.5e5)


@pytest.fixture
def people(tmp_path):
    records, truth = tmp_path / "people.csv", tmp_path / "truth.csv"
    call_command("linkage", "generate", "--people", "1500", "-o", records, "--truth", truth)
    return records, truth


def test_evaluate_prints_the_json_the_spec_gives(people, capsys):
    records, truth = people
    call_command("linkage", "evaluate", "--records", records, "--truth", truth, "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["records"] == 1500
    assert out["candidate_pairs"] > 0
    assert set(out["seconds"]) == {"train", "predict", "cluster"}
    assert [t["threshold"] for t in out["thresholds"]] == list(evaluation.THRESHOLDS)
    assert set(out["thresholds"][0]) == {"threshold", "precision", "recall", "f1"}
    assert out["best"]["f1"] == max(t["f1"] for t in out["thresholds"])
    assert out["best"]["f1"] >= 0.9


def test_evaluate_reports_unreadable_dates_and_prints_a_table(capsys, tmp_path):
    records, truth = tmp_path / "small.csv", tmp_path / "small_truth.csv"
    call_command("linkage", "generate", "--people", "300", "-o", records, "--truth", truth)
    text = records.read_text().splitlines()
    header = text[0].split(",")
    dob = header.index("date_of_birth")
    first = text[1].split(",")
    first[dob] = "31/02/2017"
    text[1] = ",".join(first)
    records.write_text("\n".join(text) + "\n")
    call_command("linkage", "evaluate", "--records", records, "--truth", truth)
    captured = capsys.readouterr()
    assert "31/02/2017" in captured.err and "treated as unknown" in captured.err
    assert "threshold" in captured.out and "precision" in captured.out


def test_evaluate_refuses_a_truth_that_does_not_cover_the_records(people, tmp_path):
    records, truth = people
    lines = truth.read_text().splitlines()
    truth.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(CommandError, match="no person_id"):
        call_command("linkage", "evaluate", "--records", records, "--truth", truth)


@pytest.mark.django_db
def test_train_stores_the_model_with_what_it_was_trained_on(people, tmp_path):
    from safehub.people.models import LinkageModel

    records, _ = people
    out = tmp_path / "model.json"
    call_command("linkage", "train", "--records", records, "-o", out)
    stored = LinkageModel.objects.get()
    assert stored.active and stored.trained_on["records"] == 1500
    model = json.loads(out.read_text())
    assert model["format"] == "safehub-linkage-model" and model["version"] == 1
    assert model["trained"]["records"] == 1500
    assert model["trained"]["sha256"] == evaluation.sha256_of(records)
    assert model["splink_settings"]["comparisons"]
    assert model["splink_settings"]["probability_two_random_records_match"] > 0


def test_a_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("linkage", "train", "--records", tmp_path / "nope.csv")


def test_run_on_spark_without_spark_is_a_command_error(monkeypatch):
    from safehub.people import spark

    reason = "Java is not installed (Spark needs Java 17 or later on PATH or in JAVA_HOME)"
    monkeypatch.setattr(spark, "spark_unavailable", lambda: reason)
    # Refused before the index is read: no database in this test.
    with pytest.raises(CommandError) as refused:
        call_command("linkage", "run", "--backend", "spark")
    assert str(refused.value) == f"--backend spark: {reason}"
