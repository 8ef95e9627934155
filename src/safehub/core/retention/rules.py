"""The retention rules: data, with the ages `settings.SAFEHUB_RETENTION` gives over the defaults.
Nothing here reads or writes a record; `jobs` says what each rule finds and does."""

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from safehub.core import clock


class Act(StrEnum):
    DELETE = "delete"
    ANONYMISE = "anonymise"


@dataclass(frozen=True)
class Rule:
    """One record type's retention: `action` once `years` and `days` have passed since the date
    `counted_from` names (and, with `until_age`, not before the child's birthday of that age)."""

    name: str
    record: str
    counted_from: str
    action: Act
    does: str
    basis: str
    years: int = 0
    days: int = 0
    until_age: int | None = None

    def cutoff(self, now: dt.datetime) -> dt.datetime:
        """A record whose date is at or before this is due."""
        return years_before(now, self.years) - dt.timedelta(days=self.days)

    @property
    def age(self) -> str:
        parts = [_plural(self.years, "year"), _plural(self.days, "day")]
        text = " and ".join(p for p in parts if p) or "at once"
        if self.until_age is not None:
            text += f", and not before the child's {_ordinal(self.until_age)} birthday"
        return text


# Statistics keep counting these contacts after their children are anonymised: the outcome,
# sign-off, RAG, referral source and dates stay. Outcomes that end the contact at the front door
# (no further action, information and advice) follow the shorter rule; every other closed contact
# (a referral, early help, or one closed without a signed-off decision) the longer one.
SHORT_OUTCOMES = frozenset({"no_further_action", "information_and_advice"})

# Statutory retention periods for children's social care records are not in the spec: every age
# below is an assumption for the information governance lead to confirm (docs/retention.md).
ASSUMED = "❓ assumption"

DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(
        "contact_no_referral",
        record="Contact closed with no further action or information and advice, never a referral",
        counted_from="closure",
        action=Act.ANONYMISE,
        does="names → Removed, date of birth → none (age at the contact kept), address → empty, "
        "postcode → district, referrer's name and contact, reason, rationale and notes → Removed",
        basis=ASSUMED,
        years=6,
    ),
    Rule(
        "contact_referral",
        record="Any other closed contact: a referral, early help",
        counted_from="closure, and the child's date of birth (expected date for an unborn child; "
        "the day of the contact when neither is known)",
        action=Act.ANONYMISE,
        does="as above",
        basis=ASSUMED,
        years=6,
        until_age=25,
    ),
    Rule(
        "notification",
        record="Police notification: every version's body, and its person keys",
        counted_from="receipt, once every contact it opened is anonymised",
        action=Act.ANONYMISE,
        does="each body → {} (marked erased); person keys deleted; the reference, dates, "
        "grade, counts and flags kept",
        basis="follows its contacts; " + ASSUMED + " for one that opened none",
        years=6,
    ),
    Rule(
        "person_record",
        record="Person index record: what a notification, a contact or a partner's file said of "
        "a person, and its matching keys",
        counted_from="a notification's or contact's record: once that notification or contact "
        "is anonymised; a partner file's record: the day the file said it",
        action=Act.ANONYMISE,
        does="values, compared features, matching keys and keyed hashes → empty (never matched "
        "again), open reviews of it → no longer apply; its person, source, role, relationships, "
        "merges and how it was linked kept",
        basis="follows its notification or contact; " + ASSUMED + " for a partner file's record",
        years=6,
    ),
    Rule(
        "strategy_discussion",
        record="Strategy discussion: the people asked about, the agencies' answers, the risks "
        "found, the reasons and notes",
        counted_from="once every child's contact it is about is anonymised",
        action=Act.ANONYMISE,
        does="people asked about → none, questions, answers, risks, reasons, notes, names of "
        "those who attended and actions → Removed; agencies, attendance, decision, ICPC dates, "
        "times and sharing decisions kept",
        basis="follows its children's contacts",
    ),
    Rule(
        "encompass_notice",
        record="Operation Encompass notice content",
        counted_from="acknowledgement, or the due time if never acknowledged",
        action=Act.ANONYMISE,
        does="content → the police reference only; recipient, dates and status kept",
        basis=ASSUMED,
        years=1,
    ),
    Rule(
        "marac_referral",
        record="MARAC referral, confirmed or declined",
        counted_from="the decision",
        action=Act.ANONYMISE,
        does="victim's name → Removed, date of birth and matching keys → none, evidence and note "
        "→ removed; criteria codes, status and dates kept",
        basis=ASSUMED + " (as a contact closed without a referral)",
        years=6,
    ),
    Rule(
        "outbox_sent",
        record="Outgoing e-mail, sent",
        counted_from="sending",
        action=Act.ANONYMISE,
        does="body and attachments → empty; recipients, subject, reason and times kept",
        basis=ASSUMED,
        days=90,
    ),
    Rule(
        "outbox_dead",
        record="Outgoing e-mail, given up (dead)",
        counted_from="creation",
        action=Act.ANONYMISE,
        does="as above",
        basis=ASSUMED,
        years=1,
    ),
    Rule(
        "signin_failure",
        record="Failed sign-in (username and address)",
        counted_from="the failure",
        action=Act.DELETE,
        does="deleted",
        basis=ASSUMED + " (the lockout reads only the last few minutes' failures)",
        days=30,
    ),
    Rule(
        "idempotency_key",
        record="A force's Idempotency-Key",
        counted_from="first use",
        action=Act.DELETE,
        does="deleted (a repeat is then answered by the force code and incident reference)",
        basis=ASSUMED + " (forces retry within minutes)",
        days=30,
    ),
    Rule(
        "task_result",
        record="Finished background task (django_tasks_db result)",
        counted_from="finishing",
        action=Act.DELETE,
        does="deleted; tasks waiting or running are never touched",
        basis=ASSUMED + " (operational data only)",
        days=30,
    ),
)


def retention_rules() -> tuple[Rule, ...]:
    """The rules in force: DEFAULT_RULES with `settings.SAFEHUB_RETENTION`'s ages over them.
    Refuses an unknown rule, an unknown key or an age that is not a whole number, or is nothing."""
    overrides = getattr(settings, "SAFEHUB_RETENTION", None) or {}
    if not isinstance(overrides, dict):
        raise ImproperlyConfigured("SAFEHUB_RETENTION must be a dict of rule name → age")
    names = [r.name for r in DEFAULT_RULES]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise ImproperlyConfigured(
            f"SAFEHUB_RETENTION: no rule {', '.join(unknown)} (the rules: {', '.join(names)})"
        )
    rules = []
    for rule in DEFAULT_RULES:
        given = overrides.get(rule.name)
        if given is None:
            rules.append(rule)
            continue
        where = f"SAFEHUB_RETENTION[{rule.name!r}]"
        allowed = {"years", "days"} | ({"until_age"} if rule.until_age is not None else set())
        if not isinstance(given, dict) or not given or set(given) - allowed:
            raise ImproperlyConfigured(f"{where} must be a dict of {', '.join(sorted(allowed))}")
        for key, value in given.items():
            if type(value) is not int or value < 0:
                raise ImproperlyConfigured(f"{where}[{key!r}] must be a whole number, 0 or more")
        changes: dict[str, Any] = {}
        if {"years", "days"} & set(given):
            changes = {"years": given.get("years", 0), "days": given.get("days", 0)}
            if changes["years"] == 0 and changes["days"] == 0:
                raise ImproperlyConfigured(f"{where}: the age must be at least a day")
        if "until_age" in given:
            changes["until_age"] = given["until_age"]
        rules.append(replace(rule, **changes))
    failures = next(r for r in rules if r.name == "signin_failure")
    window = dt.timedelta(minutes=getattr(settings, "SAFEHUB_SIGNIN_FAILURE_WINDOW_MINUTES", 15))
    if failures.cutoff(clock.now()) > clock.now() - window:
        raise ImproperlyConfigured(
            "SAFEHUB_RETENTION['signin_failure'] must keep failures at least as long as "
            "SAFEHUB_SIGNIN_FAILURE_WINDOW_MINUTES, or the lockout would not see them"
        )
    return tuple(rules)


def years_before[D: (dt.date, dt.datetime)](when: D, years: int) -> D:
    """The same day and time `years` earlier; 29 February becomes 28 February. Whoever was born on
    29 February of a leap year reaches an age on 1 March in other years: `born <= years_before(
    today, n)` says so."""
    try:
        return when.replace(year=when.year - years)
    except ValueError:
        return when.replace(year=when.year - years, day=28)


def _plural(n: int, word: str) -> str:
    return "" if n == 0 else f"{n} {word}" + ("" if n == 1 else "s")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# --- The rules, as docs/retention.md shows them ---------------------------------------------


def retention_table(rules: tuple[Rule, ...] = DEFAULT_RULES) -> str:
    """The rules as a Markdown table: docs/retention.md holds it for the defaults (a test checks
    that it does), and `safehub retention rules` prints it for the rules in force."""
    lines = [
        "| Rule | Record | Counted from | Age | Action | What it does | Basis |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rules:
        cells = [f"`{r.name}`", r.record, r.counted_from, r.age, str(r.action), r.does, r.basis]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def retention_check(**kwargs: Any) -> list[Any]:
    """A system check: SAFEHUB_RETENTION is refused at start-up, not at the first run."""
    from django.core import checks

    try:
        retention_rules()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="safehub.E001")]
    return []
