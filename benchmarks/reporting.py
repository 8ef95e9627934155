"""Reporting benchmark: the dashboards, Ofsted's Annex A and the CIN census on a national year.

    .venv/bin/python benchmarks/reporting.py [--notifications 1350000] [--runs 7]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres] [--keep | --reuse DBNAME]
    .venv/bin/python benchmarks/reporting.py --force-only 300000 [--force MET]

The requirement (issue 6): with a year of the whole country loaded (1.35 million notifications and
what follows from them) on PostgreSQL, the council dashboard renders in ≤ 500 ms server time, the
national dashboard in ≤ 2 s, Annex A for the largest council in ≤ 30 s and the CIN census for the
largest council in ≤ 60 s, with peak memory reported.

a. Load: in a scratch database it creates (dropped at the end unless --keep), `migrate`, then
   `safehub load_national --notifications N` (every force and council of England; with
   --force-only N, one force's councils: "a year of a large force"). --reuse DBNAME skips the
   load and measures a database loaded before (it is never dropped).
b. Measures, each in a fresh child process with Django set up on the database (so that its peak
   RSS, from `wait4`, is the measure's own): the dashboard of the largest council (Kent: 2.9% of
   England's children) for the last 30 days and the last 365, and the national dashboard for
   both, rendered through Django's test Client as a signed-in head of service (every middleware
   and the template included; `--runs` times after one warm-up, median and p95 reported);
   Annex A for the largest council for the last six months (`annex_a_write`); the CIN census
   for the largest council for the last complete census year (`census_check`: built and
   validated against the XSD and the rules, nothing written). The slowest SQL statements of each
   are reported, and the slowest run once more under EXPLAIN ANALYZE.
c. Prints the figures and writes them with the machine to benchmarks/results/reporting.json.

Only the standard library and the project's own dependencies; helpers shared with intake.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import intake  # benchmarks/intake.py: databases, environment, machine, percentile

ROOT = intake.ROOT
SAFEHUB = intake.SAFEHUB
RESULTS = ROOT / "benchmarks" / "results" / "reporting.json"
# One field key for the loader and the measures: the figures read no encrypted field, but a
# database loaded with --keep stays readable by the next run.
FIELD_KEY = "cmVwb3J0aW5nLWJlbmNobWFyay1maWVsZC1rZXkhISE="
TARGETS_MS = {
    "council_dashboard": 500.0,
    "national_dashboard": 2000.0,
    "annex_a": 30_000.0,
    "census": 60_000.0,
}
MEASURES = (
    "council_dashboard_30",
    "council_dashboard_365",
    "national_dashboard_30",
    "national_dashboard_365",
    "annex_a",
    "census",
)


ms = intake.ms


def env_for(url: str) -> dict[str, str]:
    env = intake.safehub_env(url)
    env["SAFEHUB_FIELD_KEYS"] = os.environ.get("SAFEHUB_FIELD_KEYS") or FIELD_KEY
    env["SECRET_KEY"] = os.environ.get("SECRET_KEY") or "benchmark-reporting"
    # The pages name their static files; without `collectstatic` there is no manifest to read.
    env["SAFEHUB_MANIFEST_STATIC"] = "false"
    return env


# ---------------------------------------------------------------------------------------------
# The measuring worker (a child process, Django set up on the database)
# ---------------------------------------------------------------------------------------------


def worker(measure: str, runs: int, force: str | None, out: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safehub.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from safehub.accounts.models import Role, User
    from safehub.core import clock
    from safehub.returns.national import national_largest_council

    council = national_largest_council(force=force)
    statements: list[tuple[float, str, Any]] = []

    def timing(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((time.perf_counter() - began, sql, params))

    result: dict[str, Any] = {"measure": measure, "council": f"{council.name} ({council.la_code})"}
    times: list[float] = []
    if measure.startswith(("council_dashboard", "national_dashboard")):
        user, _ = User.objects.get_or_create(
            username="bench-head-of-service",
            defaults={"agency": council, "roles": [Role.HEAD_OF_SERVICE, Role.ANALYST]},
        )
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        days = measure.rsplit("_", 1)[1]
        url = "/reports/" if measure.startswith("council") else "/reports/national/"
        url += f"?period={days}"
        first = time.perf_counter()
        response = client.get(url)
        result["warm_up_ms"] = ms(time.perf_counter() - first)
        result["status"] = response.status_code
        result["bytes"] = len(response.content)
        if time.perf_counter() - first > 20:
            runs = 1  # minutes a render: one timed run says enough
        with connection.execute_wrapper(timing):
            for _ in range(runs):
                statements.clear()
                began = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - began)
                assert response.status_code == 200, response.status_code
                result.setdefault("queries_per_render", len(statements))
                result["sql_ms_last_render"] = ms(sum(t for t, _, _ in statements))
    else:
        import tempfile

        today = clock.now().astimezone(clock.LONDON).date()
        with connection.execute_wrapper(timing), tempfile.TemporaryDirectory() as tmp:
            if measure == "annex_a":
                from safehub.returns.annex_a import annex_a_write

                end = today - dt.timedelta(days=1)
                start = end - dt.timedelta(days=182)
                began = time.perf_counter()
                summary = annex_a_write(council, start, end, Path(tmp) / "annex-a.xlsx")
                times.append(time.perf_counter() - began)
                result["rows"] = summary.rows
                result["period"] = f"{start}..{end}"
                result["file_bytes"] = (Path(tmp) / "annex-a.xlsx").stat().st_size
            else:
                from safehub.returns.census import census_check

                # The census year under way (1 April to 31 March): most of it is in the
                # loaded year, which ends today.
                year = today.year + 1 if today >= dt.date(today.year, 4, 1) else today.year
                began = time.perf_counter()
                summary = census_check(council=council, year=year)
                times.append(time.perf_counter() - began)
                result["year"] = year
                result["counts"] = summary.counts
                result["errors"] = len(summary.errors)
                result["error_rules"] = sorted({f"{p.rule} {p.field}" for p in summary.errors})
        result["queries"] = len(statements)
        result["sql_ms"] = ms(sum(t for t, _, _ in statements))
    ordered = sorted(times)
    result["runs"] = len(times)
    result["median_ms"] = ms(statistics.median(ordered))
    result["p95_ms"] = ms(intake.percentile(ordered, 95))
    result["max_ms"] = ms(ordered[-1])
    slow = sorted(statements, key=lambda s: -s[0])[:5]
    result["slowest_statements"] = [{"ms": ms(t), "sql": sql[:600]} for t, sql, _ in slow]
    if slow:
        t, sql, params = slow[0]
        if t > 0.05 and sql.lstrip().upper().startswith("SELECT"):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                result["slowest_plan"] = "\n".join(r[0] for r in cursor.fetchall())
    out.write_text(json.dumps(result, default=str))


def run_measure(
    env: dict[str, str], measure: str, runs: int, force: str | None, work: Path
) -> dict[str, Any]:
    """One measure in a child process: its result and its own peak RSS (wait4)."""
    out = work / f"{measure}.json"
    args = [sys.executable, __file__, "--worker", measure, str(out), "--runs", str(runs)]
    if force:
        args += ["--force", force]
    began = time.perf_counter()
    proc = subprocess.Popen(args, env=env, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        return {"measure": measure, "failed": True, "exit": os.waitstatus_to_exitcode(status)}
    result = json.loads(out.read_text())
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    result["process_wall_s"] = round(wall, 1)
    result["process_cpu_s"] = round(usage.ru_utime + usage.ru_stime, 1)
    return result


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def counts(url: str) -> dict[str, int]:
    import psycopg

    tables = (
        "intake_notification",
        "referrals_contact",
        "referrals_decision",
        "timescales_clock",
        "meetings_strategydiscussion",
        "meetings_participant",
        "casework_caseepisode",
        "casework_assessment",
        "casework_section47",
        "casework_childprotectionplan",
        "encompass_encompassnotice",
    )
    with psycopg.connect(url, autocommit=True) as conn:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
            for t in tables
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notifications", type=int, default=1_350_000)
    parser.add_argument(
        "--force-only",
        type=int,
        metavar="N",
        help="load N notifications for one force's councils (--force, default MET) instead",
    )
    parser.add_argument("--force", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=7, help="renders of each dashboard")
    parser.add_argument("--workers", type=int, default=2, help="load_national processes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="where to create the scratch database (its database name is ignored)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--reuse", metavar="DBNAME", help="measure this loaded database")
    parser.add_argument("--only", nargs="*", choices=MEASURES, help="some measures only")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.force_only and not args.force:
        args.force = "MET"
    if args.worker:
        worker(args.worker[0], args.runs, args.force, Path(args.worker[1]))
        return

    base = args.database_url
    name = args.reuse or f"safehub_bench_reporting_{os.getpid()}"
    url = intake.db_url(base, name)
    env = env_for(url)
    count = args.force_only or args.notifications
    results: dict[str, Any] = {
        "benchmark": "reporting",
        "arguments": {k: str(v) for k, v in vars(args).items() if k not in ("worker",)},
    }
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"safehub-bench-reporting-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    created = False
    try:
        if not args.reuse:
            print(f"Creating {name}, migrating...", flush=True)
            intake.create_database(base, name)
            created = True
            intake.run(["migrate", "-v0"], env)
            results["machine"] = intake.machine(url)
            what = f"for force {args.force}" if args.force else "for England"
            print(f"Loading {count:,} notifications {what} (safehub load_national)...", flush=True)
            command = [SAFEHUB, "load_national", "--notifications", str(count), "--seed",
                       str(args.seed), "--workers", str(args.workers), "--no-progress"]  # fmt: skip
            if args.force:
                command += ["--force", args.force]
            began = time.perf_counter()
            proc = subprocess.Popen(
                ["nice", *command], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
            )
            output, _ = proc.communicate()
            _, _, usage = os.wait4(proc.pid, 0) if proc.returncode is None else (0, 0, None)
            load_seconds = time.perf_counter() - began
            if proc.returncode != 0:
                raise SystemExit(f"load_national failed:\n{output}")
            print(output, flush=True)
            results["load"] = {
                "notifications": count,
                "force": args.force,
                "seconds": round(load_seconds, 1),
                "per_second": round(count / load_seconds, 1),
                "output": output,
            }
            del usage
        else:
            results["machine"] = intake.machine(url)
            results["load"] = {"reused": name}
        results["stored"] = counts(url)
        print(f"Stored: {results['stored']}", flush=True)
        measures = args.only or list(MEASURES)
        results["measures"] = {}
        for measure in measures:
            print(f"Measuring {measure}...", flush=True)
            runs = args.runs if "dashboard" in measure else 1
            r = run_measure(env, measure, runs, args.force, work)
            results["measures"][measure] = r
            if r.get("failed"):
                print(f"  FAILED (exit {r['exit']})", flush=True)
            else:
                print(
                    f"  median {r['median_ms']} ms, p95 {r['p95_ms']} ms, peak RSS "
                    f"{r['peak_rss_mb']} MB",
                    flush=True,
                )
        results["machine"]["load_average_at_end"] = list(os.getloadavg())
        results["targets"] = targets(results["measures"])
    finally:
        if created and not args.keep:
            intake.drop_database(base, name)
        elif created:
            print(f"Kept database {name}: {url}")
    report(results)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nWritten to {args.results}")


def targets(measures: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for measure, r in measures.items():
        key = measure.rsplit("_", 1)[0] if "dashboard" in measure else measure
        target = TARGETS_MS[key]
        value = r.get("p95_ms") if "dashboard" in measure else r.get("median_ms")
        out[measure] = {
            "target_ms": target,
            "ms": value,
            "met": value is not None and value <= target and not r.get("errors"),
        }
    return out


def report(results: dict[str, Any]) -> None:
    m = results["machine"]
    print("\n=== Reporting benchmark ===")
    print(
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_mb']} MB, "
        f"{m['postgresql'].split(' on ')[0]}, {m['date']}, load average "
        f"{m['load_average_at_start'][0]:.2f} -> {m.get('load_average_at_end', [0])[0]:.2f}"
    )
    load = results["load"]
    if "seconds" in load:
        print(
            f"Load: {load['notifications']:,} notifications in {load['seconds']} s "
            f"({load['per_second']}/s)"
        )
    print(f"Stored: {results['stored']}")
    for measure, r in results.get("measures", {}).items():
        if r.get("failed"):
            print(f"{measure}: FAILED")
            continue
        t = results["targets"][measure]
        print(
            f"{measure:24} median {r['median_ms']:>9} ms  p95 {r['p95_ms']:>9} ms  "
            f"peak RSS {r['peak_rss_mb']:>7} MB  target {t['target_ms']:.0f} ms: "
            f"{'PASS' if t['met'] else 'FAIL'}"
        )
        for s in r.get("slowest_statements", [])[:2]:
            print(f"    {s['ms']:>9} ms  {s['sql'][:150]}")


if __name__ == "__main__":
    main()
