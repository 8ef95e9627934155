"""`safehub linkage evaluate` and `train`: link a records file as a deduplication task and
measure it against a truth file (spec/person-records.md)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import splink
from splink import DuckDBAPI, Linker, SettingsCreator

from safehub.people import model
from safehub.people.features import columns_present, model_rows
from safehub.people.records import ParsedRecords

THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.99, 0.999)
BACKENDS = ("duckdb", "spark")


@dataclass
class Evaluation:
    records: int
    candidate_pairs: int
    seconds: dict[str, float]
    thresholds: list[dict[str, float]]
    best: dict[str, float]
    clusters: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    backend: str = "duckdb"
    # record_id -> cluster id at the best threshold (not in the JSON: as large as the input)
    cluster_of: dict[str, str] = field(default_factory=dict, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "candidate_pairs": self.candidate_pairs,
            "seconds": self.seconds,
            "thresholds": self.thresholds,
            "best": self.best,
            "clusters": self.clusters,
            "backend": self.backend,
        }


def _quiet() -> None:
    # Splink logs every step at INFO; the command prints its own summary.
    logging.getLogger("splink").setLevel(logging.WARNING)


def _linker(
    rows: list[dict[str, Any]], settings: SettingsCreator | None, *, retain: bool
) -> Linker:
    _quiet()
    db_api = DuckDBAPI()
    table = model.register_rows(db_api, rows)
    if settings is None:
        settings = model.safehub_settings(retain_columns=retain, columns=columns_present(rows))
    return Linker(table, settings, log_level=None)


def _scores(p: int, tp: int, actual: int) -> dict[str, float]:
    precision = tp / p if p else 1.0
    recall = tp / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _fetch(linker: Linker, sql: str) -> pa.Table:
    """A query's result as Arrow, from the linker's own database (DuckDB or Spark)."""
    if isinstance(linker._db_api, DuckDBAPI):
        return linker._db_api.duckdb_con.sql(sql).to_arrow_table()
    from safehub.people.spark import spark_fetch

    return spark_fetch(linker, sql)


def evaluate(
    parsed: ParsedRecords,
    truth: dict[str, str],
    *,
    settings: SettingsCreator | None = None,
    thresholds: tuple[float, ...] = THRESHOLDS,
    backend: str = "duckdb",
    spark_master: str | None = None,
    trained: dict[str, Any] | None = None,
) -> Evaluation:
    """Train on the records, predict, cluster; pairwise precision, recall and F1 of the scored
    pairs at each threshold, and of the clusters at the best one.

    The model is always estimated on DuckDB (or `trained`, a saved model's Splink settings, is
    applied); `backend="spark"` then predicts and clusters on Spark with those parameters."""
    if backend not in BACKENDS:
        raise ValueError(f"backend: one of {', '.join(BACKENDS)}, not {backend}")
    seconds: dict[str, float] = {}
    rows = model_rows(parsed.records)
    if settings is None:
        settings = model.safehub_settings(retain_columns=False, columns=columns_present(rows))
        floor = True
    else:
        floor = False
    linker = _linker(rows, settings, retain=False)

    start = time.perf_counter()
    if trained is None:
        model.train(linker, record_count=len(rows), floor=floor)
        trained = linker.misc.save_model_to_json()
    else:
        model.apply_parameters(linker, trained)
    seconds["train"] = round(time.perf_counter() - start, 2)

    if backend == "spark":
        from safehub.people.spark import spark_linker, spark_session

        start = time.perf_counter()
        linker = spark_linker(rows, settings, trained, spark=spark_session(spark_master))
        seconds["spark_start"] = round(time.perf_counter() - start, 2)

    start = time.perf_counter()
    predictions = linker.inference.predict(warning_mode="never")
    # Splink's own table names and a float: no input in this SQL.
    table = predictions.physical_name
    candidate_pairs = _fetch(linker, f"SELECT count(*) AS n FROM {table}")  # noqa: S608
    pairs = _fetch(
        linker,
        "SELECT unique_id_l, unique_id_r, match_probability "  # noqa: S608
        f"FROM {table} WHERE match_probability >= {float(min(thresholds))}",
    )
    seconds["predict"] = round(time.perf_counter() - start, 2)

    # Measured in a DuckDB of its own, whichever backend linked.
    con = duckdb.connect()
    con.register(
        "truth_in", pa.table({"record_id": list(truth), "person_id": list(truth.values())})
    )
    con.execute("CREATE TEMP TABLE truth AS SELECT * FROM truth_in")
    con.register("pairs", pairs)
    actual = con.execute(
        "SELECT coalesce(sum(n * (n - 1) / 2), 0)::BIGINT "
        "FROM (SELECT count(*) AS n FROM truth GROUP BY person_id)"
    ).fetchall()[0][0]
    scored = con.execute(
        """
        SELECT p.match_probability, (tl.person_id = tr.person_id) AS same
        FROM pairs p
        JOIN truth tl ON tl.record_id = p.unique_id_l
        JOIN truth tr ON tr.record_id = p.unique_id_r
        """
    ).fetchall()
    results = []
    for threshold in thresholds:
        above = [same for prob, same in scored if prob >= threshold]
        results.append({"threshold": threshold, **_scores(len(above), sum(above), actual)})
    best = max(results, key=lambda r: r["f1"])

    start = time.perf_counter()
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=best["threshold"]
    )
    clusters = _fetch(
        linker,
        f"SELECT unique_id, cluster_id FROM {clustered.physical_name}",  # noqa: S608
    )
    seconds["cluster"] = round(time.perf_counter() - start, 2)
    con.register("clusters", clusters)
    predicted, tp = con.execute(
        """
        WITH c AS (SELECT c.cluster_id, t.person_id FROM clusters c
                   JOIN truth t ON t.record_id = c.unique_id)
        SELECT
          (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM
             (SELECT count(*) AS n FROM c GROUP BY cluster_id))::BIGINT,
          (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM
             (SELECT count(*) AS n FROM c GROUP BY cluster_id, person_id))::BIGINT
        """
    ).fetchall()[0]
    con.close()
    return Evaluation(
        records=len(parsed.records),
        candidate_pairs=int(candidate_pairs.column("n")[0].as_py()),
        seconds=seconds,
        thresholds=results,
        best={"threshold": best["threshold"], "f1": best["f1"]},
        clusters={"threshold": best["threshold"], **_scores(predicted, tp, actual)},
        warnings=parsed.warnings,
        backend=backend,
        cluster_of=dict(
            zip(
                clusters.column("unique_id").to_pylist(),
                (str(c) for c in clusters.column("cluster_id").to_pylist()),
                strict=True,
            )
        ),
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def train_model(parsed: ParsedRecords, *, source_path: Path) -> dict[str, Any]:
    """Estimate the model from a records file; the result is what `--output` stores."""
    linker = _linker(model_rows(parsed.records), None, retain=True)
    model.train(linker, record_count=len(parsed.records))
    return {
        "format": model.MODEL_FORMAT,
        "version": model.MODEL_VERSION,
        "trained": {
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "records": len(parsed.records),
            "source": str(source_path),
            "sha256": sha256_of(source_path),
            "sources": sorted({r.source for r in parsed.records}),
            "splink": splink.__version__,
        },
        "splink_settings": linker.misc.save_model_to_json(),
    }


def write_model(document: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
