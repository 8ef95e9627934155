"""The production server killed mid-load loses nothing and stores nothing twice.

`safehub serve` (gunicorn) runs in a scratch PostgreSQL database of its own, made here and dropped
at the end; the tests talk to it only over HTTP, through `psycopg` and through subprocesses (never
pytest-django's test database). PostgreSQL only: the server's workers write concurrently.

* 1,000 generated notifications are POSTed by 8 clients that keep retrying each one until they
  get an HTTP answer (connection refused or reset, or a 5xx: wait 0.2 s and send it again). When
  about a third have been answered, the whole server (master and workers, one process group) is
  SIGKILLed, then started again on the same port. Afterwards every notification is stored exactly
  once, with the id its sender was given, one version and one contact per child.
* 20 identical POSTs at the same instant give one notification: one 201 and nineteen 200s that
  all carry the same id.
"""

import datetime as dt
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

psycopg = pytest.importorskip("psycopg")

DATABASE_URL = os.environ.get("DATABASE_URL", "")
IS_POSTGRES = urlsplit(DATABASE_URL).scheme in ("postgres", "postgresql", "pgsql")

pytestmark = pytest.mark.skipif(
    not IS_POSTGRES,
    reason="needs PostgreSQL: set DATABASE_URL=postgres://... (the server's workers write "
    "concurrently, and the test makes its own scratch database next to that one)",
)

NOTIFICATIONS = 1000
CLIENTS = 8
KILL_AFTER = NOTIFICATIONS // 3
RETRY_PAUSE = 0.2
GIVE_UP_AFTER = 120.0  # seconds: a client still without an answer by then fails the test
ROOT = Path(__file__).resolve().parents[2]

_SETUP = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safehub.settings")
import django
django.setup()
from django.core.management import call_command
from safehub.accounts.services import apiclient_create, reference_load
call_command("migrate", verbosity=0)
reference_load()
print(apiclient_create(force_code="MSP", name="resilience test")[1])
"""


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _safehub() -> list[str]:
    script = Path(sys.executable).with_name("safehub")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from safehub.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`safehub serve` as the leader of its own process group: killing the group kills the
    gunicorn master and every worker at once, as a power cut or the OOM killer would."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log_path = env, port, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *_safehub(),
                    "serve",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    "2",
                    "--threads",
                    "4",
                    "--no-collectstatic",
                ],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, token: str, timeout: float = 45.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"the server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request(
                    "GET",
                    "/api/v1/notifications/MSP/readiness-probe",
                    headers={"Authorization": f"Bearer {token}"},
                )
                status = conn.getresponse().status
                conn.close()
                if status == 404:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"the server did not answer within {timeout} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL to the master and all its workers: no graceful shutdown, no finished requests."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """A scratch database with the reference data and a client token, the server running on it,
    and 1,001 generated notifications (1,000 for the kill test, one for the concurrency test)."""
    from safehub.intake.generator import generate_notifications

    name = f"safehub_resilience_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin_url = _with_database(DATABASE_URL, "postgres")
    url = _with_database(DATABASE_URL, name)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    workdir = tmp_path_factory.mktemp("resilience")
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        SECRET_KEY="resilience-" + uuid.uuid4().hex,
        SAFEHUB_SSL_REDIRECT="false",
        SAFEHUB_ALLOWED_HOSTS="127.0.0.1,localhost",
        SAFEHUB_LOG_LEVEL="WARNING",
        SAFEHUB_HOME=str(workdir),
    )
    env.pop("SAFEHUB_DEBUG", None)
    server = None
    try:
        done = subprocess.run(
            [sys.executable, "-c", _SETUP],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        token = done.stdout.strip().splitlines()[-1]
        start = dt.date.today() - dt.timedelta(days=372)
        bodies = [
            json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            for body in generate_notifications(
                count=NOTIFICATIONS + 1, seed=4242, start=start, days=365
            )
        ]
        server = Server(env, _free_port(), workdir / "server.log")
        server.start()
        server.wait_ready(token)
        yield {"server": server, "token": token, "url": url, "bodies": bodies}
    finally:
        if server is not None:
            server.stop()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _post_until_answered(
    port: int, token: str, body: bytes, deadline: float, conn_box: list
) -> tuple[int, dict, int]:
    """POST until an HTTP answer that is not a 5xx, waiting out a 429 as its Retry-After says:
    (status, JSON answer, attempts that failed)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    failures = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer after {failures} failed attempts")
        conn = conn_box[0]
        if conn is None:
            conn = conn_box[0] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", "/api/v1/notifications", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            # Refused while the server is down, reset or cut off when it was killed mid-request.
            conn.close()
            conn_box[0] = None
            failures += 1
            time.sleep(RETRY_PAUSE)
            continue
        if response.status >= 500:
            failures += 1
            time.sleep(RETRY_PAUSE)
            continue
        if response.status == 429:
            # Rate-limited (a burst of retries after the restart): wait as told, as a force's
            # system does, and send it again.
            time.sleep(float(response.getheader("Retry-After") or 1))
            continue
        return response.status, json.loads(payload or b"{}"), failures


def _children(body: bytes) -> int:
    return sum(1 for person in json.loads(body)["people"] if person["role"] == "child")


def test_killing_the_server_mid_load_loses_nothing_and_duplicates_nothing(hub):
    server, token = hub["server"], hub["token"]
    bodies = hub["bodies"][:NOTIFICATIONS]
    references = [json.loads(b)["incident_reference"] for b in bodies]
    assert len(set(references)) == NOTIFICATIONS

    answers: list[tuple[int, dict, int] | None] = [None] * NOTIFICATIONS
    errors: list[str] = []
    lock = threading.Lock()
    queue = iter(range(NOTIFICATIONS))
    answered = threading.Semaphore(0)
    deadline = time.monotonic() + GIVE_UP_AFTER

    def client() -> None:
        conn_box: list = [None]
        while True:
            with lock:
                i = next(queue, None)
            if i is None:
                break
            try:
                answers[i] = _post_until_answered(server.port, token, bodies[i], deadline, conn_box)
            except Exception as exc:
                with lock:
                    errors.append(f"{references[i]}: {exc!r}")
            answered.release()
        if conn_box[0] is not None:
            conn_box[0].close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for _ in range(KILL_AFTER):
        assert answered.acquire(timeout=GIVE_UP_AFTER), "the clients stalled before the kill"
    server.kill()
    killed_at = sum(1 for a in answers if a is not None)
    server.start()
    server.wait_ready(token)
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "clients still waiting for an answer"
    assert not errors, errors[:5]

    # The kill really happened mid-load: answers came after it, and requests failed because of it.
    assert killed_at < NOTIFICATIONS
    statuses = Counter(a[0] for a in answers if a is not None)
    assert set(statuses) <= {200, 201}, (statuses, server.log_tail())
    assert sum(statuses.values()) == NOTIFICATIONS
    failed_attempts = sum(a[2] for a in answers if a is not None)
    print(
        f"\nkilled after {killed_at} answers; statuses {dict(statuses)}; "
        f"{failed_attempts} attempts refused, reset or 5xx and retried"
    )
    assert failed_attempts > 0, "no request was hit by the kill"

    with psycopg.connect(hub["url"]) as db:
        rows = db.execute(
            """
            SELECT n.incident_reference, n.id::text,
                   (SELECT count(*) FROM intake_notificationversion v
                     WHERE v.notification_id = n.id),
                   (SELECT count(*) FROM referrals_contact c WHERE c.notification_id = n.id),
                   (SELECT count(DISTINCT c.child_ref) FROM referrals_contact c
                     WHERE c.notification_id = n.id),
                   (SELECT count(*) FROM audit_auditevent a
                     WHERE a.object_type = 'intake.notification' AND a.object_id = n.id::text
                       AND a.action = 'create')
              FROM intake_notification n
             WHERE n.force_code = 'MSP' AND n.incident_reference = ANY(%s)
            """,
            (references,),
        ).fetchall()
    stored = Counter(row[0] for row in rows)
    assert len(stored) == NOTIFICATIONS, f"{NOTIFICATIONS - len(stored)} notifications lost"
    assert max(stored.values()) == 1, [r for r, n in stored.items() if n > 1][:5]
    by_reference = {row[0]: row for row in rows}
    for i, reference in enumerate(references):
        _, notification_id, versions, contacts, children, created = by_reference[reference]
        status, answer, _ = answers[i]  # type: ignore[misc]
        assert answer["id"] == notification_id, (reference, status, answer)
        assert versions == 1, (reference, versions)
        assert contacts == children == _children(bodies[i]), (reference, contacts, children)
        assert created == 1, (reference, created)


def test_twenty_identical_posts_at_once_make_one_notification(hub):
    server, token = hub["server"], hub["token"]
    body = hub["bodies"][NOTIFICATIONS]
    reference = json.loads(body)["incident_reference"]
    senders = 20
    barrier = threading.Barrier(senders)
    results: list[tuple[int, dict] | Exception | None] = [None] * senders
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def send(k: int) -> None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            conn.connect()
            barrier.wait(timeout=30)
            conn.request("POST", "/api/v1/notifications", body=body, headers=headers)
            response = conn.getresponse()
            results[k] = (response.status, json.loads(response.read()))
            conn.close()
        except Exception as exc:
            results[k] = exc

    threads = [threading.Thread(target=send, args=(k,)) for k in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    failures = [r for r in results if not isinstance(r, tuple)]
    assert not failures, failures[:3]
    statuses = Counter(r[0] for r in results)  # type: ignore[index]
    assert statuses == {201: 1, 200: senders - 1}, (statuses, server.log_tail())
    ids = {r[1]["id"] for r in results}  # type: ignore[index]
    assert len(ids) == 1

    with psycopg.connect(hub["url"]) as db:
        rows = db.execute(
            """
            SELECT n.id::text,
                   (SELECT count(*) FROM intake_notificationversion v
                     WHERE v.notification_id = n.id),
                   (SELECT count(*) FROM referrals_contact c WHERE c.notification_id = n.id)
              FROM intake_notification n
             WHERE n.force_code = 'MSP' AND n.incident_reference = %s
            """,
            (reference,),
        ).fetchall()
    assert len(rows) == 1
    notification_id, versions, contacts = rows[0]
    assert {notification_id} == ids
    assert versions == 1
    assert contacts == _children(body)
