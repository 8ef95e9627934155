"""A national-scale synthetic world for measuring the dashboards and the returns: a year of police
domestic-abuse notifications for every force and council in England (1.35 million by default), or
for one force, and what a hub records after them: one contact per child with its RAG rating and
clocks, the worker's decision and the manager's sign-off, the strategy discussions with their
participants, attendance and information requests, the casework episodes, assessments, section 47
enquiries and conferences, protection and children in need plans, and the Operation Encompass
notices with their e-mails.

`safehub load_national --notifications N [--force CODE] [--seed S] [--days D]` runs it.

Why a loader of its own: the import path validates, triages and audits each notification at about
1,350 a second, and the decisions, discussions and casework after it are made one service call
at a time; a national year through those paths takes hours. This module writes the rows those
services would have written, field for field and state for state (the tests load a small world
and check it against the models' own rules, the dashboard and the returns), with PostgreSQL's
COPY in batches, or `executemany` on SQLite for small worlds.

What it deliberately leaves out, and why:

* Audit events and sharing decisions (about ten a contact through the services): nothing that is
  measured reads them, and they would double the load. The audit chain stays valid (no rows).
* Person keys and MARAC referrals: triage's history; the dashboards do not read them.
* Each notification's body is a compact JSON document (force, reference, times, grade, the
  children) rather than the full contract body: the pages that show a body read it as JSON.
* Encrypted fields are encrypted with the project's field keys (`core.crypto`), each body,
  address and Encompass subset on its own; free texts that would be written by people (a
  discussion's risks, a request's question and answer, an e-mail's text) are a few templates,
  each encrypted once and the token reused (a Fernet token opens wherever it is stored).
* Decisions are never returned by the manager, and no contact is re-routed or amended.

Identifiers: UUIDs from the seeded random generator (the same seed, the same world on an empty
database); integer keys that other rows point at are reserved from the table's sequence on
PostgreSQL, so a second load adds to the first without a clash.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models.fields import AutoFieldMixin

from safehub.accounts.models import Agency, AgencyKind, Role, User
from safehub.casework.models import Assessment, CaseEpisode, ChildProtectionPlan, CINPlan, Section47
from safehub.core import crypto
from safehub.core.clock import LONDON
from safehub.core.clock import now as clock_now
from safehub.core.fields import EncryptedBinaryField, EncryptedField, canonical_json
from safehub.core.models import OutboxMessage, OutboxStatus
from safehub.encompass.models import EncompassNotice, NoticeStatus, RecipientReason
from safehub.intake.models import Channel, Notification, NotificationVersion
from safehub.meetings.models import (
    Attendance,
    DiscussionChild,
    InformationRequest,
    Participant,
    RequestStatus,
    Response,
    StrategyDiscussion,
)
from safehub.referrals.models import (
    REFERRAL_OUTCOMES,
    Contact,
    ContactStatus,
    ContactStatusChange,
    Decision,
    Outcome,
    Routing,
    SignOff,
    contact_child_key,
)
from safehub.risk.selectors import policy_active
from safehub.timescales import calendar
from safehub.timescales.clocks import clock_lengths
from safehub.timescales.models import Clock, ClockKind, ClockState

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_NOTIFICATIONS = 1_350_000
# Incident references: NAT<seed>.<shard>-<force>-<yy>-<serial>, never a real force's; another
# seed loads another world beside the first.
PREFIX = "NAT"

# The tables written, in the order a batch writes them (parents first).
MODELS: tuple[type[models.Model], ...] = (
    Notification,
    NotificationVersion,
    Contact,
    ContactStatusChange,
    Decision,
    OutboxMessage,
    EncompassNotice,
    StrategyDiscussion,
    DiscussionChild,
    Participant,
    InformationRequest,
    CaseEpisode,
    Assessment,
    Section47,
    ChildProtectionPlan,
    CINPlan,
    Clock,
)
# Integer keys that other rows of the batch point at: reserved before the rows are made.
_NEEDS_IDS = (Decision, OutboxMessage, Participant, Section47)


# ---------------------------------------------------------------------------------------------
# Reference: every force and council in England
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForceRef:
    code: str
    name: str
    batches: bool  # sends the day's notifications in one batch the next morning


@dataclass(frozen=True)
class CouncilRef:
    la_code: str
    name: str
    force: str
    weight: float  # children living there, in thousands


def national_forces() -> list[ForceRef]:
    with (DATA_DIR / "national_forces.csv").open(encoding="utf-8", newline="") as fh:
        return [
            ForceRef(code=r["code"], name=r["name"], batches=r["sends"] == "batch")
            for r in csv.DictReader(fh)
        ]


def national_councils(force: str | None = None) -> list[CouncilRef]:
    """The 153 councils with children's services (DfE LA codes), the force that polices each and
    its children (ONS mid-year estimates, rounded): the share of notifications it gets."""
    with (DATA_DIR / "national_councils.csv").open(encoding="utf-8", newline="") as fh:
        rows = [
            CouncilRef(
                la_code=r["la_code"],
                name=r["name"],
                force=r["force"],
                weight=float(r["children_thousands"]),
            )
            for r in csv.DictReader(fh)
        ]
    if force is not None:
        rows = [r for r in rows if r.force == force]
        if not rows:
            raise ValueError(f"force: {force!r} polices no council in the national list")
    return rows


SCHOOLS_PER_COUNCIL = 8
WORKERS_PER_COUNCIL = 4
MANAGERS_PER_COUNCIL = 2


@dataclass
class World:
    """The agencies and people of the national world, as ids and the few fields rows copy."""

    forces: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> {id, email, ...}
    councils: list[dict[str, Any]] = field(default_factory=list)


def _agency_get_or_create(
    existing: dict[str, Agency], *, code: str, la_code: str | None = None, **fields: Any
) -> Agency:
    agency = existing.get(code)
    if agency is None and la_code is not None:
        agency = Agency.objects.filter(la_code=la_code).first()
    if agency is None:
        agency = Agency.objects.create(code=code, la_code=la_code, **fields)
        existing[code] = agency
    return agency


def national_world_ensure(*, force: str | None = None) -> World:
    """Every force and council (or one force and its councils) as agencies, with a health trust
    and a domestic abuse service in each force area, an education safeguarding team and a few
    schools in each council, and hub workers and managers: made where missing, reused where
    there (the Merseyside reference data included, by LA code)."""
    forces = {f.code: f for f in national_forces()}
    councils = national_councils(force)
    wanted = {c.force for c in councils}
    existing = {a.code: a for a in Agency.objects.all()}
    world = World()
    password = make_password(None)  # unusable: these people never sign in
    with transaction.atomic():
        for code in sorted(wanted):
            ref = forces[code]
            slug = code.lower()
            police = _agency_get_or_create(
                existing,
                code=code,
                kind=AgencyKind.POLICE_FORCE,
                name=ref.name,
                email=f"ppn.{slug}@police.example",
            )
            health = _agency_get_or_create(
                existing,
                code=f"NHS-{code}",
                kind=AgencyKind.HEALTH,
                name=f"{ref.name.split(' Police')[0].split(' Constabulary')[0]} NHS safeguarding",
                email=f"safeguarding.{slug}@nhs.example",
            )
            das = _agency_get_or_create(
                existing,
                code=f"DAS-{code}",
                kind=AgencyKind.DOMESTIC_ABUSE_SERVICE,
                name=f"Domestic abuse service ({ref.name})",
                email=f"referrals.{slug}@da.example",
            )
            world.forces[code] = {
                "id": police.pk,
                "code": code,
                "name": police.name,
                "email": police.email,
                "batches": ref.batches,
                "health": (health.pk, health.email, health.name),
                "das": (das.pk, das.email, das.name),
            }
        users_by_name = {
            u.username: u
            for u in User.objects.filter(username__startswith="nat-").only("id", "username")
        }
        new_users: list[User] = []
        for cref in councils:
            council = _agency_get_or_create(
                existing,
                code=f"LA{cref.la_code}",
                la_code=cref.la_code,
                kind=AgencyKind.CHILDREN_SERVICES,
                name=f"{cref.name} children's services",
                email=f"mash@la{cref.la_code}.council.example",
            )
            education = _agency_get_or_create(
                existing,
                code=f"EDU{cref.la_code}",
                kind=AgencyKind.EDUCATION_SAFEGUARDING,
                name=f"{cref.name} education safeguarding",
                email=f"education.safeguarding@la{cref.la_code}.council.example",
                council=council,
            )
            schools = []
            for n in range(1, SCHOOLS_PER_COUNCIL + 1):
                urn = f"9{cref.la_code}{n:02d}"
                phase = "secondary" if n % 3 == 0 else "primary"
                school = _agency_get_or_create(
                    existing,
                    code=f"URN{urn}",
                    kind=AgencyKind.SCHOOL,
                    name=f"{cref.name} {'High' if phase == 'secondary' else 'Primary'} School {n}",
                    email=f"office.{urn}@school.example",
                    urn=urn,
                    phase=phase,
                    dsl_name="Designated Lead",
                    dsl_email=f"dsl.{urn}@school.example",
                    council=council,
                )
                schools.append((school.pk, school.urn, school.dsl_email, phase))
            people: dict[str, list[int]] = {"workers": [], "managers": []}
            for kind, count, role in (
                ("workers", WORKERS_PER_COUNCIL, Role.HUB_SOCIAL_WORKER),
                ("managers", MANAGERS_PER_COUNCIL, Role.HUB_MANAGER),
            ):
                for n in range(1, count + 1):
                    username = f"nat-{cref.la_code}-{kind[0]}{n}"
                    user = users_by_name.get(username)
                    if user is None:
                        user = User(
                            username=username,
                            password=password,
                            first_name=("Worker" if kind == "workers" else "Manager"),
                            last_name=f"{cref.name} {n}",
                            email=f"{username}@la{cref.la_code}.council.example",
                            agency=council,
                            roles=[role],
                        )
                        new_users.append(user)
                        users_by_name[username] = user
                    people[kind].append(username)  # type: ignore[arg-type]
            world.councils.append(
                {
                    "id": council.pk,
                    "la_code": cref.la_code,
                    "name": council.name,
                    "email": council.email,
                    "force": cref.force,
                    "weight": cref.weight,
                    "education": (education.pk, education.email),
                    "schools": schools,
                    "people": people,
                }
            )
        User.objects.bulk_create(new_users)
        ids = dict(User.objects.filter(username__startswith="nat-").values_list("username", "id"))
        names = dict(
            User.objects.filter(username__startswith="nat-").values_list("username", "last_name")
        )
        for entry in world.councils:
            staff = entry.pop("people")
            entry["workers"] = [(ids[u], f"Worker {names[u]}") for u in staff["workers"]]
            entry["managers"] = [(ids[u], f"Manager {names[u]}") for u in staff["managers"]]
    return world


# ---------------------------------------------------------------------------------------------
# Values the rows carry: JSON and encrypted columns, prepared once
# ---------------------------------------------------------------------------------------------


class J:
    """A JSON column's value with its text: dumped once, reused by every row that holds it."""

    __slots__ = ("obj", "text")

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.text = json.dumps(obj, separators=(",", ":"))


class Sealed:
    """An encrypted column's value: the plaintext as the field gives it back, and its token under
    the current field key (the column stores the token)."""

    __slots__ = ("token", "value")

    def __init__(self, value: Any, data: bytes) -> None:
        self.value = value
        self.token = crypto.encrypt(data)


def seal_text(text: str) -> Sealed:
    return Sealed(text, text.encode("utf-8"))


def seal_json(value: Any) -> Sealed:
    return Sealed(value, canonical_json(value).encode("utf-8"))


EMPTY_LIST = J([])


# ---------------------------------------------------------------------------------------------
# Writing rows: COPY on PostgreSQL, executemany elsewhere
# ---------------------------------------------------------------------------------------------


class _Table:
    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        own_ids = model in _NEEDS_IDS
        self.fields = [
            f
            for f in model._meta.concrete_fields
            if f.column and (own_ids or not (f.primary_key and isinstance(f, AutoFieldMixin)))
        ]
        self.names = [f.attname for f in self.fields]
        self.kinds = []
        self.defaults: list[Any] = []
        for f in self.fields:
            if isinstance(f, EncryptedField):
                kind = "bin" if isinstance(f, EncryptedBinaryField) else "enc"
            elif isinstance(f, models.JSONField):
                kind = "json"
            else:
                kind = "plain"
            self.kinds.append(kind)
            # A default made afresh for each row (a UUID, a time) must come with the row.
            fresh = f.has_default() and callable(f.default) and f.default not in (list, dict)
            default = None if fresh else f.get_default()
            if default is not None and kind == "json":
                default = J(default)
            elif default is not None and kind in ("enc", "bin"):
                default = Sealed(default, f._encode(default))  # type: ignore[attr-defined]
            self.defaults.append(default)
        self.rows: list[dict[str, Any]] = []


class RowWriter:
    """Collects each table's rows (dicts by attribute name; a missing one takes the field's
    default) and writes them, parents first, in one transaction per flush."""

    def __init__(
        self,
        using: str = DEFAULT_DB_ALIAS,
        written: tuple[type[models.Model], ...] = MODELS,
    ) -> None:
        self.db = connections[using]
        self.postgres = self.db.vendor == "postgresql"
        self.models = written  # parents first
        self.tables = {m: _Table(m) for m in written}
        self.counts: dict[str, int] = {m._meta.label: 0 for m in written}
        self._next_id: dict[type[models.Model], int] = {}
        self._pool: dict[type[models.Model], list[int]] = {}
        self._superuser: bool | None = None

    def add(self, model: type[models.Model], row: dict[str, Any]) -> None:
        self.tables[model].rows.append(row)

    def ids(self, model: type[models.Model], n: int) -> list[int]:
        """`n` new primary keys for `model`: from its sequence on PostgreSQL (so that the
        database's own inserts never collide with them), counted on from the largest elsewhere."""
        if n <= 0:
            return []
        table = model._meta.db_table
        if self.postgres:
            pool = self._pool.setdefault(model, [])
            if len(pool) < n:
                with self.db.cursor() as cursor:
                    cursor.execute(
                        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                        "FROM generate_series(1, %s)",
                        [table, max(n, 20_000)],
                    )
                    pool.extend(r[0] for r in cursor.fetchall())
                pool.reverse()
            return [pool.pop() for _ in range(n)]
        start = self._next_id.get(model)
        if start is None:
            start = (model._default_manager.aggregate(m=models.Max("pk"))["m"] or 0) + 1
        self._next_id[model] = start + n
        return list(range(start, start + n))

    def pending(self) -> int:
        return sum(len(t.rows) for t in self.tables.values())

    def _bulk_settings(self) -> None:
        """On PostgreSQL, for this transaction: no waiting for the WAL flush at commit (a crash
        loses the last batches, never half of one) and, when the role may, no foreign-key
        triggers: the rows point only at rows made before them (the SQLite tests check every
        key), and checking 2 million contacts' keys one by one is most of the load's time."""
        with self.db.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
            if self._superuser is None:
                cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                row = cursor.fetchone()
                self._superuser = bool(row and row[0])
            if self._superuser:
                cursor.execute("SET LOCAL session_replication_role = replica")

    def flush(self) -> None:
        with transaction.atomic(using=self.db.alias):
            if self.postgres:
                self._bulk_settings()
            for model in self.models:
                table = self.tables[model]
                if table.rows:
                    if self.postgres:
                        self._copy(table)
                    else:
                        self._insert(table)
                    self.counts[model._meta.label] += len(table.rows)
                    table.rows = []

    def _values(self, table: _Table, row: dict[str, Any]) -> list[Any]:
        out: list[Any] = []
        for name, kind, default in zip(table.names, table.kinds, table.defaults, strict=True):
            value = row.get(name, default)
            if value is None:
                out.append(None)
            elif kind == "json":
                out.append(value.text if self.postgres else value.obj)
            elif kind == "enc":
                out.append(value.token.decode("ascii"))
            elif kind == "bin":
                out.append(value.token)
            else:
                out.append(value)
        return out

    def _copy(self, table: _Table) -> None:
        quote = self.db.ops.quote_name
        columns = ", ".join(quote(str(f.column)) for f in table.fields)
        sql = f"COPY {quote(table.model._meta.db_table)} ({columns}) FROM STDIN"
        with self.db.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in table.rows:
                copy.write_row(self._values(table, row))

    def _insert(self, table: _Table) -> None:
        quote = self.db.ops.quote_name
        columns = ", ".join(quote(str(f.column)) for f in table.fields)
        marks = ", ".join(["%s"] * len(table.fields))
        # Names from the models, never from a request, each quoted.
        table_name = quote(table.model._meta.db_table)
        sql = f"INSERT INTO {table_name} ({columns}) VALUES ({marks})"  # noqa: S608
        prepared = []
        for row in table.rows:
            values = self._values(table, row)
            for i, (f, kind) in enumerate(zip(table.fields, table.kinds, strict=True)):
                if kind in ("plain", "json") and values[i] is not None:
                    values[i] = f.get_db_prep_save(values[i], self.db)
                elif kind == "bin" and values[i] is not None:
                    values[i] = self.db.Database.Binary(values[i])  # type: ignore[attr-defined]
            prepared.append(values)
        with self.db.cursor() as cursor:
            cursor.executemany(sql, prepared)

    def indexes_drop(self) -> list[str]:
        """Drop the secondary indexes of the tables written (not those behind a primary key or
        a unique constraint) and return the statements that make them again: on an empty
        database, building each index once at the end is several times quicker than keeping
        a dozen of them up to date through two million random UUIDs."""
        tables = [m._meta.db_table for m in self.models]
        with self.db.cursor() as cursor:
            cursor.execute(
                "SELECT i.schemaname, i.indexname, i.indexdef FROM pg_indexes i "
                "WHERE i.tablename = ANY(%s) AND i.schemaname = current_schema() AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conindid = "
                "(quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)",
                [tables],
            )
            found = cursor.fetchall()
            for schema, name, _ in found:
                cursor.execute(
                    f"DROP INDEX {self.db.ops.quote_name(schema)}.{self.db.ops.quote_name(name)}"
                )
        return [definition for _, _, definition in found]

    def indexes_make(self, statements: list[str]) -> None:
        with self.db.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for statement in statements:
                cursor.execute(statement)

    def sequences_reset(self) -> None:
        """Move each integer key's sequence past the rows written with their own keys."""
        if not self.postgres:
            return
        with self.db.cursor() as cursor:
            for model in self.models:
                pk = model._meta.pk
                if isinstance(pk, AutoFieldMixin) and model in _NEEDS_IDS:
                    table = model._meta.db_table
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "  # noqa: S608
                        f"GREATEST((SELECT max(id) FROM {self.db.ops.quote_name(table)}), 1))",
                        [table],
                    )


# ---------------------------------------------------------------------------------------------
# Working days, cached by date (a year has a few hundred dates)
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def add_wd(day: dt.date, n: int) -> dt.date:
    return calendar.add_working_days(day, n)


@lru_cache(maxsize=4096)
def end_of_day(day: dt.date) -> dt.datetime:
    return calendar.end_of_working_day(day)


@lru_cache(maxsize=4096)
def is_wd(day: dt.date) -> bool:
    return calendar.is_working_day(day)


def due_after(at: dt.datetime, n: int) -> dt.datetime:
    """The end of the n-th working day after `at`'s London date (calendar.working_days_due)."""
    return end_of_day(add_wd(at.astimezone(LONDON).date(), n))


@lru_cache(maxsize=8192)
def _encompass_due(day: dt.date, early: bool) -> dt.datetime:
    hour = 6 if early else 23
    return calendar.encompass_due(
        dt.datetime(day.year, day.month, day.day, hour, tzinfo=LONDON), None
    )


def encompass_due(recorded_at: dt.datetime) -> dt.datetime:
    """`calendar.encompass_due` for a school without closures of its own and the default start
    (the national world's schools have none): the same answer, by date and side of 08:30."""
    local = recorded_at.astimezone(LONDON)
    early = (local.hour, local.minute) < (8, 30)
    return _encompass_due(local.date(), early)


def _nth(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def london_day(at: dt.datetime) -> dt.date:
    return at.astimezone(LONDON).date()


# ---------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------

UTC = dt.UTC
MIN = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)

# Incidents by hour of the day (London): evenings and nights.
_HOUR_WEIGHTS = (
    5, 4, 3, 2.2, 1.5, 1.2, 1.2, 1.6, 2.2, 2.8, 3.2, 3.5,
    3.8, 3.9, 4.0, 4.3, 4.8, 5.4, 6.2, 7.0, 7.6, 7.8, 7.4, 6.3,
)  # fmt: skip
_GIVEN = [
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Ivy",
    "Lily",
    "Isabella",
    "Sophia",
    "Grace",
    "Freya",
    "Evie",
    "Poppy",
    "Ella",
    "Willow",
    "Noah",
    "Oliver",
    "George",
    "Arthur",
    "Leo",
    "Harry",
    "Oscar",
    "Archie",
    "Henry",
    "Theo",
    "Jack",
    "Charlie",
    "Jacob",
    "Alfie",
    "Freddie",
    "Muhammad",
    "Aisha",
    "Zara",
    "Amir",
    "Yusuf",
    "Maya",
    "Kacper",
    "Zofia",
    "Jayden",
    "Tyler",
    "Chloe",
    "Jessica",
    "Kai",
    "Riley",
    "Ruby",
]
_FAMILY = [
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Lewis",
    "Harris",
    "Clarke",
    "Patel",
    "Jackson",
    "Wood",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Morris",
    "Moore",
    "Clark",
    "Lee",
    "King",
    "Baker",
    "Harrison",
    "Morgan",
    "Allen",
    "Khan",
    "Ali",
    "Hussain",
    "Begum",
    "Nowak",
    "Kowalski",
    "Murphy",
    "Kelly",
    "Campbell",
    "Stewart",
]
_STREETS = [
    "High",
    "Street",
    "Station",
    "Road",
    "Church",
    "Lane",
    "Park",
    "Avenue",
    "Victoria",
    "Road",
    "Mill",
    "Lane",
    "Green",
    "Lane",
    "School",
    "Road",
    "Queens",
    "Road",
    "Kings",
    "Road",
]
_ETHNICITY = (
    ("WBRI", 0.70), ("WOTH", 0.06), ("MWBC", 0.03), ("MOTH", 0.03), ("AIND", 0.02),
    ("APKN", 0.04), ("ABAN", 0.015), ("BAFR", 0.035), ("BCRB", 0.015), ("OOTH", 0.015),
    ("NOBT", 0.03),
)  # fmt: skip
_CATEGORIES = (("EMO", 0.45), ("NEG", 0.38), ("PHY", 0.08), ("SAB", 0.03), ("MUL", 0.06))
# The front door's outcome by RAG: most of the red become referrals, few of the green.
_OUTCOMES = {
    "red": (
        (Outcome.NO_FURTHER_ACTION, 0.08), (Outcome.INFORMATION_AND_ADVICE, 0.07),
        (Outcome.EARLY_HELP, 0.15), (Outcome.ASSESSMENT_S17, 0.30),
        (Outcome.STRATEGY_DISCUSSION_S47, 0.37), (Outcome.ALREADY_OPEN, 0.03),
    ),
    "amber": (
        (Outcome.NO_FURTHER_ACTION, 0.22), (Outcome.INFORMATION_AND_ADVICE, 0.18),
        (Outcome.EARLY_HELP, 0.30), (Outcome.ASSESSMENT_S17, 0.20),
        (Outcome.STRATEGY_DISCUSSION_S47, 0.07), (Outcome.ALREADY_OPEN, 0.03),
    ),
    "green": (
        (Outcome.NO_FURTHER_ACTION, 0.45), (Outcome.INFORMATION_AND_ADVICE, 0.25),
        (Outcome.EARLY_HELP, 0.20), (Outcome.ASSESSMENT_S17, 0.07),
        (Outcome.STRATEGY_DISCUSSION_S47, 0.01), (Outcome.ALREADY_OPEN, 0.02),
    ),
}  # fmt: skip
_RATIONALE = {
    Outcome.NO_FURTHER_ACTION: "Protective parent engaged; no role for children's social care.",
    Outcome.INFORMATION_AND_ADVICE: "Information and advice given to the parent and the school.",
    Outcome.EARLY_HELP: "Needs met by early help: family support with consent.",
    Outcome.ASSESSMENT_S17: "Child in need: a child and family assessment is needed.",
    Outcome.STRATEGY_DISCUSSION_S47: "Reasonable cause to suspect significant harm.",
    Outcome.ALREADY_OPEN: "Open to the allocated social worker, who is told today.",
}
_RAG_REASONS = {
    "red": J(
        ["Officer graded the risk high", "The child was present at or witnessed the incident"]
    ),
    "amber": J(["The child was present at or witnessed the incident"]),
    "green": J(["None of the red or amber rules applies"]),
}
_SCREENING_RULE = {
    "red": "Red: within {h} hours of receipt",
    "amber": "Amber: by the end of {d} working day after the day of receipt",
    "green": "Green: by the end of {d} working days after the day of receipt",
}
_FACTORS = (
    (["3B"], 0.40), (["3A", "3B"], 0.20), (["3B", "4B"], 0.12), (["3B", "2B"], 0.08),
    (["3B", "1B"], 0.06), (["3B", "17A"], 0.06), (["21"], 0.08),
)  # fmt: skip


def _table(pairs: Iterable[tuple[Any, float]]) -> tuple[list[Any], list[float]]:
    items, cum, total = [], [], 0.0
    for item, weight in pairs:
        total += weight
        items.append(item)
        cum.append(total)
    return items, cum


def _pick(rng: random.Random, table: tuple[list[Any], list[float]]) -> Any:
    items, cum = table
    return rng.choices(items, cum_weights=cum)[0]


@dataclass
class Plan:
    """What to load."""

    notifications: int
    seed: int
    start: dt.datetime  # the first instant of the year, UTC
    now: dt.datetime  # its end: nothing happens after it
    force: str | None = None


@dataclass
class Summary:
    notifications: int
    rows: dict[str, int]
    seconds: float
    councils: int
    forces: int

    @property
    def rows_total(self) -> int:
        return sum(self.rows.values())


class _Maker:
    """Makes the rows of notifications one at a time, into a RowWriter."""

    def __init__(self, plan: Plan, world: World, writer: RowWriter, shard: int = 0) -> None:
        self.plan, self.world, self.w = plan, world, writer
        self.rng = random.Random(f"{plan.seed}/{shard}")
        self.shard = shard
        self.now = plan.now
        self.today = london_day(plan.now)
        policy = policy_active()
        self.policy_version = policy.version
        screening = policy.rules["screening"]
        self.red_hours = screening["red_hours"]
        self.wd = {
            "amber": screening["amber_working_days"],
            "green": screening["green_working_days"],
        }
        lengths = clock_lengths(policy.rules)
        self.n_decision = lengths["referral_decision_working_days"]
        self.n_discussion = lengths["strategy_discussion_working_days"]
        self.n_icpc = lengths["icpc_working_days"]
        self.n_assessment = lengths["assessment_working_days"]
        self.red_same_day = lengths["strategy_discussion_red_same_day"]
        self.councils = world.councils
        self.council_table = _table((c, c["weight"]) for c in world.councils)
        self.hours = _table(enumerate(_HOUR_WEIGHTS))
        self.ethnicity = _table(_ETHNICITY)
        self.categories = _table(_CATEGORIES)
        self.factors = _table((J(f), w) for f, w in _FACTORS)
        self.outcomes = {rag: _table(pairs) for rag, pairs in _OUTCOMES.items()}
        self.serial: dict[tuple[str, str], int] = {}
        # Texts people would write, encrypted once each (see the module's docstring).
        self.risks = [seal_text(t) for t in (
            "Exposure to domestic abuse at home; the child is frightened of the suspect.",
            "Repeated incidents; the parent's capacity to protect is in doubt.",
            "Injury to the child during the incident; a medical is arranged.",
        )]  # fmt: skip
        self.questions = {
            "police": seal_text("Previous incidents, arrests, bail conditions and intelligence."),
            "health": seal_text("Health contacts for the children and the adults, concerns."),
            "school": seal_text("Attendance, presentation and any concerns about the child."),
            "domestic_abuse": seal_text("Whether the victim is known, risk and safety planning."),
        }
        self.answers = [seal_text(t) for t in (
            "Known to us: two earlier incidents this year; details attached to the minutes.",
            "No records found for the people named.",
            "Known to the service; safety plan in place since last month.",
        )]  # fmt: skip
        self.email_body = seal_text(
            "An Operation Encompass notice for a child at your school is waiting in safehub. "
            "Sign in to read it."
        )
        self.no_attachments = seal_json([])
        self.empty = seal_text("")
        self.starts = int(plan.start.timestamp())
        self.span_days = max(1, round((plan.now - plan.start) / DAY))
        self._midnights = [
            int(
                dt.datetime.combine(
                    london_day(plan.start) + dt.timedelta(days=i), dt.time(), tzinfo=LONDON
                ).timestamp()
            )
            for i in range(self.span_days + 2)
        ]

    # -- helpers -------------------------------------------------------------------------------

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def reference(self, force: str, year: int) -> str:
        key = (force, str(year))
        n = self.serial.get(key, 0) + 1
        self.serial[key] = n
        return f"{PREFIX}{self.plan.seed}.{self.shard}-{force}-{year % 100:02d}-{n:07d}"

    def clock(
        self,
        contact_id: uuid.UUID,
        kind: str,
        started_at: dt.datetime,
        due_at: dt.datetime,
        met_at: dt.datetime | None,
        rule: str,
        stopped: tuple[dt.datetime, str] | None = None,
        *,
        council: int,
    ) -> dt.datetime | None:
        """Add a clock as the services leave it (with its contact's `council`, as clock_build
        copies it); returns its due time while it is still open."""
        if stopped is not None:
            state, met_at = ClockState.STOPPED, None
        elif met_at is not None and met_at <= self.now:
            state = ClockState.MET if met_at <= due_at else ClockState.BREACHED
        else:
            met_at = None
            state = ClockState.BREACHED if due_at < self.now else ClockState.RUNNING
        self.w.add(
            Clock,
            {
                "contact_id": contact_id,
                "local_authority_id": council,
                "kind": kind,
                "started_at": started_at,
                "due_at": due_at,
                "met_at": met_at,
                "state": state,
                "stopped_at": stopped[0] if stopped else None,
                "stop_reason": stopped[1] if stopped else "",
                "rule": rule[:200],
            },
        )
        return due_at if state in (ClockState.RUNNING, ClockState.BREACHED) and not met_at else None

    def working_time(self, after: dt.datetime, hours: float) -> dt.datetime:
        """`hours` later, moved into 09:00 to 13:00 London of a working day if it falls outside
        office hours."""
        at = after + dt.timedelta(hours=hours)
        local = at.astimezone(LONDON)
        day = local.date()
        if is_wd(day) and 9 <= local.hour < 17:
            return at
        if not (is_wd(day) and local.hour < 9):
            day = add_wd(day, 1)
        minute = self.rng.randrange(0, 240)
        return dt.datetime.combine(
            day, dt.time(9 + minute // 60, minute % 60), tzinfo=LONDON
        ).astimezone(UTC)

    # -- one notification ----------------------------------------------------------------------

    def notification(self) -> None:
        rng = self.rng
        council = _pick(rng, self.council_table)
        force = self.world.forces[council["force"]]
        day = rng.randrange(self.span_days)
        hour = _pick(rng, self.hours)
        occurred = dt.datetime.fromtimestamp(
            self._midnights[day] + hour * 3600 + rng.randrange(3600), UTC
        )
        r = rng.random()
        if r < 0.75:
            recorded = occurred + dt.timedelta(minutes=rng.uniform(30, 360))
        elif r < 0.92:
            recorded = occurred + dt.timedelta(hours=rng.uniform(6, 24))
        else:
            recorded = occurred + dt.timedelta(days=rng.uniform(1, 10))
        r = rng.random()
        if r < 0.03:  # a backlog found and sent late
            received = recorded + dt.timedelta(days=rng.uniform(2, 14))
        elif force["batches"]:
            next_day = london_day(recorded) + DAY
            received = dt.datetime.combine(
                next_day, dt.time(9, rng.randrange(60)), tzinfo=LONDON
            ).astimezone(UTC)
        else:
            received = recorded + dt.timedelta(minutes=rng.uniform(1, 25))
        if received >= self.now:
            return self.notification()  # past the end of the year: draw another
        grade = rng.choices(("standard", "medium", "high"), cum_weights=(0.58, 0.88, 1.0))[0]
        r = rng.random()
        if grade == "high":
            rag = "red" if r < 0.85 else "amber"
        elif grade == "medium":
            rag = "red" if r < 0.15 else ("amber" if r < 0.85 else "green")
        else:
            rag = "amber" if r < 0.40 else "green"
        r = rng.random()
        k = 1 if r < 0.55 else 2 if r < 0.85 else 3 if r < 0.96 else 4
        nid = self.new_id()
        family = rng.choice(_FAMILY)
        district = f"Z{council['la_code']}"
        unit = "".join(rng.choices("ABDEFGHJLNPQRSTUWXYZ", k=2))
        postcode = f"{district} {rng.randrange(1, 10)}{unit}"
        address = {
            "line1": f"{rng.randrange(1, 200)} {rng.choice(_STREETS)}",
            "town": council["name"].replace(" children's services", ""),
            "postcode": postcode,
        }
        children: list[dict[str, Any]] = []
        for n in range(1, k + 1):
            r = rng.random()
            unborn = r < 0.03
            age = -1 if unborn else rng.randrange(0, 5) if r < 0.33 else rng.randrange(5, 18)
            sex = "U" if unborn else rng.choice("MF")
            if unborn:
                dob, edd = None, london_day(occurred) + dt.timedelta(days=rng.randrange(20, 200))
            else:
                dob = london_day(occurred) - dt.timedelta(days=age * 365 + rng.randrange(365))
                edd = None
            children.append(
                {
                    "ref": f"C{n}",
                    "given": "Baby" if unborn else rng.choice(_GIVEN),
                    "age": age,
                    "sex": sex,
                    "dob": dob,
                    "edd": edd,
                    "unborn": unborn,
                }
            )
        body = {
            "schema_version": "1",
            "force_code": force["code"],
            "incident_reference": self.reference(force["code"], london_day(occurred).year),
            "occurred_at": occurred.isoformat(),
            "recorded_at": recorded.isoformat(),
            "synthetic": "national",
            "risk": {"instrument": "DARA", "officer_grade": grade},
            "incident_address": address,
            "people": [
                {
                    "ref": c["ref"],
                    "role": "child",
                    "given_names": c["given"],
                    "family_name": family,
                    "date_of_birth": c["dob"].isoformat() if c["dob"] else None,
                    "unborn": c["unborn"],
                }
                for c in children
            ],
        }
        text = canonical_json(body).encode("utf-8")
        self.w.add(
            Notification,
            {
                "id": nid,
                "force_id": force["id"],
                "force_code": force["code"],
                "incident_reference": body["incident_reference"],
                "occurred_at": occurred,
                "recorded_at": recorded,
                "received_at": received,
                "current_version": 1,
                "officer_grade": grade,
                "child_count": k,
                "flags": EMPTY_LIST,
            },
        )
        self.w.add(
            NotificationVersion,
            {
                "notification_id": nid,
                "number": 1,
                "body": Sealed(text, text),
                "body_sha256": hashlib.sha256(text).hexdigest(),
                "received_at": received,
                "channel": Channel.API,
            },
        )
        sealed_address = seal_json(address)
        # One worker screens the household's children, one manager signs the decisions off.
        worker_id, worker_name = rng.choice(council["workers"])
        manager_id, _ = rng.choice(council["managers"])
        outcome = _pick(rng, self.outcomes[rag])
        screening_due = self._screening_due(rag, received)
        decided = self._decision_time(rag, received, screening_due)
        signed = None
        if decided is not None:
            late = rng.random() < 0.07
            signed = (
                self.working_time(decided, rng.uniform(0.3, 5))
                if not late
                else end_of_day(add_wd(london_day(decided), rng.choice((1, 2)))) - HOUR
            )
            if signed >= self.now:
                signed = None
        contacts = []
        for c in children:
            contacts.append(
                self.contact(
                    nid, c, council, family, received, occurred, recorded, grade, rag, postcode,
                    sealed_address, screening_due, decided, signed, outcome, worker_id, manager_id,
                    force["code"], body["incident_reference"],
                )
            )  # fmt: skip
        if outcome == Outcome.STRATEGY_DISCUSSION_S47 and decided is not None:
            self.discussion(contacts, council, force, rag, decided, signed, worker_id, worker_name)
        for c in contacts:
            self._finish_contact(c)

    def _screening_due(self, rag: str, received: dt.datetime) -> dt.datetime:
        if rag == "red":
            return received + dt.timedelta(hours=self.red_hours)
        return due_after(received, self.wd[rag])

    def _decision_time(
        self, rag: str, received: dt.datetime, due: dt.datetime
    ) -> dt.datetime | None:
        rng = self.rng
        breach = rng.random() < (0.12 if rag == "red" else 0.09)
        if breach:
            decided = due + dt.timedelta(hours=rng.uniform(0.5, 60))
        elif rag == "red":
            decided = received + dt.timedelta(minutes=rng.uniform(20, self.red_hours * 60 - 5))
        else:
            decided = self.working_time(received, rng.uniform(0.5, 20))
            if decided > due:
                decided = due - dt.timedelta(minutes=rng.uniform(10, 300))
            if decided <= received:
                decided = received + dt.timedelta(minutes=rng.uniform(10, 60))
        return decided if decided < self.now else None

    def contact(
        self, nid, c, council, family, received, occurred, recorded, grade, rag, postcode,
        sealed_address, screening_due, decided, signed, outcome, worker_id, manager_id,
        force_code, incident_reference,
    ) -> dict[str, Any]:  # fmt: skip
        rng = self.rng
        cid = self.new_id()
        school = None
        school_age = not c["unborn"] and 4 <= c["age"] <= 17
        if c["age"] >= 4 and rng.random() < 0.85:
            school = rng.choice(council["schools"][:-1] if c["age"] < 11 else council["schools"])
        status = ContactStatus.RECEIVED
        taken = None
        if decided is not None:
            status = ContactStatus.CLOSED if signed is not None else ContactStatus.DECIDED
            taken = max(received + MIN, decided - dt.timedelta(minutes=rng.uniform(15, 90)))
        elif rng.random() < 0.5 and received + HOUR < self.now:
            status = ContactStatus.SCREENING
            taken = received + dt.timedelta(minutes=rng.uniform(5, 50))
            if taken >= self.now:
                status, taken = ContactStatus.RECEIVED, None
        row = {
            "id": cid,
            "notification_id": nid,
            "notification_version": 1,
            "child_ref": c["ref"],
            "local_authority_id": council["id"],
            "routing": Routing.ROUTED,
            "status": status,
            "received_at": received,
            "incident_at": occurred,
            "referral_source": "6",
            "given_names": c["given"],
            "family_name": family,
            "date_of_birth": c["dob"],
            "child_key": contact_child_key(c["given"], family, c["dob"]),
            "unborn": c["unborn"],
            "expected_date_of_birth": c["edd"],
            "sex": c["sex"],
            "address": sealed_address,
            "postcode": postcode,
            "school_id": school[0] if school else None,
            "school_urn": school[1] if school else "",
            "present_at_incident": rng.random() < 0.7,
            "witnessed": rng.random() < 0.55,
            "injured": rng.random() < 0.04,
            "police_grade": grade,
            "rag": rag,
            "rag_reasons": _RAG_REASONS[rag],
            "policy_version": self.policy_version,
            "due_at": screening_due,
            "assigned_to_id": worker_id if taken is not None else None,
        }
        self.w.add(Contact, row)
        open_dues: list[dt.datetime] = []
        rule = _SCREENING_RULE[rag].format(h=self.red_hours, d=self.wd.get(rag, 0))
        due = self.clock(cid, ClockKind.SCREENING, received, screening_due, decided, rule,
                         council=council["id"])  # fmt: skip
        if due is not None:
            open_dues.append(due)
        if taken is not None:
            self._status(cid, ContactStatus.RECEIVED, ContactStatus.SCREENING, worker_id, taken,
                         "Taken from the queue.")  # fmt: skip
        if school_age:
            due = self.encompass(cid, c, council, school, family, recorded, received, occurred,
                                 force_code, incident_reference)  # fmt: skip
            if due is not None:
                open_dues.append(due)
        info = {
            "row": row,
            "child": c,
            "open": open_dues,
            "decided": decided,
            "signed": signed,
            "outcome": outcome,
            "worker": worker_id,
            "manager": manager_id,
            "school": school,
            "episode": None,
            "discussion_held": None,
            "enquiry": None,
        }
        if decided is not None:
            self.decision(info)
        return info

    def _status(self, cid, old, new, by, at, note) -> None:  # type: ignore[no-untyped-def]
        self.w.add(
            ContactStatusChange,
            {"contact_id": cid, "from_status": old, "to_status": new, "by_id": by, "at": at,
             "note": note},
        )  # fmt: skip

    def encompass(
        self, cid, c, council, school, family, recorded, received, occurred, force_code, reference
    ) -> dt.datetime | None:  # type: ignore[no-untyped-def]
        rng = self.rng
        due = encompass_due(recorded)
        if school is not None:
            recipient, email, reason = school[0], school[2], RecipientReason.SCHOOL_DSL
        else:
            recipient, email = council["education"]
            reason = RecipientReason.NO_KNOWN_SCHOOL
        sent = received + dt.timedelta(seconds=rng.uniform(20, 240))
        if sent >= self.now:
            sent = None
        content = {
            "child": {
                "given_names": c["given"],
                "family_name": family,
                "date_of_birth": c["dob"].isoformat() if c["dob"] else None,
                "age_estimate": None,
            },
            "police_reference": reference,
            "occurred_at": occurred.isoformat(),
            "incident_address": {"postcode": "", "town": ""},
            "present_at_incident": True,
            "voice_of_child": None,
        }
        notice_id = self.new_id()
        [message_id] = self.w.ids(OutboxMessage, 1)
        self.w.add(
            OutboxMessage,
            {
                "id": message_id,
                "kind": "email",
                "recipients": J([email]),
                "subject": "Operation Encompass notice",
                "body": self.email_body,
                "attachments": self.no_attachments,
                "reason": "encompass_notice",
                "object_type": "encompass.encompassnotice",
                "object_id": str(notice_id),
                "status": OutboxStatus.SENT if sent else OutboxStatus.PENDING,
                "attempts": 1 if sent else 0,
                "next_attempt_at": received,
                "last_error": "",
                "created_at": received,
                "sent_at": sent,
            },
        )
        self.w.add(
            EncompassNotice,
            {
                "id": notice_id,
                "contact_id": cid,
                "recipient_id": recipient,
                "recipient_email": email,
                "reason_for_recipient": reason,
                "recorded_at": recorded,
                "due_at": due,
                "status": NoticeStatus.SENT if sent else NoticeStatus.QUEUED,
                "content": seal_json(content),
                "consent_to_share": "not_sought",
                "outbox_message_id": message_id,
                "created_at": received,
                "queued_at": received,
                "sent_at": sent,
            },
        )
        return self.clock(
            cid,
            ClockKind.ENCOMPASS,
            recorded,
            due,
            sent,
            "Before the start of the next school day after the police recorded it",
            council=council["id"],
        )

    def decision(self, info: dict[str, Any]) -> None:
        cid = info["row"]["id"]
        decided, signed, outcome = info["decided"], info["signed"], info["outcome"]
        did = self.w.ids(Decision, 1)[0]
        info["decision_id"] = did
        self.w.add(
            Decision,
            {
                "id": did,
                "contact_id": cid,
                "outcome": outcome,
                "rationale": _RATIONALE[outcome],
                "referral_source": "6",
                "became_referral": outcome in REFERRAL_OUTCOMES,
                "decided_by_id": info["worker"],
                "decided_at": decided,
                "sign_off": SignOff.SIGNED_OFF if signed else SignOff.AWAITING_SIGN_OFF,
                "signed_off_by_id": info["manager"] if signed else None,
                "signed_off_at": signed,
                "sign_off_note": "Agreed." if signed else "",
            },
        )
        self._status(cid, ContactStatus.SCREENING, ContactStatus.DECIDED, info["worker"], decided,
                     f"Decided: {Outcome(outcome).label}")  # fmt: skip
        if signed is not None:
            self._status(cid, ContactStatus.DECIDED, ContactStatus.CLOSED, info["manager"], signed,
                         "Agreed.")  # fmt: skip
        if outcome in REFERRAL_OUTCOMES:
            due = self.clock(cid, ClockKind.REFERRAL_DECISION, decided,
                             due_after(decided, self.n_decision), signed,
                             f"End of the {_nth(self.n_decision)} working day after the "
                             "referral", council=info["row"]["local_authority_id"])  # fmt: skip
            if due is not None:
                info["open"].append(due)
        if outcome in (Outcome.ASSESSMENT_S17, Outcome.STRATEGY_DISCUSSION_S47):
            info["assessment_due"] = due_after(decided, self.n_assessment)
        if outcome == Outcome.STRATEGY_DISCUSSION_S47:
            if info["row"]["rag"] == "red" and self.red_same_day:
                sd_due = end_of_day(london_day(decided))
                rule = "End of the same day (a red contact) as the decision to hold one"
            else:
                sd_due = due_after(decided, self.n_discussion)
                rule = "End of the 1st working day after the decision to hold one"
            info["discussion_due"] = (sd_due, rule)

    # -- strategy discussion -------------------------------------------------------------------

    def discussion(self, contacts, council, force, rag, decided, signed, worker_id, worker_name):  # type: ignore[no-untyped-def]
        rng = self.rng
        called = decided + dt.timedelta(minutes=rng.uniform(5, 40))
        if called >= self.now:
            return
        due, due_rule = contacts[0]["discussion_due"]
        if rng.random() < 0.82:
            latest = due - dt.timedelta(minutes=75)
            starts = called + (latest - called) * rng.uniform(0.2, 1.0)
            if starts <= called:
                starts = called + dt.timedelta(minutes=rng.uniform(30, 90))
        else:
            starts = due + dt.timedelta(hours=rng.uniform(2, 72))
        starts = starts.replace(second=0, microsecond=0)
        ends = starts + dt.timedelta(minutes=rng.choice((45, 60, 60, 90)))
        held = ends <= self.now
        sid = self.new_id()
        enquiry = ""
        if held:
            r = rng.random()
            enquiry = "none" if r < 0.25 else ("joint" if r < 0.70 else "single")
        icpc_target = (
            add_wd(london_day(starts), self.n_icpc) if enquiry in ("single", "joint") else None
        )
        roles = [("children_social_care", council["id"], council["email"], True)]
        roles.append(("police", force["id"], force["email"], True))
        roles.append(("health", force["health"][0], force["health"][1], True))
        school = next((c["school"] for c in contacts if c["school"]), None)
        if school is not None:
            roles.append(("school", school[0], school[2], False))
        if rng.random() < 0.4:
            roles.append(("domestic_abuse", force["das"][0], force["das"][1], False))
        participant_ids = self.w.ids(Participant, len(roles))
        names = {
            "police": "police",
            "health": "health",
            "school": "school",
            "domestic_abuse": "domestic abuse",
        }
        missing = []
        lead = dt.timedelta(minutes=60)
        for pid, (role, agency, email, statutory) in zip(participant_ids, roles, strict=True):
            attendance = Attendance.NOT_RECORDED
            if held:
                r = rng.random()
                if role == "children_social_care":
                    attendance = Attendance.ATTENDED
                else:
                    attend_p = {"police": 0.82, "health": 0.72, "school": 0.5}.get(role, 0.6)
                    if r < attend_p:
                        attendance = Attendance.ATTENDED
                    elif r < attend_p + (1 - attend_p) * 0.6:
                        attendance = Attendance.APOLOGIES_WITH_INFORMATION
                    elif r < attend_p + (1 - attend_p) * 0.75:
                        attendance = Attendance.APOLOGIES_WITHOUT_INFORMATION
                    else:
                        attendance = Attendance.DID_NOT_ATTEND
            attended_name = attended_role = ""
            if attendance == Attendance.ATTENDED and role == "children_social_care":
                attended_name, attended_role = worker_name, "Chair"
            elif attendance == Attendance.ATTENDED:
                attended_name, attended_role = f"Duty {role.replace('_', ' ')}", "Duty officer"
            response = Response.PENDING
            responded = None
            if role != "children_social_care":
                responded = called + dt.timedelta(minutes=rng.uniform(5, 120))
                if responded < self.now:
                    response = (
                        Response.INFORMATION_INSTEAD
                        if attendance == Attendance.APOLOGIES_WITH_INFORMATION
                        else Response.ACCEPTED
                    )
                else:
                    responded = None
            self.w.add(
                Participant,
                {
                    "id": pid,
                    "discussion_id": sid,
                    "role": role,
                    "agency_id": agency,
                    "invitee_name": "",
                    "invitee_email": email,
                    "statutory": statutory,
                    "invited_at": called,
                    "response": response,
                    "responded_at": responded,
                    "attendance": attendance,
                    "attended_name": attended_name,
                    "attended_role": attended_role,
                },
            )  # fmt: skip
            if role == "children_social_care":
                continue
            deadline = max(called, starts - lead)
            r = rng.random()
            status, answered_at = RequestStatus.OPEN, None
            answer: Sealed | None = None
            if r < 0.9:
                answered_at = called + (deadline - called) * rng.uniform(0.2, 1.0)
                if r > 0.75:  # answered, but late
                    answered_at = deadline + dt.timedelta(minutes=rng.uniform(10, 600))
                if answered_at < self.now:
                    status = RequestStatus.ANSWERED if r < 0.87 else RequestStatus.NOT_SHARED
                    answer = rng.choice(self.answers)
                else:
                    answered_at = None
            self.w.add(
                InformationRequest,
                {
                    "participant_id": pid,
                    "question": self.questions.get(role, self.questions["police"]),
                    "subjects": J([{"name": f"{c['child']['given']} {c['row']['family_name']}"}
                                   for c in contacts]),
                    "deadline": deadline,
                    "sent_at": called,
                    "status": status,
                    "answer": answer or self.empty,
                    "answered_at": answered_at,
                },
            )  # fmt: skip
            if held and statutory:
                informed = attendance in (
                    Attendance.ATTENDED, Attendance.APOLOGIES_WITH_INFORMATION
                ) or (status == RequestStatus.ANSWERED and answered_at is not None
                      and answered_at <= ends)  # fmt: skip
                if not informed:
                    agency_name = {"police": force["name"], "health": force["health"][2]}[role]
                    missing.append(f"{names[role]} ({agency_name})")
        sd_row = {
            "id": sid,
            "local_authority_id": council["id"],
            "contact_id": contacts[0]["row"]["id"],
            "decision_id": contacts[0]["decision_id"],
            "called_by_id": worker_id,
            "called_at": called,
            "chair_id": worker_id,
            "reason": "Reasonable cause to suspect significant harm after domestic abuse.",
            "due_at": due,
            "due_rule": due_rule,
            "format": "meeting",
            "mode": "remote",
            "starts_at": starts,
            "ends_at": ends,
            "location": "Video call: link in the invitation",
            "consent": "not_required",
            "status": "held" if held else "called",
            "sequence": 0,
            "cancel_reason": "",
            "held_at": starts if held else None,
            "outcome_recorded_at": ends if held else None,
            "outcome_recorded_by_id": worker_id if held else None,
            "enquiry": enquiry,
            "immediate_protection": (rng.random() < 0.05) if held else None,
            "outcome_rationale": "Agreed by the agencies present." if held else "",
            "icpc_target": icpc_target,
            "icpc_date": None,
            "icpc_arranged_by": "",
            "missing_agencies": J(missing if held else []),
            "missing_reason": "Recorded without them; information to follow." if missing else "",
            "reconvene": False if missing else None,
        }
        self.w.add(StrategyDiscussion, sd_row)
        for c in contacts:
            self.w.add(
                DiscussionChild,
                {
                    "discussion_id": sid,
                    "contact_id": c["row"]["id"],
                    "risks": rng.choice(self.risks) if held else self.empty,
                },
            )
            sd_due, sd_rule = c["discussion_due"]
            due = self.clock(c["row"]["id"], ClockKind.STRATEGY_DISCUSSION, c["decided"], sd_due,
                             starts if held else None, sd_rule,
                             council=c["row"]["local_authority_id"])  # fmt: skip
            if due is not None:
                c["open"].append(due)
            if held:
                c["discussion_held"] = (sid, starts, icpc_target)

    # -- casework ------------------------------------------------------------------------------

    def _finish_contact(self, info: dict[str, Any]) -> None:
        """The episode and what follows, once the decision is signed off (or the discussion has
        started an enquiry); then the contact's soonest open deadline."""
        outcome = info["outcome"]
        signed = info["signed"]
        held = info["discussion_held"]
        enquiry_day = None
        if held is not None and held[2] is not None:
            enquiry_day = london_day(held[1])
        opened_at = None
        if outcome in REFERRAL_OUTCOMES and signed is not None:
            opened_at = signed
        if enquiry_day is not None:
            at = held[1] + dt.timedelta(minutes=90)
            opened_at = min(opened_at, at) if opened_at else at
        if opened_at is not None and opened_at < self.now:
            self.episode(info, opened_at)
        row = info["row"]
        dues = [d for d in info["open"] if d is not None]
        row["next_due_at"] = min(dues) if dues else None

    def episode(self, info: dict[str, Any], opened_at: dt.datetime) -> None:
        rng = self.rng
        row, child = info["row"], info["child"]
        cid = row["id"]
        referral_date = london_day(row["received_at"])
        eid = self.new_id()
        upn, upn_unknown = "", ""
        if child["unborn"]:
            upn_unknown = "UN6"
        elif child["age"] < 6:
            upn_unknown = "UN1"
        else:
            digits = f"{rng.randrange(10**12):012d}"
            upn = "A" + digits
        episode = {
            "id": eid,
            "contact_id": cid,
            "local_authority_id": row["local_authority_id"],
            "child_id": "C" + eid.hex[:11].upper(),
            "referral_date": referral_date,
            "referral_source": "6",
            "referral_nfa": False,
            "primary_need": "N1",
            "upn": upn,
            "upn_unknown": upn_unknown,
            "ethnicity": _pick(rng, self.ethnicity),
            "disabilities": EMPTY_LIST,
            "closed_on": None,
            "closure_reason": "",
            "opened_at": opened_at,
            "opened_by_id": info["manager"],
        }
        self.w.add(CaseEpisode, episode)
        outcome = info["outcome"]
        if outcome not in (Outcome.ASSESSMENT_S17, Outcome.STRATEGY_DISCUSSION_S47):
            return  # already open: passed to the allocated worker, nothing new starts
        started = london_day(opened_at)
        # Working days from the referral to authorisation: most within 45, some later.
        late = rng.random() < 0.15
        target = rng.randrange(46, 80) if late else rng.randrange(8, 46)
        authorised = add_wd(referral_date, target)
        if authorised < started:
            authorised = add_wd(started, rng.randrange(3, 10))
            late = calendar.working_days_between(referral_date, authorised) > self.n_assessment
        done = authorised <= self.today
        plan_from_conference = self.enquiry(info, eid, referral_date)
        factors = _pick(rng, self.factors)
        no_factors = factors.obj == ["21"]
        needs_support = done and not no_factors and (plan_from_conference or rng.random() < 0.45)
        seen = min(authorised, started + dt.timedelta(days=rng.randrange(0, 6)))
        self.w.add(
            Assessment,
            {
                "episode_id": eid,
                "local_authority_id": row["local_authority_id"],
                "started_on": started,
                "child_seen_on": seen if seen <= self.today else None,
                "authorised_on": authorised if done else None,
                "factors": factors if done else EMPTY_LIST,
                "needs_support": needs_support if done else None,
                "late_reason": "Waiting for partner agencies' information."
                if done and late
                else "",
                "authorised_by_id": info["manager"] if done else None,
            },
        )
        met = min(self.now, end_of_day(authorised)) if done else None
        due = self.clock(cid, ClockKind.ASSESSMENT, info["decided"], info["assessment_due"], met,
                         "End of the 45th working day after the referral",
                         council=row["local_authority_id"])  # fmt: skip
        if due is not None:
            info["open"].append(due)
        if not done or plan_from_conference:
            return
        if needs_support:
            plan_end = authorised + dt.timedelta(days=rng.randrange(90, 300))
            ended = plan_end <= self.today
            self.w.add(
                CINPlan,
                {"episode_id": eid, "started_on": authorised,
                 "ended_on": plan_end if ended else None},
            )  # fmt: skip
            if ended:
                episode["closed_on"], episode["closure_reason"] = plan_end, "RC7"
        elif not info.get("enquiry_open"):
            # Closed once the assessment and any conference are done.
            episode["closed_on"] = max(authorised, info.get("enquiry_last") or authorised)
            episode["closure_reason"] = "RC8" if no_factors or rng.random() < 0.6 else "RC9"

    def enquiry(self, info: dict[str, Any], eid: uuid.UUID, referral_date: dt.date) -> bool:
        """The section 47 enquiry a held discussion started, and its conference; returns whether
        the conference made a child protection plan."""
        held = info["discussion_held"]
        if held is None or held[2] is None:
            return False
        rng = self.rng
        sid, held_at, target = held
        started = london_day(held_at)
        cid = info["row"]["id"]
        [enquiry_id] = self.w.ids(Section47, 1)
        r = rng.random()
        icpc_on, not_required, led = None, False, None
        stop = None
        if r < 0.55:  # the enquiry finds no conference is needed
            decided_on = add_wd(started, rng.randrange(3, 12))
            if decided_on <= self.today:
                not_required = True
                stop = (
                    end_of_day(decided_on) - HOUR,
                    "The section 47 enquiry found no conference is needed",
                )
        else:
            if rng.random() < 0.78:
                icpc_on = add_wd(started, rng.randrange(7, self.n_icpc + 1))
            else:
                icpc_on = add_wd(started, rng.randrange(self.n_icpc + 1, self.n_icpc + 16))
            if icpc_on > self.today:
                icpc_on = None
            else:
                led = rng.random() < 0.85
        if stop is not None and stop[0] > self.now:
            stop = None
            not_required = False
        self.w.add(
            Section47,
            {
                "id": enquiry_id,
                "episode_id": eid,
                "local_authority_id": info["row"]["local_authority_id"],
                "discussion_id": sid,
                "started_on": started,
                "icpc_target": target,
                "icpc_not_required": not_required,
                "icpc_on": icpc_on,
                "icpc_led_to_plan": led,
                "recorded_by_id": info["manager"] if (icpc_on or not_required) else None,
            },
        )
        met = min(self.now, end_of_day(icpc_on)) if icpc_on else None
        due = self.clock(cid, ClockKind.ICPC, held_at, end_of_day(target), met,
                         f"End of the {self.n_icpc}th working day after the strategy discussion "
                         f"SD-{sid.hex[:8].upper()}", stopped=stop,
                         council=info["row"]["local_authority_id"])  # fmt: skip
        if due is not None:
            info["open"].append(due)
        info["enquiry_open"] = icpc_on is None and not not_required
        info["enquiry_last"] = icpc_on or (london_day(stop[0]) if stop else None)
        if not led:
            return False
        assert icpc_on is not None
        category = _pick(rng, self.categories)
        reviews = []
        review = calendar.add_calendar_months(icpc_on, 3)
        while review <= self.today:
            reviews.append(review.isoformat())
            review = calendar.add_calendar_months(review, 6)
        self.w.add(
            ChildProtectionPlan,
            {
                "episode_id": eid,
                "enquiry_id": enquiry_id,
                "started_on": icpc_on,
                "initial_category": category,
                "latest_category": category,
                "previous_plans": rng.choices((0, 1, 2), cum_weights=(0.8, 0.95, 1.0))[0],
                "ended_on": None,
                "review_dates": J(reviews),
            },
        )
        return True


# ---------------------------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------------------------


def _load_shard(
    plan: Plan,
    world: World,
    shard: int,
    count: int,
    batch: int,
    on_batch: Callable[[int], None],
) -> dict[str, int]:
    """Make and write `count` notifications as shard `shard`; returns the rows per table."""
    writer = RowWriter()
    maker = _Maker(plan, world, writer, shard=shard)
    done = 0
    while done < count:
        n = min(batch, count - done)
        for _ in range(n):
            maker.notification()
        writer.flush()
        done += n
        on_batch(n)
    return dict(writer.counts)


def _shard_process(plan, world, shard, count, batch, progress, results) -> None:  # type: ignore[no-untyped-def]
    """A shard in a process of its own (forked, so Django is set up): its own connection."""
    connections.close_all()

    def on_batch(n: int) -> None:
        with progress.get_lock():
            progress.value += n

    results.put((shard, _load_shard(plan, world, shard, count, batch, on_batch)))
    connections.close_all()


def national_load(
    *,
    notifications: int = DEFAULT_NOTIFICATIONS,
    seed: int = 1,
    days: int = 365,
    force: str | None = None,
    now: dt.datetime | None = None,
    batch: int = 5000,
    workers: int = 1,
    on_progress: Callable[[int], None] | None = None,
) -> Summary:
    """Load `notifications` over the `days` before `now` (default: the clock's now), for every
    force and council in England or, with `force`, for that force's councils, and everything the
    hub records after them. Each batch of `batch` notifications is one transaction.
    `workers` > 1 (PostgreSQL only) splits the notifications between that many processes, each
    with its own random stream and connection. `on_progress(n)` is called with the
    notifications written so far after each batch."""
    if notifications < 0:
        raise ValueError("notifications: must be 0 or more")
    if days < 1:
        raise ValueError("days: must be 1 or more")
    began = time.perf_counter()
    now = (now or clock_now()).astimezone(UTC)
    world = national_world_ensure(force=force)
    plan = Plan(
        notifications=notifications,
        seed=seed,
        start=now - dt.timedelta(days=days),
        now=now,
        force=force,
    )
    writer = RowWriter()
    if not writer.postgres:
        workers = 1
    rebuild: list[str] = []
    if writer.postgres and notifications >= 50_000 and not Notification.objects.exists():
        rebuild = writer.indexes_drop()
    counts: dict[str, int] = {}
    try:
        if workers <= 1:
            done = [0]

            def on_batch(n: int) -> None:
                done[0] += n
                if on_progress is not None:
                    on_progress(done[0])

            counts = _load_shard(plan, world, 0, notifications, batch, on_batch)
        else:
            counts = _load_parallel(plan, world, workers, batch, on_progress)
    finally:
        if rebuild:
            writer.indexes_make(rebuild)
    writer.sequences_reset()
    if writer.postgres and not writer.db.in_atomic_block:
        # VACUUM as well as ANALYZE: a table just written has no visibility map, so no
        # index-only scan until autovacuum reaches it (minutes to hours for millions of rows),
        # and the dashboard's counts are index-only scans.
        with writer.db.cursor() as cursor:
            for model in MODELS:
                table = writer.db.ops.quote_name(model._meta.db_table)
                cursor.execute(f"VACUUM (ANALYZE) {table}")
    elif writer.postgres:
        with writer.db.cursor() as cursor:
            for model in MODELS:
                cursor.execute(f"ANALYZE {writer.db.ops.quote_name(model._meta.db_table)}")
    return Summary(
        notifications=notifications,
        rows=counts,
        seconds=time.perf_counter() - began,
        councils=len(world.councils),
        forces=len(world.forces),
    )


def _load_parallel(
    plan: Plan,
    world: World,
    workers: int,
    batch: int,
    on_progress: Callable[[int], None] | None,
) -> dict[str, int]:
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    progress = ctx.Value("q", 0)
    results = ctx.Queue()
    connections.close_all()
    share = [
        plan.notifications // workers + (i < plan.notifications % workers) for i in range(workers)
    ]
    procs = [
        ctx.Process(
            target=_shard_process, args=(plan, world, i, share[i], batch, progress, results)
        )
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    counts: dict[str, int] = {}
    got = 0
    try:
        while got < workers:
            try:
                _, shard_counts = results.get(timeout=1)
            except Exception:  # queue.Empty: report progress, check the processes
                if any(p.exitcode not in (None, 0) for p in procs):
                    raise RuntimeError("a national load process failed") from None
            else:
                got += 1
                for label, n in shard_counts.items():
                    counts[label] = counts.get(label, 0) + n
            if on_progress is not None:
                on_progress(progress.value)
        for proc in procs:
            proc.join()
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join()
    return counts


def national_largest_council(*, force: str | None = None) -> Agency:
    """The national list's council with the most children (Kent), or the force's largest."""
    ref = max(national_councils(force), key=lambda c: c.weight)
    return Agency.objects.get(la_code=ref.la_code)
