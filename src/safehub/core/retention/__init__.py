"""Retention: how long safehub keeps each kind of record, and the job that deletes or anonymises
what has expired and logs that it did (docs/retention.md).

The rules are data (`DEFAULT_RULES`): per record type, the age that triggers the action, counted
from a named date, and the action, delete or anonymise. `settings.SAFEHUB_RETENTION` changes a
rule's age, e.g. `{"contact_no_referral": {"years": 7}}`; an age given replaces the default age
whole (`{"days": 30}` is 30 days, not 6 years and 30 days).

Anonymising keeps what the statistics and the CIN census count (the dates, the RAG rating and its
reasons, the decisions' outcomes, the referral source, the council, the child's sex, the
postcode's district and age at the contact, the clocks) and removes who: names, dates of birth,
addresses, what people wrote, every body of a notification. Nothing here deletes a row that
another row points at with PROTECT (a contact, a notification, a notice, an outbox message): those
are anonymised; only rows nothing points at (sign-in failures, idempotency keys, person keys,
finished task results) are deleted.

`retention_run` works rule by rule in batches, each batch its own transaction with one audit
event (the rule, the action, the count, the first ids). It is idempotent: an anonymised record has
`erased_at` set and is no longer a candidate, and the candidates are found through partial
indexes of the records not yet anonymised, so a run with nothing due is a few index lookups. The
worker's minute sweep calls it; it runs at most once every `RUN_EVERY`, and its last run is its
own audit event.

The audit log is not touched: it is append-only by design (on PostgreSQL, triggers refuse UPDATE
and DELETE), and how long it is kept is a decision of its own (docs/retention.md).

`core` imports nothing from the apps after it, except here and in `core.access`: one job has to
see every kind of record.
"""

from safehub.core.retention.jobs import ERASED_BODY, JOBS, REMOVED
from safehub.core.retention.rules import (
    DEFAULT_RULES,
    Act,
    Rule,
    retention_check,
    retention_rules,
    retention_table,
    years_before,
)
from safehub.core.retention.run import (
    ACTOR,
    AUDIT_OBJECT_TYPE,
    BATCH_SIZE,
    RUN,
    RUN_EVERY,
    RetentionReport,
    RuleResult,
    retention_last_run,
    retention_run,
)

__all__ = [
    "ACTOR",
    "AUDIT_OBJECT_TYPE",
    "BATCH_SIZE",
    "DEFAULT_RULES",
    "ERASED_BODY",
    "JOBS",
    "REMOVED",
    "RUN",
    "RUN_EVERY",
    "Act",
    "RetentionReport",
    "Rule",
    "RuleResult",
    "retention_check",
    "retention_last_run",
    "retention_rules",
    "retention_run",
    "retention_table",
    "years_before",
]
