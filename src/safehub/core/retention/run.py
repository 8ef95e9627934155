"""The retention job: every rule in batches, each batch its own transaction and audit event."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from safehub.audit.models import Action, AuditEvent
from safehub.audit.services import audit_record
from safehub.core import clock
from safehub.core.retention.jobs import JOBS, Job
from safehub.core.retention.rules import Act, Rule, retention_rules

ACTOR = "safehub: retention"
AUDIT_OBJECT_TYPE = "core.retention"
RUN = "run"  # the object_id of the event that closes a run (the daily guard reads it)
RUN_EVERY = dt.timedelta(hours=24)
BATCH_SIZE = 500
IDS_LOGGED = 10  # the first ids of a batch named in its audit event


@dataclass
class RuleResult:
    rule: str
    action: Act
    count: int = 0
    batches: int = 0
    also: dict[str, int] = field(default_factory=dict)

    @property
    def verb(self) -> str:
        return "deleted" if self.action == Act.DELETE else "anonymised"


@dataclass
class RetentionReport:
    at: dt.datetime
    dry_run: bool = False
    skipped_since: dt.datetime | None = None  # the last run, when this one did not run
    results: list[RuleResult] = field(default_factory=list)

    def count(self, rule: str) -> int:
        return next((r.count for r in self.results if r.rule == rule), 0)

    def __str__(self) -> str:
        if self.skipped_since is not None:
            return f"skipped: last run {self.skipped_since:%Y-%m-%d %H:%M} UTC"
        done = [f"{r.rule} {r.count} {r.verb}" for r in self.results if r.count]
        return ("dry run: " if self.dry_run else "") + ("; ".join(done) or "nothing due")


class _DryRun(Exception):
    """Raised to roll a dry run back."""


def retention_last_run() -> dt.datetime | None:
    """When the job last finished a run (not a dry run): its closing audit event."""
    return (
        AuditEvent.objects.filter(object_type=AUDIT_OBJECT_TYPE, object_id=RUN)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )


def retention_run(
    *,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    force: bool = False,
    batch_size: int = BATCH_SIZE,
) -> RetentionReport:
    """Delete or anonymise every record whose time has come, rule by rule, `batch_size` records
    a transaction, at most `limit` records a rule (the rest wait for the next run). Without
    `force`, does nothing if a run finished less than RUN_EVERY ago: the worker calls it every
    minute. A dry run does the same work in a transaction it rolls back, so it counts exactly
    what a run would do (a notification whose last contacts the run would anonymise included)
    and changes nothing, the audit log included."""
    now = now or clock.now()
    if not (force or dry_run):
        last = retention_last_run()
        if last is not None and now - last < RUN_EVERY:
            return RetentionReport(at=now, skipped_since=last)
    report = RetentionReport(at=now, dry_run=dry_run)
    rules = retention_rules()
    if not dry_run:
        _run(report, rules, now=now, limit=limit, batch_size=batch_size)
        return report
    try:
        with transaction.atomic():
            _run(report, rules, now=now, limit=limit, batch_size=batch_size)
            raise _DryRun
    except _DryRun:
        pass
    return report


def _run(
    report: RetentionReport,
    rules: tuple[Rule, ...],
    *,
    now: dt.datetime,
    limit: int | None,
    batch_size: int,
) -> None:
    for rule in rules:
        result = RuleResult(rule=rule.name, action=rule.action)
        report.results.append(result)
        _run_rule(rule, JOBS[rule.name], result, now=now, limit=limit, batch_size=batch_size)
    with transaction.atomic():
        audit_record(
            actor=ACTOR,
            action=Action.UPDATE,
            object_type=AUDIT_OBJECT_TYPE,
            object_id=RUN,
            detail={
                "retention": RUN,
                "counts": {r.rule: r.count for r in report.results},
                "limit": limit,
            },
        )


def _run_rule(
    rule: Rule,
    job: Job,
    result: RuleResult,
    *,
    now: dt.datetime,
    limit: int | None,
    batch_size: int,
) -> None:
    after: Any = None  # the last id done: each batch starts past it, whatever the rule does
    while limit is None or result.count < limit:
        size = batch_size if limit is None else min(batch_size, limit - result.count)
        with transaction.atomic():
            due = job.due(rule, now)
            if after is not None:
                due = due.filter(pk__gt=after)
            # A row someone holds locked (being changed now) waits for the next run.
            ids = list(
                due.order_by("pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:size]
            )
            if not ids:
                return
            also = job.apply(ids, now)
            audit_record(
                actor=ACTOR,
                action=Action.UPDATE,
                object_type=AUDIT_OBJECT_TYPE,
                object_id=rule.name,
                detail={
                    "retention": rule.name,
                    "action": str(rule.action),
                    "model": job.model._meta.label_lower,
                    "count": len(ids),
                    "ids": [str(i) for i in ids[:IDS_LOGGED]],
                    **also,
                },
            )
        result.count += len(ids)
        result.batches += 1
        for key, n in also.items():
            result.also[key] = result.also.get(key, 0) + n
        after = ids[-1]
        if len(ids) < size:
            return
