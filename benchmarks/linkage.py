"""Linkage benchmark: one new person matched in real time against a person index of a million
records, `safehub linkage run` over that index, and the F1 of both, beside plain Splink.

    .venv/bin/python benchmarks/linkage.py [--records 1000000] [--samples 500] [--seed 1]
        [--databases postgresql sqlite] [--run-on postgresql sqlite] [--no-baseline] [--keep]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]

The requirement (issue 4): real-time match latency (p50/p95/p99) of one new person against an
index of 1,000,000 people on PostgreSQL and on SQLite, target p95 <= 50 ms; `linkage run` on
1,000,000 people, target <= 3 minutes and peak memory <= 4 GB; the F1 of both, beside the same
runs of plain Splink with its default comparisons on the same data.

a. Records: `safehub generate --people N+S` (the generator's own noise: typos, nicknames,
   swapped days and months, changed surnames, moves). The first N records are the index, the last
   S (a random sample: the generator shuffles) are the new people; about two in three of them
   are someone the index already holds.
b. The index, on each database (a scratch PostgreSQL database, a SQLite file): `migrate`, then
   every record of the N as a partner-file record with its values encrypted and its blocking keys
   and hashes computed as intake computes them (`index.partner_draft`), linked to one person per
   true person (a well-kept index), written in bulk (`returns.national.RowWriter`: COPY on
   PostgreSQL), then `ANALYZE`.
c. Real time: a child process with Django set up on the database links each new record with
   `person_records_link` (candidates by the blocking keys, scored in process with the model,
   banded, the record, its person and any review written) inside a transaction that is rolled
   back, so every sample meets the same index; each timed with `time.perf_counter` after one
   warm-up, with its SQL statements counted. Quality: a sample auto-linked to its own true person
   is right, to another person wrong; one whose person is in the index and was not auto-linked
   to them is missed. Precision, recall and F1 at the auto-link band (and how many went to review).
d. `safehub linkage run --clusters C.csv` on the index as a user runs it (a child process; wall
   time, and peak RSS from `wait4`), and the pairwise precision, recall and F1 of its clusters
   (at the auto-link band) against the truth.
e. The same N records through `safehub linkage evaluate` with safehub's comparisons and with
   `--baseline` (Splink's `NameComparison`, `DateOfBirthComparison`, `PostcodeComparison` and
   exact matches, trained the same way, no English nicknames, households or fixed weights), both
   trained on the records and predicting over the same blocking: time, peak memory, F1.
f. Prints everything and writes it with the machine to benchmarks/results/linkage.json.

Only the standard library and the project's own dependencies; helpers are shared with intake.py.
"""

from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import intake  # benchmarks/intake.py: databases, environment, machine, percentile

ROOT = intake.ROOT
SAFEHUB = intake.SAFEHUB
RESULTS = ROOT / "benchmarks" / "results" / "linkage.json"
TARGET_P95_MS = 50.0
TARGET_RUN_S = 180.0
TARGET_RUN_RSS_MB = 4096.0
PLAIN_TRAINING = 200_000  # records the plain-Splink model for real time is trained on
PEOPLE = uuid.UUID("6a1c1f5e-0000-4000-8000-000000000000")  # uuid5 namespace of true people
SEEN_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


ms, summary_ms = intake.ms, intake.summary_ms


def person_uuid(true_person: str) -> uuid.UUID:
    return uuid.uuid5(PEOPLE, true_person)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def read_truth(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["record_id"]: row["person_id"] for row in csv.DictReader(fh)}


# One field key for every process of a run, and the same from run to run, so that a database kept
# with --keep can be read again.
FIELD_KEY = base64.urlsafe_b64encode(b"linkage-benchmark-field-key!!!!!").decode()


def env_for(url: str) -> dict[str, str]:
    env = intake.safehub_env(url)
    env["SAFEHUB_FIELD_KEYS"] = os.environ.get("SAFEHUB_FIELD_KEYS") or FIELD_KEY
    env["SECRET_KEY"] = os.environ.get("SECRET_KEY") or "benchmark-linkage"
    env["SAFEHUB_LOG_LEVEL"] = "ERROR"
    return env


def timed(command: list[str], env: dict[str, str]) -> tuple[str, float, float]:
    """Run a command; its output, wall seconds and peak RSS in MB (the process alone)."""
    began = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{output}")
    return output, seconds, usage.ru_maxrss / 1024


# ---------------------------------------------------------------------------------------------
# Child processes with Django set up on a database
# ---------------------------------------------------------------------------------------------


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safehub.settings")
    import django

    django.setup()


def worker_load(records: Path, truth_path: Path, out: Path) -> None:
    """The index in bulk: one person per true person, every record linked to them."""
    django_setup()
    from django.db import connection

    from safehub.people.index import partner_draft
    from safehub.people.models import LinkMethod, Person, SourceKind, SourceRecord
    from safehub.returns.national import J, RowWriter, Sealed

    truth = read_truth(truth_path)
    values_field = SourceRecord._meta.get_field("values")
    writer = RowWriter(written=(Person, SourceRecord))
    rebuild = writer.indexes_drop() if writer.postgres else []
    began = time.perf_counter()
    people: set[str] = set()
    count = 0
    with records.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            draft = partner_draft(row, source=row["source"] or "partner", seen_at=SEEN_AT)
            true_person = truth[row["record_id"]]
            pid = person_uuid(true_person)
            if true_person not in people:
                people.add(true_person)
                writer.add(Person, {"id": pid, "created_at": SEEN_AT})
            writer.add(
                SourceRecord,
                {
                    "id": uuid.uuid4(),
                    "person_id": pid,
                    "source_kind": SourceKind.PARTNER_FILE,
                    "source": draft.source,
                    "source_ref": draft.source_ref,
                    "values": Sealed(draft.values, values_field._encode(draft.values)),  # type: ignore[attr-defined]
                    "features": Sealed(draft.row, values_field._encode(draft.row)),  # type: ignore[attr-defined]
                    "seen_at": SEEN_AT,
                    "link_method": LinkMethod.NEW,
                    "match_evidence": J({}),
                    "linked_at": SEEN_AT,
                    **draft.keys,
                },
            )
            count += 1
            if writer.pending() >= 20_000:
                writer.flush()
    writer.flush()
    written = time.perf_counter() - began
    if rebuild:
        writer.indexes_make(rebuild)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    out.write_text(
        json.dumps(
            {
                "records": count,
                "people": len(people),
                "write_seconds": round(written, 1),
                "seconds": round(time.perf_counter() - began, 1),
            }
        )
    )


def worker_latency(samples: Path, truth_path: Path, out: Path) -> None:
    """Each sample linked in real time, in a transaction rolled back: the index stays as built."""
    django_setup()
    from django.db import connection, transaction

    from safehub.people.index import partner_draft
    from safehub.people.matching import active_model, candidates_fetch
    from safehub.people.services import person_records_link

    truth = read_truth(truth_path)
    rows = read_csv(samples)
    statements = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    def link(row: dict[str, str]) -> tuple[float, int, Any]:
        nonlocal statements
        draft = partner_draft(row, source=row["source"] or "partner", seen_at=SEEN_AT)
        statements = 0
        with connection.execute_wrapper(count), transaction.atomic():
            began = time.perf_counter()
            [linked] = person_records_link(
                drafts=[draft], origin="load", now=dt.datetime.now(dt.UTC)
            )
            seconds = time.perf_counter() - began
            transaction.set_rollback(True)
        return seconds, statements, linked

    active_model()
    link(rows[0])  # warm-up: the model's SQL, the connection, the caches
    # The index holds the records numbered before the first sample (the generator numbers them
    # in the order it writes them; the benchmark split them there).
    first_sample = min(int(row["record_id"][1:]) for row in rows)
    people_in_index = {pid for rid, pid in truth.items() if int(rid[1:]) < first_sample}
    times: list[float] = []
    counts: list[int] = []
    candidates: list[int] = []
    quality = {"auto_right": 0, "auto_wrong": 0, "review": 0, "new": 0, "known": 0}
    for row in rows[1:]:
        [found] = candidates_fetch(
            [partner_draft(row, source=row["source"] or "partner", seen_at=SEEN_AT).keys],
            groups=[None],
        )
        candidates.append(len(found))
        seconds, n, linked = link(row)
        times.append(seconds)
        counts.append(n)
        true_person = truth[row["record_id"]]
        known = true_person in people_in_index
        quality["known"] += known
        if linked.band == "auto":
            right = linked.record.person_id == person_uuid(true_person)
            quality["auto_right" if right else "auto_wrong"] += 1
        else:
            quality[linked.band] += 1
    out.write_text(
        json.dumps(
            {
                "samples": len(times),
                "ms": summary_ms(times),
                "statements": {"median": statistics.median(counts), "max": max(counts)},
                "candidates": {
                    "median": statistics.median(candidates),
                    "p95": intake.percentile(sorted(candidates), 95),
                    "max": max(candidates),
                },
                "quality": quality,
            }
        )
    )


def worker_plain_model(records: Path, _unused: Path, out: Path) -> None:
    """Plain Splink's comparisons (`model.baseline_settings`) trained as `linkage evaluate
    --baseline` trains them, on the first PLAIN_TRAINING records of the index, stored as the
    active model: real-time matching then scores with them, on the same path."""
    django_setup()
    import pyarrow as pa
    from splink import DuckDBAPI, Linker

    from safehub.core import clock
    from safehub.people import model
    from safehub.people.features import model_rows
    from safehub.people.records import read_records
    from safehub.people.services import linkage_model_store, term_frequencies

    began = time.perf_counter()
    parsed = read_records(records)
    rows = model_rows(parsed.records[:PLAIN_TRAINING])
    linker = Linker(model.register_rows(DuckDBAPI(), rows), model.baseline_settings())
    model.train(linker, record_count=len(rows), floor=False)
    document: dict[str, Any] = {"splink_settings": linker.misc.save_model_to_json()}
    document["term_frequencies"] = term_frequencies(
        document, pa.Table.from_pylist(rows, schema=model.SCHEMA)
    )
    stored = linkage_model_store(
        document=document,
        trained_on={"records": len(rows), "from": "plain Splink comparisons (benchmark)"},
        actor="benchmarks/linkage.py",
        now=clock.now(),
    )
    out.write_text(
        json.dumps(
            {
                "version": stored.version,
                "records": len(rows),
                "seconds": round(time.perf_counter() - began, 1),
            }
        )
    )


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def prf(predicted: int, right: int, actual: int) -> dict[str, float]:
    precision = right / predicted if predicted else 1.0
    recall = right / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def realtime_scores(quality: dict[str, int]) -> dict[str, float]:
    return prf(
        quality["auto_right"] + quality["auto_wrong"], quality["auto_right"], quality["known"]
    )


def cluster_scores(clusters_csv: Path, truth_csv: Path) -> dict[str, float]:
    """Pairwise precision, recall and F1 of a run's clusters against the truth."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{truth_csv}', all_varchar=true)")
    con.execute(f"CREATE TABLE c AS SELECT * FROM read_csv('{clusters_csv}', all_varchar=true)")
    predicted, right, actual = con.execute(  # type: ignore[misc]
        """
        WITH j AS (SELECT c.cluster, t.person_id FROM c JOIN t ON t.record_id = c.record_id)
        SELECT
          (SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) n FROM j GROUP BY cluster)),
          (SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) n FROM j GROUP BY cluster, person_id)),
          (SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) n FROM j GROUP BY person_id))
        """
    ).fetchone()
    con.close()
    return prf(int(predicted or 0), int(right or 0), int(actual or 0))


def run_seconds(output: str) -> dict[str, float]:
    """The stage times `linkage run` prints ("rehash 1.0 s, export 2.0 s, ...")."""
    out = {}
    tail = output.strip().splitlines()[-1] if output.strip() else ""
    for part in tail.split(";")[-1].split(","):
        bits = part.strip().split()
        if len(bits) == 3 and bits[2] == "s":
            out[bits[0]] = float(bits[1])
    return out


def evaluate(records: Path, truth: Path, env: dict[str, str], baseline: bool) -> dict[str, Any]:
    command = [SAFEHUB, "linkage", "evaluate", "--records", str(records), "--truth", str(truth)]
    command += ["--json"] + (["--baseline"] if baseline else [])
    output, seconds, rss = timed(command, env)
    result = json.loads(output.strip().splitlines()[-1])
    return {
        "wall_seconds": round(seconds, 1),
        "peak_rss_mb": round(rss),
        "candidate_pairs": result.get("candidate_pairs"),
        "seconds": result.get("seconds"),
        "best": result.get("best"),
        "thresholds": result.get("thresholds"),
        "clusters": result.get("clusters"),
    }


def split(all_csv: Path, all_truth: Path, n: int, work: Path) -> dict[str, Path]:
    paths = {k: work / f"{k}.csv" for k in ("index", "index_truth", "samples", "samples_truth")}
    with all_csv.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        with (
            paths["index"].open("w", encoding="utf-8", newline="") as a,
            paths["samples"].open("w", encoding="utf-8", newline="") as b,
        ):
            wa, wb = csv.DictWriter(a, fields), csv.DictWriter(b, fields)
            wa.writeheader()
            wb.writeheader()
            for i, row in enumerate(reader):
                (wa if i < n else wb).writerow(row)
    truth = read_truth(all_truth)
    ids = list(truth)
    for name, chosen in (("index_truth", ids[:n]), ("samples_truth", ids)):
        with paths[name].open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["record_id", "person_id"])
            w.writerows((rid, truth[rid]) for rid in chosen)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="records in the index")
    parser.add_argument("--samples", type=int, default=500, help="new people matched")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--databases", nargs="+", default=["postgresql", "sqlite"], choices=["postgresql", "sqlite"]
    )
    parser.add_argument(
        "--run-on", nargs="*", default=["postgresql"], choices=["postgresql", "sqlite"],
        help="where `linkage run` is measured (default: PostgreSQL)",
    )  # fmt: skip
    parser.add_argument("--no-baseline", action="store_true", help="skip `linkage evaluate`")
    parser.add_argument(
        "--plain-realtime",
        action="store_true",
        help="also match the new people with plain Splink's comparisons (trained, then stored "
        "as the active model once safehub's figures and the run are measured)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="where to create the scratch PostgreSQL database (its name is ignored)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases and files")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, a, b, out = args.worker
        workers = {"load": worker_load, "latency": worker_latency, "plain": worker_plain_model}
        workers[kind](Path(a), Path(b), Path(out))
        return

    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"safehub-bench-linkage-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    pg_name = f"safehub_bench_linkage_{os.getpid()}"
    urls = {
        "postgresql": intake.db_url(args.database_url, pg_name),
        "sqlite": f"sqlite:///{work / 'index.sqlite3'}",
    }
    results: dict[str, Any] = {
        "benchmark": "linkage",
        "arguments": {k: str(v) for k, v in vars(args).items() if k != "worker"},
        "machine": intake.machine(args.database_url),
        "databases": {},
    }
    made_pg = False
    try:
        env0 = env_for(urls["sqlite"])
        total = args.records + args.samples
        print(f"Generating {total:,} person records (safehub generate)...", flush=True)
        began = time.perf_counter()
        intake.run(["generate", "--people", str(total), "--seed", str(args.seed),
                    "-o", str(work / "all.csv"),
                    "--truth", str(work / "all_truth.csv")], env0)  # fmt: skip
        paths = split(work / "all.csv", work / "all_truth.csv", args.records, work)
        truth = read_truth(paths["index_truth"])
        results["data"] = {
            "records": args.records,
            "people": len(set(truth.values())),
            "samples": args.samples,
            "seconds": round(time.perf_counter() - began, 1),
        }
        print(f"  {results['data']}", flush=True)
        for name in args.databases:
            url = urls[name]
            env = env_for(url)
            if name == "postgresql":
                intake.create_database(args.database_url, pg_name)
                made_pg = True
            print(f"[{name}] migrate, load the index...", flush=True)
            intake.run(["migrate", "-v0"], env)
            here: dict[str, Any] = {}
            out = work / f"{name}-load.json"
            _, seconds, rss = timed(
                [sys.executable, __file__, "--worker", "load", str(paths["index"]),
                 str(paths["index_truth"]), str(out)], env)  # fmt: skip
            here["load"] = {**json.loads(out.read_text()), "peak_rss_mb": round(rss)}
            print(f"  {here['load']}", flush=True)
            print(f"[{name}] real-time matching of {args.samples} new people...", flush=True)
            latency = here["realtime"] = realtime(paths, work / f"{name}-latency.json", env)
            print(f"  {latency}", flush=True)
            if name in args.run_on:
                print(f"[{name}] safehub linkage run...", flush=True)
                clusters = work / f"{name}-clusters.csv"
                output, seconds, rss = timed(
                    [SAFEHUB, "linkage", "run", "--clusters", str(clusters)], env
                )
                here["run"] = {
                    "wall_seconds": round(seconds, 1),
                    "peak_rss_mb": round(rss),
                    "stages": run_seconds(output),
                    "output": output.strip().splitlines()[-1],
                    "scores": cluster_scores(clusters, paths["index_truth"]),
                }
                print(f"  {here['run']}", flush=True)
            if args.plain_realtime:
                print(f"[{name}] the same with plain Splink's comparisons...", flush=True)
                out = work / f"{name}-plain-model.json"
                timed([sys.executable, __file__, "--worker", "plain", str(paths["index"]),
                       str(paths["index"]), str(out)], env)  # fmt: skip
                trained = json.loads(out.read_text())
                plain = realtime(paths, work / f"{name}-plain-latency.json", env)
                plain["model"] = trained
                here["realtime_plain_splink"] = plain
                print(f"  {plain}", flush=True)
            results["databases"][name] = here
            if name == "postgresql" and not args.keep:
                intake.drop_database(args.database_url, pg_name)
                made_pg = False
        if not args.no_baseline:
            for label, baseline in (("safehub", False), ("plain_splink", True)):
                print(f"linkage evaluate ({label}) on the {args.records:,} records...", flush=True)
                results.setdefault("evaluate", {})[label] = evaluate(
                    paths["index"], paths["index_truth"], env0, baseline
                )
                print(f"  {results['evaluate'][label]['best']}", flush=True)
    finally:
        if made_pg and not args.keep:
            intake.drop_database(args.database_url, pg_name)
        if not args.keep:
            for path in sorted(work.glob("*"), reverse=True):
                path.unlink()
            work.rmdir()
    results["targets"] = targets(results)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    report(results)
    print(f"Written to {args.results}")


def realtime(paths: dict[str, Path], out: Path, env: dict[str, str]) -> dict[str, Any]:
    """The new people matched in real time by a worker process against the index (with the
    active model), and the precision, recall and F1 of its links."""
    timed([sys.executable, __file__, "--worker", "latency", str(paths["samples"]),
           str(paths["samples_truth"]), str(out)], env)  # fmt: skip
    result: dict[str, Any] = json.loads(out.read_text())
    result["scores"] = realtime_scores(result["quality"])
    return result


def targets(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, here in results["databases"].items():
        p95 = here["realtime"]["ms"]["p95"]
        out[f"realtime_p95_{name}"] = {"value_ms": p95, "target_ms": TARGET_P95_MS,
                                       "pass": p95 <= TARGET_P95_MS}  # fmt: skip
        if "run" in here:
            run = here["run"]
            out[f"run_{name}"] = {
                "seconds": run["wall_seconds"],
                "peak_rss_mb": run["peak_rss_mb"],
                "pass": run["wall_seconds"] <= TARGET_RUN_S
                and run["peak_rss_mb"] <= TARGET_RUN_RSS_MB,
            }
    return out


def report(results: dict[str, Any]) -> None:
    print()
    print(f"Index: {results['data']['records']:,} records of {results['data']['people']:,} people")
    for name, here in results["databases"].items():
        rt = here["realtime"]
        print(f"{name}: real time p50 {rt['ms']['p50']} ms, p95 {rt['ms']['p95']} ms, "
              f"p99 {rt['ms']['p99']} ms; {rt['scores']}; {rt['quality']}")  # fmt: skip
        if "run" in here:
            run = here["run"]
            print(f"{name}: linkage run {run['wall_seconds']} s, peak {run['peak_rss_mb']} MB, "
                  f"{run['stages']}; clusters {run['scores']}")  # fmt: skip
    for label, ev in results.get("evaluate", {}).items():
        print(f"evaluate {label}: best {ev['best']}, clusters {ev['clusters']}, "
              f"{ev['wall_seconds']} s, peak {ev['peak_rss_mb']} MB")  # fmt: skip
    for key, value in results["targets"].items():
        print(f"{key}: {'PASS' if value['pass'] else 'FAIL'} {value}")


if __name__ == "__main__":
    main()
