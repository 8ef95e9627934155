"""The model on Splink's Spark backend gives the same clusters as on DuckDB (issue 4 item 6)."""

import pytest

from safehub.people import model
from safehub.people.evaluation import _linker, evaluate
from safehub.people.features import model_rows
from safehub.people.febrl import febrl4_write
from safehub.people.records import read_records, read_truth
from safehub.people.spark import spark_unavailable

pytest.importorskip("recordlinkage")
_reason = spark_unavailable()
pytestmark = pytest.mark.skipif(_reason is not None, reason=f"no local Spark: {_reason}")


def _clusters(cluster_of: dict[str, str]) -> set[frozenset[str]]:
    members: dict[str, set[str]] = {}
    for record, cluster in cluster_of.items():
        members.setdefault(cluster, set()).add(record)
    return {frozenset(m) for m in members.values()}


@pytest.fixture(scope="module")
def febrl4(tmp_path_factory):
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
