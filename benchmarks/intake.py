"""Intake benchmark: the notification API under concurrent load, and the bulk import.

    .venv/bin/python benchmarks/intake.py [--notifications 5000] [--clients 16]
        [--import-count 100000] [--database-url postgres://postgres@127.0.0.1:5432/postgres]

On PostgreSQL databases it creates for itself (and drops at the end):

a. API: generates the notifications, starts `safehub serve` (gunicorn, `--worker-class`) on a
   free loopback port and POSTs them from `--clients` threads, each with its own connection:
   * "saturation": closed loop, every client sends its next notification as soon as it has an
     answer: the most the server does, and the latency at that load;
   * "paced": open loop at `--rate` notifications/s (default 110, so that at least 100 are
     answered) shared by the same clients; latency is counted from the moment a request was
     due, so a server that falls behind is not flattered (no coordinated omission).
   Every answer must be 201, and the database must then hold exactly the notifications sent.
b. Import: generates `--import-count` notifications to a JSONL file and times `safehub import` as a
   subprocess, with its peak RSS (from `wait4`, for that process alone).
c. Floor: a plain psycopg COPY of the same JSON lines into `raw_copy(body jsonb)`.
d. Prints everything and writes it to benchmarks/results/intake.json, with the machine.

The import runs in a second database cloned (`CREATE DATABASE ... TEMPLATE`) from the first just
after `migrate` and `reference load`, so that it starts as empty as the API run did and the two
runs' incident references cannot collide.

Only the standard library and the project's own dependencies (psycopg); no HTTP library is added.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import http.client
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SAFEHUB = str(Path(sys.executable).with_name("safehub"))
RESULTS = ROOT / "benchmarks" / "results" / "intake.json"

# Gunicorn for a 2-core machine that also runs PostgreSQL and the load generator: the request
# path is CPU-bound Python (validation, ORM) with short database waits, so one process per core
# plus one, and a few threads each to overlap the database round trips. Measured against 2x4,
# 4x2 and 5x2 on this machine (see the report); overridable with --workers/--threads.
# One field-encryption key for every process of a run (server, import, migrate).
FIELD_KEY = base64.urlsafe_b64encode(os.urandom(32)).decode()

DEFAULT_WORKERS = 4
DEFAULT_THREADS = 1


# ---------------------------------------------------------------------------------------------
# Databases and processes
# ---------------------------------------------------------------------------------------------


def db_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def admin_connect(base: str) -> psycopg.Connection:
    return psycopg.connect(db_url(base, "postgres"), autocommit=True)


def create_database(base: str, name: str, template: str | None = None) -> None:
    with admin_connect(base) as conn:
        sql = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
        conn.execute(sql)


def drop_database(base: str, name: str) -> None:
    with admin_connect(base) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def safehub_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SECRET_KEY=env.get("SECRET_KEY") or "benchmark-" + uuid.uuid4().hex,
        SAFEHUB_FIELD_KEYS=env.get("SAFEHUB_FIELD_KEYS") or FIELD_KEY,
        # The per-second burst limit (200) is about this machine's capacity: the closed-loop
        # saturation run measures the server, not the limit, so it is raised (still counted, so
        # its cost is in the figures).
        SAFEHUB_API_WRITES_PER_SECOND=env.get("SAFEHUB_API_WRITES_PER_SECOND") or "100000",
        DATABASE_URL=database_url,
        SAFEHUB_SSL_REDIRECT="false",
        SAFEHUB_ALLOWED_HOSTS="127.0.0.1,localhost",
        SAFEHUB_LOG_LEVEL="WARNING",
    )
    env.pop("SAFEHUB_DEBUG", None)
    return env


def run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([SAFEHUB, *args], env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"safehub {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WORKER_CLASS = "gthread"


class Server:
    """`safehub serve` in its own process group, so that the master and workers stop together."""

    def __init__(self, env: dict[str, str], port: int, workers: int, threads: int, log: Path):
        self.port = port
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [
                SAFEHUB,
                "serve",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--no-collectstatic",
            ],
            env={**env, "SAFEHUB_WEB_WORKER_CLASS": WORKER_CLASS},
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, token: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited ({self.proc.returncode}); see {self.log.name}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request(
                    "GET",
                    "/api/v1/notifications/MSP/not-there",
                    headers={"Authorization": f"Bearer {token}"},
                )
                status = conn.getresponse().status
                conn.close()
                if status == 404:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("the server did not answer in time")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


# ---------------------------------------------------------------------------------------------
# CPU accounting: the machine is shared, so wall-clock rates are read next to where the CPU went
# ---------------------------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _proc_stats() -> dict[int, tuple[int, str, float, int]]:
    """Every process: pid -> (parent pid, command name, CPU seconds used so far, RSS bytes)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / TICK
        out[int(entry)] = (int(fields[1]), name, cpu, int(fields[21]) * PAGE)
    return out


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / TICK, total / TICK


class CpuMeter:
    """Where the CPU went between `start()` and `stop()`: the measured process tree (`root` and
    its descendants: gunicorn's workers, the import's worker processes), this process (the load
    generator), PostgreSQL (all its processes, whoever they serve) and the whole machine. /proc
    is sampled every 0.2 s, so that processes that end in between are counted, and so is the
    peak of the tree's total resident memory."""

    def __init__(self, root: int | None = None) -> None:
        self.root = root
        self.in_tree: set[int] = set()
        self._stop = threading.Event()

    def _sample(self) -> None:
        procs = _proc_stats()
        children: dict[int, list[int]] = {}
        for pid, (ppid, name, cpu, _) in procs.items():
            self.last[pid] = (ppid, name, cpu)
            children.setdefault(ppid, []).append(pid)
        tree, todo = set(), [self.root] if self.root in procs else []
        while todo:
            pid = todo.pop()
            tree.add(pid)
            todo.extend(children.get(pid, ()))
        self.in_tree |= tree
        self.peak_rss = max(self.peak_rss, sum(procs[pid][3] for pid in tree))

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def start(self) -> None:
        self.baseline = {pid: cpu for pid, (_, _, cpu, _) in _proc_stats().items()}
        self.last: dict[int, tuple[int, str, float]] = {}
        self.peak_rss = 0
        self.machine = _machine_busy()
        self.client = time.process_time()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self, count: int) -> dict[str, Any]:
        self._stop.set()
        self._thread.join()
        self._sample()
        client = time.process_time() - self.client
        busy, total = _machine_busy()
        busy, total = busy - self.machine[0], total - self.machine[1]
        tree = postgres = 0.0
        for pid, (_, name, cpu) in self.last.items():
            used = cpu - self.baseline.get(pid, 0.0)
            if pid in self.in_tree:
                tree += used
            elif name.startswith("postgres"):
                postgres += used
        per = 1000 / count
        return {
            "measured_cpu_ms_each": round(tree * per, 3),
            "postgres_cpu_ms_each": round(postgres * per, 3),
            "load_generator_cpu_ms_each": round(client * per, 3),
            "machine_busy_fraction": round(busy / total, 3),
            "other_processes_cpu_seconds": round(max(0.0, busy - tree - postgres - client), 1),
            "peak_total_rss_mb": round(self.peak_rss / 2**20, 1),
        }


# ---------------------------------------------------------------------------------------------
# Load
# ---------------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def summary_ms(values: list[float]) -> dict[str, float]:
    """Mean, nearest-rank percentiles and extremes of durations in seconds, in milliseconds."""
    ordered = sorted(values)
    return {
        "mean": ms(statistics.fmean(ordered)),
        "p50": ms(percentile(ordered, 50)),
        "p95": ms(percentile(ordered, 95)),
        "p99": ms(percentile(ordered, 99)),
        "max": ms(ordered[-1]),
        "min": ms(ordered[0]),
    }


def post_all(
    port: int, token: str, bodies: list[bytes], clients: int, rate: float | None
) -> dict[str, Any]:
    """POST every body once, from `clients` threads. Closed loop when `rate` is None; else open
    loop, body i due at start + i/rate, latency counted from when it was due."""
    lock = threading.Lock()
    next_index = iter(range(len(bodies)))
    latencies: list[float] = [0.0] * len(bodies)
    statuses: list[int] = [0] * len(bodies)
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    start_barrier = threading.Barrier(clients + 1)
    t0 = 0.0

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start_barrier.wait()
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                break
            due = t0 + i / rate if rate else None
            if due is not None:
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            began = time.perf_counter()
            for attempt in range(2):  # a keep-alive connection the server closed: reconnect once
                try:
                    conn.request("POST", "/api/v1/notifications", body=bodies[i], headers=headers)
                    response = conn.getresponse()
                    response.read()
                    break
                except (http.client.HTTPException, OSError) as exc:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    if attempt:
                        with lock:
                            errors.append(f"{i}: {exc!r}")
                        response = None
            ended = time.perf_counter()
            statuses[i] = response.status if response is not None else -1
            latencies[i] = ended - (due if due is not None else began)
        conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    t0 = time.perf_counter() + 0.05
    start_barrier.wait()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - t0
    ordered = sorted(latencies)
    counts: dict[str, int] = {}
    for status in statuses:
        counts[str(status)] = counts.get(str(status), 0) + 1
    return {
        "mode": "open loop" if rate else "closed loop",
        "offered_rate_per_s": rate,
        "clients": clients,
        "requests": len(bodies),
        "seconds": round(wall, 3),
        "notifications_per_s": round(len(bodies) / wall, 1),
        "latency_ms": {
            "mean": round(statistics.fmean(ordered) * 1000, 1),
            "p50": round(percentile(ordered, 50) * 1000, 1),
            "p95": round(percentile(ordered, 95) * 1000, 1),
            "p99": round(percentile(ordered, 99) * 1000, 1),
            "max": round(ordered[-1] * 1000, 1),
        },
        "statuses": counts,
        "all_201": counts == {"201": len(bodies)},
        "transport_errors": errors[:10],
    }


def warm_up(port: int, token: str, clients: int, rounds: int = 8) -> None:
    """Reads that miss, so every worker thread has imported everything and opened its database
    connection before the clock starts. Nothing is written."""

    def one() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for n in range(rounds):
            conn.request(
                "GET",
                f"/api/v1/notifications/MSP/warm-up-{n}",
                headers={"Authorization": f"Bearer {token}"},
            )
            conn.getresponse().read()
        conn.close()

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# ---------------------------------------------------------------------------------------------
# Machine
# ---------------------------------------------------------------------------------------------


def machine(database_url: str) -> dict[str, Any]:
    cpu_model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    with psycopg.connect(database_url) as conn:
        pg = conn.execute("SELECT version()").fetchone()[0]  # type: ignore[index]
        settings = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('shared_buffers', 'synchronous_commit', 'fsync', 'max_connections')"
            ).fetchall()
        )
    return {
        "nproc": int(nproc) if nproc.isdigit() else os.cpu_count(),
        "memory_mb": mem_kb // 1024,
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "postgresql": pg,
        "postgresql_settings": settings,
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average_at_start": list(os.getloadavg()),
    }


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--notifications",
        type=int,
        default=5000,
        help="notifications POSTed in the saturation run (default 5000)",
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--rate",
        type=float,
        default=110.0,
        help="offered load of the paced run, notifications/s (default 110, so that at least 100 "
        "are answered each second)",
    )
    parser.add_argument(
        "--paced-count",
        type=int,
        default=3000,
        help="notifications POSTed in the paced run (default 3000; 0: skip it)",
    )
    parser.add_argument("--import-count", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--worker-class", choices=["gthread", "sync"], default="sync")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="where to create the scratch databases (its database name is ignored)",
    )
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    global WORKER_CLASS
    WORKER_CLASS = args.worker_class
    if args.notifications < 1 or args.import_count < 1:
        parser.error("counts must be positive")

    sys.path.insert(0, str(ROOT / "src"))
    from safehub.intake.generator import write_notifications

    base = args.database_url
    name = f"safehub_bench_{os.getpid()}"
    import_name = name + "_import"
    api_url, import_url = db_url(base, name), db_url(base, import_name)
    work = Path(tempfile.mkdtemp(prefix="safehub-bench-"))
    # Incidents in the year that ended a week ago: nothing is in the future.
    start = dt.date.today() - dt.timedelta(days=372)
    results: dict[str, Any] = {
        "benchmark": "intake",
        "arguments": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k != "database_url"
        },
    }
    created: list[str] = []
    try:
        print(f"Preparing database {name} (migrate, reference load)...", flush=True)
        create_database(base, name)
        created.append(name)
        env = safehub_env(api_url)
        t = time.perf_counter()
        run(["migrate", "-v0"], env)
        run(["reference", "load"], env)
        token = (
            run(["apiclient", "create", "--force", "MSP", "--name", "bench"], env)
            .strip()
            .splitlines()[-1]
            .strip()
        )
        results["setup_seconds"] = round(time.perf_counter() - t, 1)
        create_database(base, import_name, template=name)
        created.append(import_name)
        results["machine"] = machine(api_url)

        if not args.skip_api:
            results["api"] = bench_api(args, env, token, api_url, start, work, write_notifications)
        if not args.skip_import:
            results["import"] = bench_import(
                args, safehub_env(import_url), import_url, start, work, write_notifications
            )
        results["machine"]["load_average_at_end"] = list(os.getloadavg())
        results["targets"] = targets(results)
    finally:
        for db in reversed(created):
            drop_database(base, db)
        for path in work.iterdir():
            path.unlink()
        work.rmdir()
    report(results)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nWritten to {args.results}")


def bench_api(args, env, token, api_url, start, work, write_notifications) -> dict[str, Any]:
    total = args.notifications + args.paced_count
    path = work / "api.jsonl"
    t = time.perf_counter()
    write_notifications(path, count=total, seed=args.seed, start=start, days=365, force_code="MSP")
    bodies = path.read_bytes().splitlines()
    gen_seconds = time.perf_counter() - t
    assert len(bodies) == total, (len(bodies), total)
    saturation = bodies[: args.notifications]
    paced = bodies[args.notifications :]
    port = free_port()
    print(
        f"API: {args.workers} gunicorn workers x {args.threads} threads ({args.worker_class}) "
        f"on :{port}, "
        f"{args.clients} clients",
        flush=True,
    )
    server = Server(env, port, args.workers, args.threads, work / "server.log")
    out: dict[str, Any] = {
        "gunicorn": {
            "workers": args.workers,
            "threads": args.threads,
            "worker_class": args.worker_class,
            "bind": f"127.0.0.1:{port}",
        },
        "generated": total,
        "generate_seconds": round(gen_seconds, 2),
        "mean_body_bytes": round(sum(map(len, bodies)) / len(bodies)),
    }
    try:
        server.wait_ready(token)
        warm_up(port, token, args.clients)
        meter = CpuMeter(server.proc.pid)
        print(f"  saturation: {len(saturation)} notifications, closed loop...", flush=True)
        meter.start()
        out["saturation"] = post_all(port, token, saturation, args.clients, None)
        out["saturation"]["cpu"] = _server_cpu(meter.stop(len(saturation)))
        print(
            f"    {out['saturation']['notifications_per_s']}/s, "
            f"p95 {out['saturation']['latency_ms']['p95']} ms",
            flush=True,
        )
        if paced:
            print(f"  paced: {len(paced)} notifications at {args.rate}/s...", flush=True)
            meter.start()
            out["paced"] = post_all(port, token, paced, args.clients, args.rate)
            out["paced"]["cpu"] = _server_cpu(meter.stop(len(paced)))
            print(
                f"    {out['paced']['notifications_per_s']}/s, "
                f"p95 {out['paced']['latency_ms']['p95']} ms",
                flush=True,
            )
    finally:
        server.stop()
    with psycopg.connect(api_url) as conn:
        stored = conn.execute("SELECT count(*) FROM intake_notification").fetchone()[0]  # type: ignore[index]
        versions = conn.execute("SELECT count(*) FROM intake_notificationversion").fetchone()[0]  # type: ignore[index]
        contacts = conn.execute("SELECT count(*) FROM referrals_contact").fetchone()[0]  # type: ignore[index]
    out["stored"] = {"notifications": stored, "versions": versions, "contacts": contacts}
    out["db_count_equals_sent"] = stored == total and versions == total
    out["all_201"] = all(out[k]["all_201"] for k in ("saturation", "paced") if k in out)
    return out


def _server_cpu(cpu: dict[str, Any]) -> dict[str, Any]:
    cpu["server_cpu_ms_each"] = cpu.pop("measured_cpu_ms_each")
    cpu["server_peak_total_rss_mb"] = cpu.pop("peak_total_rss_mb")
    return cpu


def bench_import(args, env, import_url, start, work, write_notifications) -> dict[str, Any]:
    path = work / "import.jsonl"
    print(f"Import: generating {args.import_count} notifications...", flush=True)
    t = time.perf_counter()
    write_notifications(
        path, count=args.import_count, seed=args.seed + 1, start=start, days=365, force_code="MSP"
    )
    gen_seconds = time.perf_counter() - t
    size = path.stat().st_size
    print(f"  {size / 1e6:.1f} MB in {gen_seconds:.1f} s; running safehub import...", flush=True)
    # Through GNU time when there is one: the peak RSS wait4 reports for a child counts the image
    # it was forked from (here, this process) until it execs, and time's is small.
    gnu_time = Path("/usr/bin/time")
    wrapper = [str(gnu_time), "-f", "MAXRSS_KB=%M", "-o", str(work / "time.out")]
    meter = CpuMeter()
    meter.start()
    t = time.perf_counter()
    with (work / "import.out").open("w+") as out_file:
        proc = subprocess.Popen(
            [
                *(wrapper if gnu_time.exists() else []),
                SAFEHUB,
                "import",
                str(path),
                "--no-progress",
            ],
            env=env,
            cwd=ROOT,
            stdout=out_file,
            stderr=subprocess.STDOUT,
        )
        meter.root = proc.pid
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t
        cpu = meter.stop(args.import_count)
        out_file.seek(0)
        output = out_file.read().strip()
    if proc.returncode != 0:
        raise SystemExit(f"safehub import failed ({proc.returncode}):\n{output}")
    import_rate = args.import_count / seconds
    # wait4: the import process and its worker processes (which it waited for), so the largest
    # of them; the sampled total of the whole tree is what the machine had to hold at once.
    largest_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    if gnu_time.exists():
        largest_mb = int((work / "time.out").read_text().split("MAXRSS_KB=")[1].split()[0]) / 1024
    peak_mb = max(largest_mb, cpu.pop("peak_total_rss_mb"))
    import_cpu = usage.ru_utime + usage.ru_stime
    cpu.pop("load_generator_cpu_ms_each")
    cpu.pop("measured_cpu_ms_each")
    cpu["import_cpu_ms_each"] = round(import_cpu * 1000 / args.import_count, 3)
    cpu["import_cpu_seconds"] = round(import_cpu, 1)
    print(
        f"  {seconds:.1f} s, {import_rate:.0f}/s, peak RSS {peak_mb:.0f} MB in all "
        f"(largest process {largest_mb:.0f} MB)",
        flush=True,
    )
    with psycopg.connect(import_url) as conn:
        stored = conn.execute("SELECT count(*) FROM intake_notification").fetchone()[0]  # type: ignore[index]
        contacts = conn.execute("SELECT count(*) FROM referrals_contact").fetchone()[0]  # type: ignore[index]

    print("Floor: COPY of the same lines into raw_copy(body jsonb)...", flush=True)
    with psycopg.connect(import_url) as conn:
        conn.execute("CREATE TABLE raw_copy (body jsonb)")
        conn.commit()
        t = time.perf_counter()
        with (
            conn.cursor() as cur,
            path.open("rb") as lines,
            cur.copy("COPY raw_copy (body) FROM STDIN") as copy,
        ):
            for line in lines:
                line = line.strip()
                if line:
                    copy.write_row((line.decode("utf-8"),))
        conn.commit()
        copy_seconds = time.perf_counter() - t
        copied = conn.execute("SELECT count(*) FROM raw_copy").fetchone()[0]  # type: ignore[index]
    copy_rate = copied / copy_seconds
    print(f"  {copy_seconds:.1f} s, {copy_rate:.0f}/s", flush=True)
    return {
        "count": args.import_count,
        "file_mb": round(size / 1e6, 1),
        "generate_seconds": round(gen_seconds, 1),
        "seconds": round(seconds, 1),
        "notifications_per_s": round(import_rate, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "peak_rss_mb_largest_process": round(largest_mb, 1),
        "cpu": cpu,
        "output": output,
        "stored": {"notifications": stored, "contacts": contacts},
        "copy": {
            "table": "raw_copy(body jsonb)",
            "rows": copied,
            "seconds": round(copy_seconds, 2),
            "rows_per_s": round(copy_rate, 1),
        },
        "import_rate_over_copy_rate": round(import_rate / copy_rate, 4),
    }


def targets(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    api = results.get("api")
    if api:
        # The target is about a steady load: the paced run offers it. The saturation run (every
        # client sends again the moment it is answered) measures capacity, and is reported only.
        for run_name in ("paced",):
            if run_name in api:
                r = api[run_name]
                out[f"api_{run_name}"] = {
                    "target": "p95 <= 150 ms at >= 100 notifications/s",
                    "p95_ms": r["latency_ms"]["p95"],
                    "notifications_per_s": r["notifications_per_s"],
                    "met": r["latency_ms"]["p95"] <= 150
                    and r["notifications_per_s"] >= 100
                    and r["all_201"],
                }
    imp = results.get("import")
    if imp:
        out["import"] = {
            "target": ">= 1000 notifications/s, peak memory < 500 MB",
            "notifications_per_s": imp["notifications_per_s"],
            "peak_rss_mb": imp["peak_rss_mb"],
            "met": imp["notifications_per_s"] >= 1000 and imp["peak_rss_mb"] < 500,
        }
    return out


def report(results: dict[str, Any]) -> None:
    m = results["machine"]
    print("\n=== Intake benchmark ===")
    print(
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_mb']} MB, Python "
        f"{m['python']}, {m['postgresql'].split(' on ')[0]}, {m['date']}, load average "
        f"{m['load_average_at_start'][0]:.2f} -> {m.get('load_average_at_end', [0])[0]:.2f}"
    )
    api = results.get("api")
    if api:
        g = api["gunicorn"]
        print(f"API ({g['workers']} workers x {g['threads']} threads, {g['worker_class']}):")
        # The target is about a steady load: the paced run offers it. The saturation run (every
        # client sends again the moment it is answered) measures capacity, and is reported only.
        for run_name in ("paced",):
            if run_name in api:
                r = api[run_name]
                lat = r["latency_ms"]
                rate = r["offered_rate_per_s"]
                offered = f" offered {rate}/s," if rate else ""
                print(
                    f"  {run_name:10} {r['requests']:>6} reqs,{offered} {r['clients']} clients: "
                    f"{r['notifications_per_s']:.1f}/s; latency p50 {lat['p50']} ms, p95 "
                    f"{lat['p95']} ms, p99 {lat['p99']} ms, max {lat['max']} ms; "
                    f"statuses {r['statuses']}"
                )
        # The target is about a steady load: the paced run offers it. The saturation run (every
        # client sends again the moment it is answered) measures capacity, and is reported only.
        for run_name in ("paced",):
            if run_name in api:
                print(f"  {run_name} CPU: {api[run_name]['cpu']}")
        print(
            f"  stored {api['stored']}; all 201: {api['all_201']}; DB count equals sent: "
            f"{api['db_count_equals_sent']}"
        )
    imp = results.get("import")
    if imp:
        print(
            f"Import: {imp['count']} notifications ({imp['file_mb']} MB) in {imp['seconds']} s "
            f"= {imp['notifications_per_s']}/s, peak RSS {imp['peak_rss_mb']} MB"
        )
        print(f"  {imp['output'].splitlines()[0] if imp['output'] else ''}")
        print(f"  CPU: {imp['cpu']}")
        c = imp["copy"]
        print(
            f"COPY floor: {c['rows']} rows in {c['seconds']} s = {c['rows_per_s']}/s; "
            f"import/copy = {imp['import_rate_over_copy_rate']}"
        )
    for name, t in results.get("targets", {}).items():
        print(f"Target {name}: {t['target']}: {'MET' if t['met'] else 'MISSED'}")


if __name__ == "__main__":
    main()
