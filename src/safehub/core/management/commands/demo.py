"""`safehub demo`: a synthetic hub on the embedded database, served at http://127.0.0.1:8000."""

import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from safehub.core.crypto import demo_keys_file, field_keys

# The demo's notices reach the hub in batches: those the police recorded in the same six hours
# arrive together, twenty minutes after the window closes.
BATCH_HOURS = 6

DEMO_PEOPLE = [
    # username, agency code, roles, name
    ("wirral.worker", "LA344", ["hub_social_worker"], ("Wendy", "Walker")),
    ("wirral.manager", "LA344", ["hub_manager"], ("Mo", "Mahmood")),
    ("wirral.head", "LA344", ["head_of_service"], ("Hazel", "Head")),
    ("liverpool.worker", "LA341", ["hub_social_worker"], ("Lucy", "Lewis")),
    ("liverpool.manager", "LA341", ["hub_manager"], ("Liam", "Larkin")),
    ("sefton.worker", "LA343", ["hub_social_worker"], ("Sian", "Shaw")),
    ("sefton.manager", "LA343", ["hub_manager"], ("Sunil", "Sethi")),
    ("knowsley.worker", "LA340", ["hub_social_worker"], ("Kit", "Kaur")),
    ("knowsley.manager", "LA340", ["hub_manager"], ("Kerry", "Kemp")),
    ("sthelens.worker", "LA342", ["hub_social_worker"], ("Sol", "Hughes")),
    ("sthelens.manager", "LA342", ["hub_manager"], ("Stef", "Holt")),
    ("police.officer", "MSP", ["police_hub_officer"], ("Pat", "Pearson")),
    ("health.practitioner", "RBS", ["health_practitioner"], ("Hana", "Hall")),
    # Wirral's community health trust: invited to Wirral's strategy discussions.
    ("health.wirral", "RY7", ["health_practitioner"], ("Harriet", "Hughes")),
    ("da.adviser", "DAS-WIR", ["domestic_abuse_adviser"], ("Dee", "Adams")),
    ("wirral.analyst", "LA344", ["analyst"], ("Ana", "Lyst")),
    ("wirral.auditor", "LA344", ["auditor"], ("Audrey", "Tate")),
    # The designated safeguarding lead of the first Wirral school: its Encompass notices.
    ("school.lead", "URN900001", ["education_safeguarding_lead"], ("Sam", "Shaw")),
]


class Command(BaseCommand):
    help = "Set up and run the demonstration hub: one force, five councils, synthetic notices."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--notifications", type=int, default=400)
        parser.add_argument("--days", type=int, default=21)
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument(
            "--setup-only",
            action="store_true",
            help="Load the demo data, print the logins, start nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        var = Path(settings.VAR_DIR)
        var.mkdir(parents=True, exist_ok=True)
        # The demo hub keeps its field-encryption key beside its database, as it keeps its
        # SECRET_KEY (var/demo-secret-key): made once, before anything is encrypted with it.
        demo_keys_file(var)
        self.stdout.write("Preparing the database…")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("reference", "load", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
        logins = self._people(var / "demo-logins.json")
        self._notifications(var, options["notifications"], options["days"])
        self._history()
        self._print_logins(logins, options["bind"])
        if options["setup_only"]:
            return
        self._run(options["bind"])

    def _people(self, path: Path) -> dict[str, Any]:
        from safehub.accounts.models import Agency, User
        from safehub.accounts.services import apiclient_create

        logins: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        with transaction.atomic():
            for username, agency_code, roles, (first, last) in DEMO_PEOPLE:
                if User.objects.filter(username=username).exists() and username in logins.get(
                    "people", {}
                ):
                    continue
                password = "-".join(secrets.token_hex(3) for _ in range(3))
                user, _ = User.objects.update_or_create(
                    username=username,
                    defaults={
                        "agency": Agency.objects.get(code=agency_code),
                        "roles": roles,
                        "first_name": first,
                        "last_name": last,
                        "email": f"{username}@hub.example",
                    },
                )
                user.set_password(password)
                user.save()
                logins.setdefault("people", {})[username] = {
                    "password": password,
                    "agency": agency_code,
                    "roles": roles,
                }
            if not User.objects.filter(username="admin").exists():
                password = "-".join(secrets.token_hex(3) for _ in range(3))
                User.objects.create_superuser(
                    "admin", "admin@hub.example", password, roles=["administrator"]
                )
                logins.setdefault("people", {})["admin"] = {
                    "password": password,
                    "agency": "",
                    "roles": ["administrator"],
                }
            if "api_token" not in logins:
                logins["api_token"] = apiclient_create(
                    force_code="MSP", name="Demo records system"
                )[1]
        path.write_text(json.dumps(logins, indent=2))
        path.chmod(0o600)
        return logins

    def _notifications(self, var: Path, count: int, days: int) -> None:
        """The notices of the last `days` days, each received by the hub a little after the
        police recorded it (in six-hour batches), so that the hub has a past to show."""
        from safehub.core import clock
        from safehub.intake.generator import write_notifications
        from safehub.intake.imports import ImportSummary, notifications_import
        from safehub.intake.models import Notification

        if Notification.objects.exists():
            return
        self.stdout.write(f"Writing {count} synthetic notifications over the last {days} days…")
        path = var / "demo-notifications.jsonl"
        start = clock.now().astimezone(clock.LONDON).date() - dt.timedelta(days=days)
        write_notifications(path, count=count, seed=2026, start=start, days=days)
        batches: dict[dt.datetime, list[bytes]] = {}
        for line in path.read_bytes().splitlines():
            recorded = dt.datetime.fromisoformat(json.loads(line)["recorded_at"])
            window = recorded.replace(minute=0, second=0, microsecond=0)
            window -= dt.timedelta(hours=window.hour % BATCH_HOURS)
            batches.setdefault(window, []).append(line)
        total = ImportSummary()
        part = var / "demo-notifications-batch.jsonl"
        for window in sorted(batches):
            part.write_bytes(b"\n".join(batches[window]) + b"\n")
            received = min(clock.now(), window + dt.timedelta(hours=BATCH_HOURS, minutes=20))
            with clock.frozen(received):
                summary = notifications_import(path=part)
            total.created += summary.created
            total.contacts += summary.contacts
            total.unrouted += summary.unrouted
        part.unlink(missing_ok=True)
        part.with_name(part.name + ".rejects.jsonl").unlink(missing_ok=True)
        self.stdout.write(
            f"Imported {total.created} notifications: {total.contacts} contacts "
            f"({total.unrouted} to be routed by a person)."
        )

    def _history(self) -> None:
        """What the hubs did before today: Wirral's strategy discussions, then every council's
        screening decisions on the contacts received more than a day ago."""
        from safehub.accounts.models import AgencyKind, User
        from safehub.casework.demo import demo_casework
        from safehub.core import clock
        from safehub.meetings.demo import DemoPeople, demo_discussions
        from safehub.meetings.models import StrategyDiscussion
        from safehub.referrals.demo import demo_screening

        if StrategyDiscussion.objects.exists():
            return
        users = {
            u.username: u for u in User.objects.filter(username__in=[p[0] for p in DEMO_PEOPLE])
        }
        leads = {
            u.agency_id: u
            for u in User.objects.filter(agency__kind=AgencyKind.SCHOOL)
            if u.has_role("education_safeguarding_lead") and u.agency_id is not None
        }
        people = DemoPeople(
            worker=users["wirral.worker"],
            manager=users["wirral.manager"],
            police=users["police.officer"],
            health=users["health.wirral"],
            school_leads=leads,
        )
        staff = {}
        for council in ("wirral", "liverpool", "sefton", "knowsley", "sthelens"):
            worker, manager = users[f"{council}.worker"], users[f"{council}.manager"]
            assert worker.agency_id is not None
            staff[worker.agency_id] = (worker, manager)
        self.stdout.write("Recording the hubs' work of the last weeks…")
        with transaction.atomic():
            made = demo_discussions(people=people)
            decided = demo_screening(staff=staff, before=clock.now() - dt.timedelta(days=1))
            casework = demo_casework(staff=staff)
        self.stdout.write(
            f"Recorded {decided} screening decisions, and {len(made)} strategy discussions in "
            "Wirral's hub."
        )
        self.stdout.write(
            f"Recorded the casework: {casework.authorised} assessments authorised "
            f"({casework.late} after 45 working days), {casework.conferences} conferences, "
            f"{casework.plans} protection plans, {casework.cin_plans} children in need plans, "
            f"{casework.closed} referrals closed ({casework.older} older referrals added)."
        )

    def _print_logins(self, logins: dict[str, Any], bind: str) -> None:
        self.stdout.write("")
        self.stdout.write(
            f"safehub demo hub: http://{bind}/   (everyone and everything is fictional)"
        )
        if settings.SAFEHUB_TWO_FACTOR:
            self.stdout.write(
                "Two-factor sign-in is on: each person sets up an authenticator app at first."
            )
        else:
            self.stdout.write(
                "Two-factor sign-in is OFF in this demonstration hub (SAFEHUB_TWO_FACTOR=false): "
                "a real hub asks everyone for a code from an authenticator app."
            )
        self.stdout.write("Sign in as:")
        for username, login in logins["people"].items():
            roles = ", ".join(login["roles"])
            self.stdout.write(
                f"  {username:<22} {login['password']:<22} {login['agency']:<6} {roles}"
            )
        self.stdout.write(f"API token for force MSP: {logins['api_token']}")
        self.stdout.write(f"API documentation: http://{bind}/api/v1/docs")
        self.stdout.write("Press Ctrl-C to stop.")

    def _run(self, bind: str) -> None:
        # The web server and the worker read what this process wrote, with the same keys.
        env = {
            **os.environ,
            "SAFEHUB_DEMO": "true",
            "SAFEHUB_FIELD_KEYS": ",".join(field_keys()),
            # As this process decided (off in the demo unless SAFEHUB_TWO_FACTOR=true is set).
            "SAFEHUB_TWO_FACTOR": "true" if settings.SAFEHUB_TWO_FACTOR else "false",
        }
        safehub = [sys.executable, "-m", "safehub"]
        worker = subprocess.Popen([*safehub, "worker"], env=env)
        web = subprocess.Popen([*safehub, "serve", "--bind", bind, "--workers", "2"], env=env)
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and web.poll() is None and worker.poll() is None:
                time.sleep(0.5)
        finally:
            for process in (web, worker):
                if process.poll() is None:
                    process.terminate()
            for process in (web, worker):
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        if not stopping:
            sys.exit("The web server or the worker stopped unexpectedly: see the messages above.")
