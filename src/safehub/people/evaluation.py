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

import splink
from splink import DuckDBAPI, Linker, SettingsCreator

from safehub.people import model
from safehub.people.features import columns_present, model_rows
from safehub.people.records import ParsedRecords

THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.99, 0.999)


@dataclass
class Evaluation:
    records: int
    candidate_pairs: int
    seconds: dict[str, float]
    thresholds: list[dict[str, float]]
    best: dict[str, float]
    clusters: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "candidate_pairs": self.candidate_pairs,
            "seconds": self.seconds,
            "thresholds": self.thresholds,
            "best": self.best,
            "clusters": self.clusters,
        }


def _quiet() -> None:
    # Splink logs every step at INFO; the command prints its own summary.
    logging.getLogger("splink").setLevel(logging.WARNING)


def _linker(parsed: ParsedRecords, settings: SettingsCreator | None, *, retain: bool) -> Linker:
    _quiet()
    db_api = DuckDBAPI()
    rows = model_rows(parsed.records)
    table = model.register_rows(db_api, rows)
    if settings is None:
        settings = model.safehub_settings(retain_columns=retain, columns=columns_present(rows))
    return Linker(table, settings, log_level=None)


def _scores(p: int, tp: int, actual: int) -> dict[str, float]:
    precision = tp / p if p else 1.0
    recall = tp / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def evaluate(
    parsed: ParsedRecords,
    truth: dict[str, str],
    *,
    settings: SettingsCreator | None = None,
    thresholds: tuple[float, ...] = THRESHOLDS,
) -> Evaluation:
    """Train on the records, predict, cluster; pairwise precision, recall and F1 of the scored
    pairs at each threshold, and of the clusters at the best one."""
    seconds: dict[str, float] = {}
    linker = _linker(parsed, settings, retain=False)
    con = linker._db_api.duckdb_con  # the linker's own DuckDB, for the measuring queries

    start = time.perf_counter()
    model.train(linker, record_count=len(parsed.records), floor=settings is None)
    seconds["train"] = round(time.perf_counter() - start, 2)

    start = time.perf_counter()
    predictions = linker.inference.predict(warning_mode="never")
    seconds["predict"] = round(time.perf_counter() - start, 2)

    con.execute("CREATE OR REPLACE TEMP TABLE truth (record_id VARCHAR, person_id VARCHAR)")
    con.executemany("INSERT INTO truth VALUES (?, ?)", list(truth.items()))
    actual = con.execute(
        "SELECT coalesce(sum(n * (n - 1) / 2), 0)::BIGINT "
        "FROM (SELECT count(*) AS n FROM truth GROUP BY person_id)"
    ).fetchall()[0][0]
    rows = con.execute(
        f"""
        SELECT p.match_probability, (tl.person_id = tr.person_id) AS same
        FROM {predictions.physical_name} p
        JOIN truth tl ON tl.record_id = p.unique_id_l
        JOIN truth tr ON tr.record_id = p.unique_id_r
        """  # noqa: S608 (Splink's own table names, no input)
    ).fetchall()
    results = []
    for threshold in thresholds:
        above = [same for prob, same in rows if prob >= threshold]
        results.append({"threshold": threshold, **_scores(len(above), sum(above), actual)})
    best = max(results, key=lambda r: r["f1"])

    start = time.perf_counter()
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=best["threshold"]
    )
    seconds["cluster"] = round(time.perf_counter() - start, 2)
    predicted, tp = con.execute(
        f"""
        WITH c AS (SELECT c.cluster_id, t.person_id FROM {clustered.physical_name} c
                   JOIN truth t ON t.record_id = c.unique_id)
        SELECT
          (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM
             (SELECT count(*) AS n FROM c GROUP BY cluster_id))::BIGINT,
          (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM
             (SELECT count(*) AS n FROM c GROUP BY cluster_id, person_id))::BIGINT
        """  # noqa: S608 (Splink's own table names, no input)
    ).fetchall()[0]
    return Evaluation(
        records=len(parsed.records),
        candidate_pairs=len(rows),
        seconds=seconds,
        thresholds=results,
        best={"threshold": best["threshold"], "f1": best["f1"]},
        clusters={"threshold": best["threshold"], **_scores(predicted, tp, actual)},
        warnings=parsed.warnings,
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def train_model(parsed: ParsedRecords, *, source_path: Path) -> dict[str, Any]:
    """Estimate the model from a records file; the result is what `--output` stores."""
    linker = _linker(parsed, None, retain=True)
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
