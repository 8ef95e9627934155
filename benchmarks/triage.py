"""Triage benchmark: `safehub triage explain` on one notification, a year of history behind it.

    .venv/bin/python benchmarks/triage.py [--history 100000] [--samples 300] [--runs 15]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres] [--keep]

The requirement: "`triage explain` runs in under 300 ms for one notification", on a realistic
database, where the history of earlier notifications is looked up through the indexed person
keys. On a PostgreSQL database it creates for itself (and drops at the end, unless `--keep`):

a. History: `migrate`, `reference load`, then `safehub import` of `--history` generated
   notifications with incidents over the year that ended a week ago (households come back: about
   a quarter of victims have another notification within 12 months).
b. Samples, never stored: `--samples` notifications (plus one for the warm-up) with incidents in
   the last week. Half are generated afresh (new households: little or no history); half are
   stored bodies taken at random with only their incident reference and times changed, so they
   name the same people as a stored notification and the history look-ups find something.
c. In-process: a child process with Django set up on the scratch database calls
   `triage_explain(raw=..., received_at=...)` on every sample, after one warm-up call, timing each
   with `time.perf_counter` and counting its SQL statements (`connection.execute_wrapper`).
d. The command as a user runs it: `safehub triage explain FILE.json --received-at ISO` as a
   subprocess, `--runs` times, on a sample with history; interleaved with two floors, the same
   number of times: `safehub triage --help` (Python, Django set-up, the command's imports) and a
   bare `django.setup()`. command - floor = the explain work inside the process.
e. Prints everything and writes it with the machine to benchmarks/results/triage.json, with
   PASS/FAIL against 300 ms for the in-process p95 and for the command's median wall time (which
   includes starting Python and Django: nothing is subtracted from it).

Only the standard library and the project's own dependencies; helpers are shared with intake.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
import intake  # benchmarks/intake.py: databases, environment, machine, percentile

ROOT = intake.ROOT
SAFEHUB = intake.SAFEHUB
RESULTS = ROOT / "benchmarks" / "results" / "triage.json"
LONDON = ZoneInfo("Europe/London")
TARGET_MS = 300.0
HISTORY_DAYS = 365
SAMPLE_DAYS = 7  # the samples' incidents: the week after the history's year
REPEAT_SHARE = 0.5  # samples copied from stored bodies (same people, new incident)
DJANGO_SETUP = (
    "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'safehub.settings'); "
    "django.setup()"
)


ms, summary_ms = intake.ms, intake.summary_ms


# ---------------------------------------------------------------------------------------------
# The in-process worker (runs in a child process, Django set up on the scratch database)
# ---------------------------------------------------------------------------------------------

_IN_LIST = re.compile(r"IN \((?:%s, )*%s\)")
_TABLE = re.compile(r'FROM "([a-z_]+)"')


def _statement(sql: str) -> str:
    """A statement's shape: its first table and its kind, the IN lists collapsed."""
    table = _TABLE.search(sql)
    verb = sql.split(None, 1)[0].upper() if sql.strip() else "?"
    return f"{verb} {table.group(1) if table else _IN_LIST.sub('IN (...)', sql)[:60]}"


def worker(samples_path: Path, out_path: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safehub.settings")
    import django

    django.setup()
    from django.db import connection

    from safehub.referrals.triage import triage_explain

    samples = [json.loads(line) for line in samples_path.read_text().splitlines() if line]
    statements: list[tuple[str, float, str, Any]] = []

    def counting(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((_statement(sql), time.perf_counter() - began, sql, params))

    def explain(sample: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        raw = sample["raw"].encode()
        received_at = dt.datetime.fromisoformat(sample["received_at"])
        began = time.perf_counter()
        result = triage_explain(raw=raw, received_at=received_at)
        return time.perf_counter() - began, result

    # The first call in the process: imports, the connection, the reference data and the bank
    # holidays read for the first time. The command pays this on every run.
    warm_seconds, warm = explain(samples[0])
    if "errors" in warm:
        raise SystemExit(f"the warm-up sample is invalid: {warm['errors']}")
    calls = []
    by_statement: dict[str, list[float]] = {}
    slowest: dict[str, tuple[float, str, Any]] = {}
    with connection.execute_wrapper(counting):
        for sample in samples[1:]:
            statements.clear()
            seconds, result = explain(sample)
            if "errors" in result:
                raise SystemExit(f"sample {sample['id']} is invalid: {result['errors']}")
            earlier_victim = result["marac"]["earlier_notifications_same_victim"]
            earlier_child = max((c["earlier_notifications"] for c in result["contacts"]), default=0)
            for shape, took, sql, params in statements:
                by_statement.setdefault(shape, []).append(took)
                if took > slowest.get(shape, (0.0,))[0]:
                    slowest[shape] = (took, sql, params)
            calls.append(
                {
                    "id": sample["id"],
                    "kind": sample["kind"],
                    "seconds": seconds,
                    "queries": len(statements),
                    "query_seconds": sum(took for _, took, _, _ in statements),
                    "earlier_same_victim": earlier_victim,
                    "earlier_for_a_child": earlier_child,
                    "children": len(result["contacts"]),
                    "encompass": len(result["encompass"]),
                }
            )
    # The plans of the slowest statement overall and of the slowest history look-up, run again.
    plans = {}
    worst = max(slowest, key=lambda shape: slowest[shape][0])
    for shape in dict.fromkeys([worst, "SELECT intake_personkey"]):
        if shape in slowest:
            took, sql, params = slowest[shape]
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            plans[shape] = {"seconds": took, "sql": sql[:2000], "plan": plan}
    out_path.write_text(
        json.dumps(
            {
                "warm_up_seconds": warm_seconds,
                "warm_up_valid": "errors" not in warm,
                "calls": calls,
                "statements": {
                    shape: {"count": len(t), "total_s": sum(t), "max_s": max(t)}
                    for shape, t in by_statement.items()
                },
                "plans": plans,
            }
        )
    )


# ---------------------------------------------------------------------------------------------
# Samples
# ---------------------------------------------------------------------------------------------


def _london_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=LONDON)


def _has_school_child(body: dict[str, Any]) -> bool:
    return any(p["role"] == "child" and p.get("school_urn") for p in body["people"])


def build_samples(
    history_path: Path, fresh_path: Path, out_path: Path, count: int, seed: int, start: dt.date
) -> dict[str, int]:
    """A warm-up sample (id 0: a fresh body with a school-age child, so that the warm-up goes
    through every step: routing, the Encompass notice, the working-day calendar), then `count`
    samples in random order: stored bodies re-dated into the sample week (`REPEAT_SHARE`) and
    fresh generated ones; each with a new incident reference and `received_at` a quarter of an
    hour after it was recorded."""
    rng = random.Random(seed)
    repeats = round(count * REPEAT_SHARE)
    fresh = [json.loads(line) for line in fresh_path.read_text().splitlines() if line]
    warm = next((i for i, b in enumerate(fresh) if _has_school_child(b)), 0)
    warm_up = fresh.pop(warm)
    if len(fresh) < count - repeats:
        raise SystemExit(f"only {len(fresh)} fresh notifications for {count - repeats} samples")
    with history_path.open() as fh:
        stored = sum(1 for _ in fh)
    picked = set(rng.sample(range(stored), min(repeats, stored)))
    copied: list[dict[str, Any]] = []
    with history_path.open() as fh:
        for i, line in enumerate(fh):
            if i in picked:
                copied.append(json.loads(line))
    window_start = _london_midnight(start)
    window_end = _london_midnight(start + dt.timedelta(days=SAMPLE_DAYS))
    now = dt.datetime.now(dt.UTC)
    bodies: list[tuple[str, dict[str, Any]]] = []
    for body in copied:
        occurred = dt.datetime.fromisoformat(body["occurred_at"])
        recorded = dt.datetime.fromisoformat(body["recorded_at"])
        new_occurred = window_start + dt.timedelta(
            seconds=rng.uniform(0, (window_end - window_start).total_seconds() * 0.9)
        )
        new_occurred = new_occurred.replace(microsecond=0)
        new_recorded = min(new_occurred + (recorded - occurred), window_end)
        body["occurred_at"] = new_occurred.isoformat()
        body["recorded_at"] = new_recorded.isoformat()
        bodies.append(("repeat", body))
    bodies.extend(("fresh", body) for body in fresh[: count - len(copied)])
    rng.shuffle(bodies)
    with out_path.open("w") as out:
        for n, (kind, body) in enumerate([("warm-up", warm_up), *bodies]):
            body["incident_reference"] = f"{body['force_code']}-TRIAGE-BENCH-{n:06d}"
            recorded = dt.datetime.fromisoformat(body["recorded_at"])
            received = min(recorded + dt.timedelta(minutes=15), now)
            sample = {
                "id": n,
                "kind": kind,
                "received_at": received.isoformat(),
                "raw": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
            }
            out.write(json.dumps(sample, ensure_ascii=False) + "\n")
    return {"repeat": len(copied), "fresh": len(bodies) - len(copied)}


# ---------------------------------------------------------------------------------------------
# Phases
# ---------------------------------------------------------------------------------------------


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    began = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
    return time.perf_counter() - began, done


def bench_in_process(env: dict[str, str], samples: Path, work: Path) -> dict[str, Any]:
    out_path = work / "in_process.json"
    seconds, done = timed(
        [sys.executable, str(Path(__file__).resolve()), "--worker", str(samples), str(out_path)],
        env,
    )
    if done.returncode != 0:
        raise SystemExit(f"the in-process worker failed:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(out_path.read_text())
    calls = raw["calls"]
    times = [c["seconds"] for c in calls]
    queries = sorted(c["queries"] for c in calls)
    with_history = [c for c in calls if c["earlier_same_victim"] or c["earlier_for_a_child"]]
    by_kind = {}
    for kind in ("repeat", "fresh"):
        subset = [c for c in calls if c["kind"] == kind]
        if subset:
            by_kind[kind] = {
                "samples": len(subset),
                "with_history": sum(
                    1 for c in subset if c["earlier_same_victim"] or c["earlier_for_a_child"]
                ),
                "latency_ms": summary_ms([c["seconds"] for c in subset]),
            }
    statements = {
        shape: {
            "count": s["count"],
            "per_call": round(s["count"] / len(calls), 2),
            "mean_ms": round(s["total_s"] / s["count"] * 1000, 3),
            "max_ms": round(s["max_s"] * 1000, 2),
            "share_of_explain_time": round(s["total_s"] / sum(times), 3),
        }
        for shape, s in sorted(raw["statements"].items(), key=lambda kv: -kv[1]["total_s"])
    }
    slowest_calls = sorted(calls, key=lambda c: -c["seconds"])[:5]
    return {
        "samples": len(calls),
        "warm_up_ms": ms(raw["warm_up_seconds"]),
        "latency_ms": summary_ms(times),
        "queries_per_call": {
            "min": queries[0],
            "median": statistics.median(queries),
            "max": queries[-1],
            "mean": round(statistics.fmean(queries), 2),
        },
        "sql_ms_per_call_mean": ms(statistics.fmean(c["query_seconds"] for c in calls)),
        "with_history": len(with_history),
        "with_history_latency_ms": (
            summary_ms([c["seconds"] for c in with_history]) if with_history else None
        ),
        "earlier_same_victim_max": max(c["earlier_same_victim"] for c in calls),
        "earlier_for_a_child_max": max(c["earlier_for_a_child"] for c in calls),
        "by_kind": by_kind,
        "statements": statements,
        "plans": {
            shape: {"ms": ms(p["seconds"]), "sql": p["sql"], "explain_analyze": p["plan"]}
            for shape, p in raw["plans"].items()
        },
        "slowest_calls": [
            {
                "id": c["id"],
                "ms": ms(c["seconds"]),
                "queries": c["queries"],
                "sql_ms": ms(c["query_seconds"]),
                "kind": c["kind"],
                "children": c["children"],
                "call_number": calls.index(c) + 1,
            }
            for c in slowest_calls
        ],
        "worker_process_seconds": round(seconds, 1),
        # For the command: a sample with history that goes through every step (a child to rate
        # and route, a school-age child for an Encompass notice) if there is one.
        "_command_sample": max(
            with_history or calls,
            key=lambda c: (c["encompass"] > 0, c["children"] > 0, -c["id"]),
        )["id"],
    }


def bench_command(
    env: dict[str, str], samples: Path, sample_id: int, runs: int, work: Path
) -> dict[str, Any]:
    sample = next(
        s for s in map(json.loads, samples.read_text().splitlines()) if s["id"] == sample_id
    )
    path = work / "notification.json"
    path.write_text(sample["raw"])
    variants = {
        "explain": [
            SAFEHUB,
            "triage",
            "explain",
            str(path),
            "--received-at",
            sample["received_at"],
        ],
        "triage_help": [SAFEHUB, "triage", "--help"],
        "django_setup": [sys.executable, "-c", DJANGO_SETUP],
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    output = ""
    for _ in range(runs):  # interleaved, so that a change in the machine's load hits all three
        for name, argv in variants.items():
            seconds, done = timed(argv, env)
            if done.returncode != 0:
                raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
            if name == "explain":
                output = done.stdout
            times[name].append(seconds)
    result = json.loads(output)
    out: dict[str, Any] = {
        "runs": runs,
        "sample": {
            "id": sample_id,
            "kind": sample["kind"],
            "children": len(result["contacts"]),
            "encompass_notices": len(result["encompass"]),
            "earlier_same_victim": result["marac"]["earlier_notifications_same_victim"],
        },
        "argv": ["safehub", "triage", "explain", "FILE.json", "--received-at", "ISO"],
    }
    for name, values in times.items():
        ordered = sorted(values)
        out[name] = {
            "median_ms": ms(statistics.median(ordered)),
            "p95_ms": ms(intake.percentile(ordered, 95)),
            "min_ms": ms(ordered[0]),
            "max_ms": ms(ordered[-1]),
        }
    for floor in ("triage_help", "django_setup"):
        out[f"explain_minus_{floor}_median_ms"] = round(
            out["explain"]["median_ms"] - out[floor]["median_ms"], 1
        )
    return out


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=int, default=100_000, help="notifications imported")
    parser.add_argument("--samples", type=int, default=300, help="notifications explained")
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (default 15)")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="where to create the scratch database (its database name is ignored)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    if args.history < 1 or args.samples < 2 or args.runs < 1:
        parser.error("--history and --runs must be positive, --samples at least 2")

    sys.path.insert(0, str(ROOT / "src"))
    from safehub.intake.generator import write_notifications

    base = args.database_url
    name = f"safehub_bench_triage_{os.getpid()}"
    url = intake.db_url(base, name)
    env = intake.safehub_env(url)
    work = Path(tempfile.mkdtemp(prefix="safehub-bench-triage-"))
    # The history: the year that ended a week ago; the samples: that last week.
    sample_start = dt.date.today() - dt.timedelta(days=SAMPLE_DAYS)
    history_start = sample_start - dt.timedelta(days=HISTORY_DAYS)
    results: dict[str, Any] = {
        "benchmark": "triage",
        "arguments": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k not in ("database_url", "worker")
        },
    }
    created = False
    try:
        print(f"Preparing database {name} (migrate, reference load)...", flush=True)
        intake.create_database(base, name)
        created = True
        t = time.perf_counter()
        intake.run(["migrate", "-v0"], env)
        intake.run(["reference", "load"], env)
        results["setup_seconds"] = round(time.perf_counter() - t, 1)
        results["machine"] = intake.machine(url)

        history_path = work / "history.jsonl"
        print(f"History: generating {args.history} notifications...", flush=True)
        t = time.perf_counter()
        write_notifications(
            history_path, count=args.history, seed=args.seed, start=history_start, days=HISTORY_DAYS
        )
        gen_seconds = time.perf_counter() - t
        print(f"  {gen_seconds:.1f} s; safehub import...", flush=True)
        t = time.perf_counter()
        imported = intake.run(["import", str(history_path), "--no-progress"], env).strip()
        import_seconds = time.perf_counter() - t
        print(f"  {import_seconds:.1f} s: {imported.splitlines()[0]}", flush=True)
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")  # what autovacuum would have done by now
            counts = {
                table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
                for table in ("intake_notification", "intake_personkey", "referrals_contact")
            }
            repeated = conn.execute(
                "SELECT count(*) FROM (SELECT key FROM intake_personkey WHERE role = 'victim' "
                "GROUP BY key HAVING count(*) > 1) AS k"
            ).fetchone()[0]  # type: ignore[index]
            victims = conn.execute(
                "SELECT count(DISTINCT key) FROM intake_personkey WHERE role = 'victim'"
            ).fetchone()[0]  # type: ignore[index]
        results["history"] = {
            "notifications": args.history,
            "incidents": f"{history_start} to {sample_start - dt.timedelta(days=1)}",
            "generate_seconds": round(gen_seconds, 1),
            "import_seconds": round(import_seconds, 1),
            "import_output": imported,
            "stored": counts,
            "victim_keys": victims,
            "victim_keys_in_more_than_one_notification": repeated,
        }
        print(
            f"  stored {counts}; {repeated} of {victims} victim keys are in more than one "
            "notification",
            flush=True,
        )

        fresh_path = work / "fresh.jsonl"
        write_notifications(
            fresh_path,
            count=args.samples + 50,  # a margin, to find a warm-up with a school-age child
            seed=args.seed + 1,
            start=sample_start,
            days=SAMPLE_DAYS,
        )
        samples = work / "samples.jsonl"
        mix = build_samples(
            history_path, fresh_path, samples, args.samples, args.seed + 2, sample_start
        )
        results["samples"] = {"count": args.samples, "warm_up": 1, **mix}

        print(f"In-process: triage_explain on {args.samples} samples...", flush=True)
        in_process = bench_in_process(env, samples, work)
        command_sample = in_process.pop("_command_sample")
        results["in_process"] = in_process
        lat = in_process["latency_ms"]
        print(f"  p50 {lat['p50']} ms, p95 {lat['p95']} ms", flush=True)

        print(f"Command: {args.runs} runs each of explain and the two floors...", flush=True)
        results["command"] = bench_command(env, samples, command_sample, args.runs, work)
        results["machine"]["load_average_at_end"] = list(os.getloadavg())
        results["targets"] = {
            "in_process_p95": {
                "target": f"triage_explain p95 < {TARGET_MS:.0f} ms",
                "ms": lat["p95"],
                "met": lat["p95"] < TARGET_MS,
            },
            "command_median": {
                "target": "`safehub triage explain FILE.json` median wall time "
                f"< {TARGET_MS:.0f} ms (Python and Django start-up included)",
                "ms": results["command"]["explain"]["median_ms"],
                "met": results["command"]["explain"]["median_ms"] < TARGET_MS,
            },
        }
    finally:
        if created and not args.keep:
            intake.drop_database(base, name)
        elif created:
            print(f"Kept database {name}: {url}")
        shutil.rmtree(work, ignore_errors=True)
    report(results)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nWritten to {args.results}")


def report(results: dict[str, Any]) -> None:
    m = results["machine"]
    print("\n=== Triage explain benchmark ===")
    print(
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_mb']} MB, Python "
        f"{m['python']}, {m['postgresql'].split(' on ')[0]}, {m['date']}, load average "
        f"{m['load_average_at_start'][0]:.2f} -> {m['load_average_at_end'][0]:.2f}"
    )
    h = results["history"]
    print(
        f"History: {h['notifications']} notifications ({h['incidents']}) imported in "
        f"{h['import_seconds']} s; {h['stored']['intake_personkey']} person keys; "
        f"{h['victim_keys_in_more_than_one_notification']} of {h['victim_keys']} victim keys "
        "in more than one notification"
    )
    p = results["in_process"]
    lat = p["latency_ms"]
    q = p["queries_per_call"]
    print(
        f"In-process triage_explain, {p['samples']} samples (after a {p['warm_up_ms']} ms "
        f"warm-up): p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms, max "
        f"{lat['max']} ms (mean {lat['mean']})"
    )
    print(
        f"  SQL statements per call: median {q['median']} (min {q['min']}, max {q['max']}); "
        f"{p['sql_ms_per_call_mean']} ms of SQL per call on average"
    )
    print(
        f"  with earlier history: {p['with_history']} of {p['samples']} (most earlier for one "
        f"victim: {p['earlier_same_victim_max']}, for one child: {p['earlier_for_a_child_max']})"
    )
    for kind, k in p["by_kind"].items():
        print(
            f"  {kind:6}: {k['samples']} samples, {k['with_history']} with history; p50 "
            f"{k['latency_ms']['p50']} ms, p95 {k['latency_ms']['p95']} ms"
        )
    print(
        "  slowest calls: "
        + "; ".join(
            f"{c['ms']} ms (call {c['call_number']}, {c['queries']} statements, {c['sql_ms']} ms "
            f"SQL, {c['children']} children)"
            for c in p["slowest_calls"][:3]
        )
    )
    print("  statements (by total time):")
    for shape, s in list(p["statements"].items())[:8]:
        print(
            f"    {shape:45} {s['per_call']:>5}/call, mean {s['mean_ms']} ms, max "
            f"{s['max_ms']} ms, {s['share_of_explain_time'] * 100:.1f}% of explain time"
        )
    for shape, plan in p["plans"].items():
        lines = plan["explain_analyze"].splitlines()
        scans = [line.strip() for line in lines if "Scan" in line][:2]
        timing = [line.strip() for line in lines if line.startswith("Execution Time")]
        print(f"  slowest {shape} ({plan['ms']} ms), run again: {'; '.join(scans + timing)}")
    c = results["command"]
    print(
        f"Command ({c['runs']} runs each, sample {c['sample']['id']}: {c['sample']['kind']}, "
        f"{c['sample']['children']} children, {c['sample']['encompass_notices']} Encompass "
        f"notices, {c['sample']['earlier_same_victim']} earlier for the victim):"
    )
    for name, label in (
        ("explain", "safehub triage explain FILE.json"),
        ("triage_help", "safehub triage --help (floor)"),
        ("django_setup", "python -c django.setup() (floor)"),
    ):
        print(
            f"  {label:36} median {c[name]['median_ms']} ms, p95 {c[name]['p95_ms']} ms "
            f"(min {c[name]['min_ms']}, max {c[name]['max_ms']})"
        )
    print(
        f"  explain work inside the process: {c['explain_minus_triage_help_median_ms']} ms over "
        f"`triage --help`, {c['explain_minus_django_setup_median_ms']} ms over django.setup()"
    )
    for t in results["targets"].values():
        print(f"{t['target']}: {t['ms']} ms: {'PASS' if t['met'] else 'FAIL'}")


if __name__ == "__main__":
    main()
