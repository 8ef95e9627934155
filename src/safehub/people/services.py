"""Writes to the person index: records linked as they arrive (intake, manual contacts, partner
files), a notification's amendment, the whole index re-linked (`safehub linkage run`), a trained
model stored. The clerical review's decisions, merges and unmerges are in `people/review.py`.

Linking a list of records is one path for one record and for many (`person_records_link`):
candidates from the index by the blocking keys in one query, and the list's own earlier records
as candidates too; every pair scored in one pass; then record by record, in order, the best
person (each person's best pair) and the band (docs/linkage.md):

- at or above SAFEHUB_LINKAGE_AUTO_LINK: the record joins that person (`auto`);
- at or above SAFEHUB_LINKAGE_REVIEW: the record becomes a new person and a clerical review is
  opened against the candidate: nothing is merged without a person;
- below: a new person.

Other people the record scores at or above the review band with (at most three) get a review
too. Records of one group (the people one notification names) never join one person.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q

from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.people.index import (
    IDENTITY_FIELDS,
    RecordDraft,
    contact_draft,
    notification_drafts,
    notification_relationships,
    row_keys,
    values_row,
)
from safehub.people.matching import (
    Band,
    Candidate,
    Score,
    ScoringModel,
    active_model,
    active_model_forget,
    bands,
    blocking_rules,
    candidates_fetch,
    rule_values,
    stored_rows,
)
from safehub.people.models import (
    LinkageModel,
    LinkMethod,
    LinkReview,
    Merge,
    Person,
    Relationship,
    RelationshipKind,
    RerateDue,
    ReviewStatus,
    SourceKind,
    SourceRecord,
)
from safehub.people.selectors import kept_apart_people

if TYPE_CHECKING:
    from safehub.intake.models import Notification
    from safehub.intake.validation import NotificationBody
    from safehub.referrals.models import Contact

logger = logging.getLogger(__name__)

MAX_REVIEWS_PER_RECORD = 3


@dataclass
class Linked:
    """What became of one record."""

    draft: RecordDraft
    record: SourceRecord
    band: str
    reviews: list[LinkReview] = field(default_factory=list)


@dataclass
class _Pair:
    """A scored pair: the new record and an index record (`candidate`) or an earlier record of
    the same list (`earlier`, its position)."""

    score: Score
    candidate: Candidate | None = None
    earlier: int | None = None

    @property
    def record_ref(self) -> str:
        return str(self.candidate.record_id) if self.candidate else f"batch:{self.earlier}"


def _scored_pairs(
    drafts: list[RecordDraft], scoring: ScoringModel, *, exclude: Iterable[Any] = ()
) -> list[list[_Pair]]:
    """For each draft, its candidates from the index and from the drafts before it, scored."""
    fetched = candidates_fetch(
        [d.keys for d in drafts], groups=[d.group for d in drafts], exclude=exclude
    )
    rules = blocking_rules()
    seen: dict[tuple[tuple[str, ...], tuple[Any, ...]], list[int]] = {}
    todo: list[tuple[int, Candidate | None, int | None]] = []  # (draft, candidate, earlier)
    for i, draft in enumerate(drafts):
        for found in fetched[i]:
            todo.append((i, found, None))
        earlier: set[int] = set()
        for rule in rules:
            value = rule_values(draft.keys, rule)
            if value is None:
                continue
            earlier.update(seen.get((rule, value), ()))
            seen.setdefault((rule, value), []).append(i)
        for j in sorted(earlier):
            if draft.group is None or drafts[j].group != draft.group:
                todo.append((i, None, j))
    inputs = []
    for i, maybe, k in todo:
        if maybe is not None:
            inputs.append((drafts[i].row, maybe.row))
        else:
            assert k is not None
            inputs.append((drafts[i].row, drafts[k].row))
    scores = scoring.score(inputs)
    out: list[list[_Pair]] = [[] for _ in drafts]
    for (i, maybe, k), score in zip(todo, scores, strict=True):
        out[i].append(_Pair(score=score, candidate=maybe, earlier=k))
    return out


def _best_by_person(
    pairs: list[_Pair], person_of: Callable[[_Pair], Any], taken: set[Any]
) -> list[tuple[Any, _Pair]]:
    """Each candidate person's best pair, best first (a person is as close as their closest
    record), leaving out `taken`."""
    best: dict[Any, _Pair] = {}
    for pair in pairs:
        person = person_of(pair)
        if person in taken:
            continue
        if person not in best or pair.score.probability > best[person].score.probability:
            best[person] = pair
    return sorted(best.items(), key=lambda item: -item[1].score.probability)


def _evidence(pair: _Pair, record_ids: dict[int, Any]) -> dict[str, Any]:
    ref = (
        str(pair.candidate.record_id) if pair.candidate else str(record_ids.get(pair.earlier, ""))  # type: ignore[arg-type]
    )
    return {**pair.score.evidence, "record": ref}


SAME_PARENT_LEVEL = "a child of the same parent in the index"


def _with_same_parent(score: Score) -> Score:
    """A score with the evidence that the candidate is, in the index, a child of the person the
    new record's parent (named in the same notification) was linked to."""
    from safehub.people.matching import weight_to_probability
    from safehub.people.model import SAME_PARENT_WEIGHT

    weight = score.match_weight + SAME_PARENT_WEIGHT
    evidence = {
        **score.evidence,
        "match_weight": round(weight, 3),
        "comparisons": {
            **score.evidence.get("comparisons", {}),
            "same_parent": {"level": SAME_PARENT_LEVEL, "weight": SAME_PARENT_WEIGHT},
        },
    }
    return Score(probability=weight_to_probability(weight), match_weight=weight, evidence=evidence)


def _same_parent(pairs: list[_Pair], parents: set[Any]) -> list[_Pair]:
    """The pairs again, those whose candidate is a child or step-child of one of `parents` in the
    index with that evidence added (one query)."""
    candidates = {p.candidate.person_id for p in pairs if p.candidate is not None}
    if not parents or not candidates:
        return pairs
    children = set(
        Relationship.objects.filter(
            from_person_id__in=parents,
            kind__in=(RelationshipKind.PARENT, RelationshipKind.STEP_PARENT),
            to_person_id__in=candidates,
        ).values_list("to_person_id", flat=True)
    )
    return [
        _Pair(score=_with_same_parent(p.score), candidate=p.candidate, earlier=p.earlier)
        if p.candidate is not None and p.candidate.person_id in children
        else p
        for p in pairs
    ]


def person_records_link(
    *,
    drafts: list[RecordDraft],
    origin: str,
    now: dt.datetime,
    linked_by: Any = None,
) -> list[Linked]:
    """Link new records to the index (see the module's docstring) and store them, their new
    people and their reviews. The caller holds the transaction.

    A notification's parents are linked before their children, so that a child's candidate who
    is, in the index, the child of the person a parent was just linked to counts that as
    evidence (model.SAME_PARENT_WEIGHT). What is returned is in the drafts' order."""
    order = sorted(range(len(drafts)), key=lambda i: bool(drafts[i].parent_refs))
    linked = _records_link([drafts[i] for i in order], origin=origin, now=now, linked_by=linked_by)
    out: list[Linked | None] = [None] * len(drafts)
    for position, i in enumerate(order):
        out[i] = linked[position]
    return [item for item in out if item is not None]


def _records_link(
    drafts: list[RecordDraft], *, origin: str, now: dt.datetime, linked_by: Any
) -> list[Linked]:
    if not drafts:
        return []
    scoring = active_model()
    limits = bands()
    scored = _scored_pairs(drafts, scoring)
    person_of_draft: list[Any] = [None] * len(drafts)
    record_ids: dict[int, Any] = {}
    group_people: dict[str, set[Any]] = {}
    new_people: list[Person] = []
    records: list[SourceRecord] = []
    reviews: list[LinkReview] = []
    out: list[Linked] = []

    def person_of(pair: _Pair) -> Any:
        if pair.candidate is not None:
            return pair.candidate.person_id
        return person_of_draft[pair.earlier]  # type: ignore[index]

    for i, draft in enumerate(drafts):
        taken = group_people.get(draft.group, set()) if draft.group else set()
        if draft.parent_refs:
            parents = {
                person_of_draft[j]
                for j in range(i)
                if drafts[j].ref in draft.parent_refs and drafts[j].group == draft.group
            }
            scored[i] = _same_parent(scored[i], parents)
        ranked = _best_by_person(scored[i], person_of, taken)
        top = ranked[0] if ranked else None
        band = limits.band(top[1].score.probability if top else None)
        if band == Band.AUTO and top is not None:
            person_id, method = top[0], LinkMethod.AUTO
        else:
            person = Person(created_at=now)
            new_people.append(person)
            person_id, method = person.pk, LinkMethod.NEW
        person_of_draft[i] = person_id
        if draft.group:
            group_people.setdefault(draft.group, set()).add(person_id)
        record = SourceRecord(
            person_id=person_id,
            source_kind=draft.source_kind,
            source=draft.source,
            source_ref=draft.source_ref,
            notification=draft.notification,
            contact=draft.contact,
            role=draft.role,
            values=draft.values,
            features=draft.row,
            seen_at=draft.seen_at,
            **draft.keys,
            link_method=method,
            match_probability=top[1].score.probability if top else None,
            match_evidence=_evidence(top[1], record_ids) if top else {},
            model_version=scoring.version,
            linked_at=now,
            linked_by=linked_by,
        )
        record_ids[i] = record.pk
        records.append(record)
        mine = [
            LinkReview(
                record=record,
                candidate_id=candidate,
                match_probability=pair.score.probability,
                match_evidence=_evidence(pair, record_ids),
                model_version=scoring.version,
                origin=origin,
                status=ReviewStatus.OPEN,
                created_at=now,
            )
            for candidate, pair in ranked[:MAX_REVIEWS_PER_RECORD]
            if candidate != person_id and pair.score.probability >= limits.review
        ]
        reviews += mine
        out.append(Linked(draft=draft, record=record, band=band, reviews=mine))
    Person.objects.bulk_create(new_people)
    SourceRecord.objects.bulk_create(records)
    LinkReview.objects.bulk_create(reviews)
    return out


# --- Intake -------------------------------------------------------------------------------------


def _relationships(
    body: NotificationBody, records: dict[str, SourceRecord], seen_at: dt.datetime
) -> list[Relationship]:
    out = []
    for a, kind, b in notification_relationships(body):
        if a in records and b in records:
            out.append(
                Relationship(
                    from_person_id=records[a].person_id,
                    to_person_id=records[b].person_id,
                    kind=kind,
                    record=records[a],
                    seen_at=seen_at,
                )
            )
    return out


def _guarded(what: str, work: Callable[[], Any]) -> Any:
    """Index in a savepoint: a fault in linkage must not lose the notification or the contact it
    belongs to (`safehub linkage run` indexes what is missing). The tests let it raise."""
    try:
        with transaction.atomic():
            return work()
    except Exception:
        if settings.TESTING:
            raise
        logger.exception("person index: %s not indexed; `safehub linkage run` will index it", what)
        return None


def linkage_inline() -> bool:
    """Whether intake links the people of a new notification in its own transaction
    (SAFEHUB_LINKAGE_AT_INTAKE = "inline"); otherwise (the default, "worker") the worker's
    `people_index_sweep` links them seconds later, and intake's answer does not wait for it."""
    return settings.SAFEHUB_LINKAGE_AT_INTAKE == "inline"


def _notifications_index(
    items: list[tuple[Notification, NotificationBody, list[Contact]]], now: dt.datetime
) -> list[Linked]:
    drafts = [
        d
        for notification, body, contacts in items
        for d in notification_drafts(notification=notification, body=body, contacts=contacts)
    ]
    linked = person_records_link(drafts=drafts, origin="intake", now=now)
    by_notification: dict[Any, dict[str, SourceRecord]] = {}
    for item in linked:
        assert item.draft.notification is not None
        by_notification.setdefault(item.draft.notification.pk, {})[item.draft.ref] = item.record
    relationships = [
        rel
        for notification, body, _ in items
        for rel in _relationships(body, by_notification.get(notification.pk, {}), body.occurred_at)
    ]
    Relationship.objects.bulk_create(relationships)
    return linked


def notifications_people_index(
    *,
    items: list[tuple[Notification, NotificationBody, list[Contact]]],
    now: dt.datetime,
) -> list[Linked]:
    """Everyone new notifications name, linked to the index (one candidate query and one scoring
    pass for the list), with the relationships the notifications give. In the caller's
    transaction: intake's ("inline"), or the sweep's."""
    return _guarded("notification", lambda: _notifications_index(items, now)) or []


def _identity(values: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(values.get(k) or "") for k in IDENTITY_FIELDS)


def notification_people_reindex(
    *, notification: Notification, body: NotificationBody, now: dt.datetime
) -> dict[str, int]:
    """An amended notification (docs/linkage.md, "Amendments"): a person it names for the first
    time is linked as at intake; a person whose identity fields changed has their record's values
    and keys updated where it is, and, if the model had placed it, a review is opened against any
    other person it now scores in the review band with (nothing moves without a person); a person
    no longer named keeps their record (an earlier version named them). Its relationships are
    those of the new version."""

    def work() -> dict[str, int]:
        existing = {
            r.source_ref: r
            for r in SourceRecord.objects.filter(
                notification=notification, source_kind=SourceKind.NOTIFICATION
            )
        }
        if not existing and not linkage_inline():
            # Not indexed yet: the sweep indexes the current version (the amendment holds the
            # notification's row lock, so the sweep cannot be half-way through an older one).
            return {}
        contacts = list(notification.contacts.all())
        drafts = notification_drafts(notification=notification, body=body, contacts=contacts)
        new = [d for d in drafts if d.source_ref not in existing]
        changed: list[tuple[RecordDraft, SourceRecord]] = []
        for draft in drafts:
            record = existing.get(draft.source_ref)
            if record is None:
                continue
            contact_id = draft.contact.pk if draft.contact else None
            if (
                _identity(record.values) == _identity(draft.values)
                and record.role == draft.role
                and record.contact_id == contact_id
            ):
                continue
            record.values, record.role, record.contact = draft.values, draft.role, draft.contact
            record.features = draft.row
            record.seen_at = draft.seen_at
            for column, value in draft.keys.items():
                setattr(record, column, value)
            changed.append((draft, record))
        if changed:
            SourceRecord.objects.bulk_update(
                [r for _, r in changed],
                ["values", "features", "role", "contact", "seen_at", *changed[0][0].keys],
            )
        linked = person_records_link(drafts=new, origin="intake", now=now)
        reviews = _reviews_for_changed(
            [(d, r) for d, r in changed if r.link_method in (LinkMethod.NEW, LinkMethod.AUTO)],
            now=now,
        )
        records = {**{r.source_ref: r for r in existing.values()}}
        records.update({item.record.source_ref: item.record for item in linked})
        by_ref = {d.ref: records[d.source_ref] for d in drafts}
        Relationship.objects.filter(record__notification=notification).delete()
        Relationship.objects.bulk_create(_relationships(body, by_ref, body.occurred_at))
        return {"new": len(linked), "changed": len(changed), "reviews": reviews}

    return _guarded("amendment", work) or {}


def _reviews_for_changed(
    changed: list[tuple[RecordDraft, SourceRecord]], *, now: dt.datetime
) -> int:
    if not changed:
        return 0
    scoring = active_model()
    limits = bands()
    drafts = [d for d, _ in changed]
    scored = _scored_pairs(drafts, scoring, exclude=[r.pk for _, r in changed])
    open_pairs = set(
        LinkReview.objects.filter(
            record__in=[r for _, r in changed], status=ReviewStatus.OPEN
        ).values_list("record_id", "candidate_id")
    )
    made = []
    for (_, record), pairs in zip(changed, scored, strict=True):
        db_pairs = [p for p in pairs if p.candidate is not None]
        # A person a worker kept this record apart from is not proposed again.
        taken = {record.person_id, *kept_apart_people(record.pk)}
        ranked = _best_by_person(db_pairs, lambda p: p.candidate.person_id, taken)  # type: ignore[union-attr]
        for person, pair in ranked[:MAX_REVIEWS_PER_RECORD]:
            if pair.score.probability < limits.review or (record.pk, person) in open_pairs:
                continue
            made.append(
                LinkReview(
                    record=record,
                    candidate_id=person,
                    match_probability=pair.score.probability,
                    match_evidence=_evidence(pair, {}),
                    model_version=scoring.version,
                    origin="intake",
                    created_at=now,
                )
            )
    LinkReview.objects.bulk_create(made)
    return len(made)


def contact_person_index(*, contact: Contact, now: dt.datetime) -> Linked | None:
    """A manual contact's child, linked to the index. In the contact's transaction."""

    def work() -> Linked:
        return person_records_link(drafts=[contact_draft(contact)], origin="intake", now=now)[0]

    result: Linked | None = _guarded("manual contact", work)
    return result


# --- Partner files ------------------------------------------------------------------------------


@dataclass
class LoadResult:
    source: str
    rows: int = 0
    loaded: int = 0
    already: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    bands: dict[str, int] = field(default_factory=lambda: {b: 0 for b in ("auto", "review", "new")})
    reviews: int = 0


def _row_problems(row: dict[str, str]) -> list[str]:
    from safehub.core.identifiers import nhs_number_is_valid

    problems = []
    if not (row.get("given_names") or "").strip() and not (row.get("family_name") or "").strip():
        problems.append("no given_names and no family_name: nothing to link on")
    nhs = (row.get("nhs_number") or "").strip()
    if nhs and not nhs_number_is_valid(nhs):
        problems.append(f"nhs_number {nhs!r} is not a valid NHS number")
    upn = (row.get("upn") or "").strip()
    if upn and not (len(upn) == 13 and upn[0].isalpha() and upn[1:12].isdigit() and upn.isalnum()):
        problems.append(f"upn {upn!r} is not a unique pupil number (a letter, 11 digits, one more)")
    sex = (row.get("sex") or "").strip().upper()
    if sex not in ("", "M", "F", "U"):
        problems.append(f"sex {row.get('sex')!r} is not M, F or U")
    return problems


def partner_file_load(
    *,
    rows: list[dict[str, str]],
    source: str,
    actor: str,
    now: dt.datetime,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """A partner's file (rows of person-records.md, checked by records.py already), each row a
    record linked as at intake. One transaction: the rows are all stored or none is; rows with a
    problem are rejected with their reasons and never stored; rows already loaded from this
    source (same record_id) are left as they are, so a re-run loads nothing twice."""
    result = LoadResult(source=source, rows=len(rows))
    with transaction.atomic():
        known = set(
            SourceRecord.objects.filter(
                source_kind=SourceKind.PARTNER_FILE, source=source
            ).values_list("source_ref", flat=True)
        )
        accepted = []
        for row in rows:
            rid = row["record_id"]
            problems = _row_problems(row)
            if problems:
                result.rejected.append((rid, "; ".join(problems)))
            elif rid in known:
                result.already += 1
            else:
                accepted.append(row)
        from safehub.people.index import partner_draft

        for start in range(0, len(accepted), batch_size):
            batch = accepted[start : start + batch_size]
            linked = person_records_link(
                drafts=[partner_draft(r, source=source, seen_at=now) for r in batch],
                origin="load",
                now=now,
            )
            for item in linked:
                result.bands[item.band] += 1
                result.reviews += len(item.reviews)
            result.loaded += len(linked)
            if progress:
                progress(len(batch))
        audit_record(
            actor=actor,
            action=Action.CREATE,
            object_type="people.PartnerFile",
            object_id=source[:64],
            detail={
                "rows": result.rows,
                "loaded": result.loaded,
                "already_loaded": result.already,
                "rejected": len(result.rejected),
                "bands": result.bands,
                "reviews": result.reviews,
            },
        )
    return result


# --- The model ----------------------------------------------------------------------------------


def term_frequencies(document: dict[str, Any], table: Any) -> dict[str, Any]:
    """The term frequencies of the columns the model adjusts for (Splink's: each value's share of
    the records that have one), counted in `table` (an Arrow table of model rows, model.SCHEMA).
    Values seen once are left out: `default` stands for them."""
    import pyarrow.compute as pc

    columns = sorted(
        {
            level["tf_adjustment_column"]
            for comparison in document["splink_settings"]["comparisons"]
            for level in comparison["comparison_levels"]
            if level.get("tf_adjustment_column")
        }
    )
    out = {}
    for column in columns:
        if column not in table.column_names:
            continue
        counts = {
            str(item["values"]): item["counts"]
            for item in pc.value_counts(table[column].drop_null()).to_pylist()
        }
        total = sum(counts.values())
        if not total:
            continue
        out[column] = {
            "default": 1 / total,
            "values": {v: n / total for v, n in sorted(counts.items()) if n > 1},
        }
    return out


def linkage_model_store(
    *, document: dict[str, Any], trained_on: dict[str, Any], actor: str, now: dt.datetime
) -> LinkageModel:
    """A trained model as the next version, active: new links are scored with it."""
    with transaction.atomic():
        last = LinkageModel.objects.select_for_update().order_by("-version").first()
        stored = LinkageModel.objects.create(
            version=(last.version + 1) if last else 1,
            document=document,
            trained_at=now,
            trained_on=trained_on,
            active=True,
        )
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=stored,
            detail={k: v for k, v in trained_on.items() if k != "sources"},
        )
    active_model_forget()
    return stored


def index_digest(exported: ExportedIndex) -> str:
    """SHA-256 of what training read from the index: each record's id, then the model rows
    (the Arrow table serialised in the records' order as one chunk: DuckDB's export may cut it
    into other chunks, or give its rows in another order, from one run to the next), so that the
    same index gives the same digest."""
    import pyarrow as pa
    import pyarrow.compute as pc

    digest = hashlib.sha256()
    for record_id in exported.ids:
        digest.update(str(record_id).encode() + b"\n")

    class Hashing(io.RawIOBase):  # a sink that hashes what is written, keeping none of it
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            digest.update(data)
            return len(data)

    table = exported.table
    order = pc.sort_indices(pc.cast(table["unique_id"], pa.int64()))
    ordered = table.take(order).combine_chunks()
    with pa.ipc.new_stream(pa.PythonFile(Hashing(), mode="w"), table.schema) as out:
        out.write_table(ordered)
    return digest.hexdigest()


# --- Re-linking the whole index (`safehub linkage run`) -----------------------------------------


@dataclass
class RunResult:
    records: int = 0
    rehashed: int = 0
    rehash_checked: bool = False  # a sample's keys held: the index was not rehashed
    indexed: int = 0
    pairs: int = 0
    proposed: int = 0
    linked: int = 0
    kept: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    # The run's clusters at the auto-link band: (source, source_ref) of each record -> cluster.
    clusters: dict[tuple[str, str], str] = field(default_factory=dict)


# Records whose keys `records_rehash` computes again to decide whether all need it.
REHASH_SAMPLE = 1000


def _stale(records: list[SourceRecord]) -> list[SourceRecord]:
    """The records whose stored keys or features differ from those their values give now,
    updated in memory."""
    dirty = []
    for record in records:
        row = values_row(record.values, record_id=record.source_ref, source=record.source)
        keys = row_keys(row)
        if record.features != row or any(getattr(record, k) != v for k, v in keys.items()):
            for k, v in keys.items():
                setattr(record, k, v)
            record.features = row
            dirty.append(record)
    return dirty


def records_rehash(
    *, batch_size: int, force: bool = False, progress: Callable[[int], None] | None = None
) -> int | None:
    """The blocking keys of every record computed again from its values (after the linkage key
    or the features changed); returns how many changed.

    Unless `force`, a sample is checked first (REHASH_SAMPLE records, the first by their random
    ids): a new linkage key changes every hash and a change to the features changes the keys of
    many records, so a sample whose keys all hold means nothing changed, and None is returned
    without reading the index (a million records take minutes to rehash)."""
    columns = [*row_keys(values_row({}, record_id="", source="")), "features"]
    fields = ("id", "source", "source_ref", "values", *columns)
    if not force:
        kept = SourceRecord.objects.filter(erased_at__isnull=True)
        sample = list(kept.order_by("id").only(*fields)[:REHASH_SAMPLE])
        if not _stale(sample):
            return None
    changed = 0
    last = None
    while True:
        query = SourceRecord.objects.filter(erased_at__isnull=True).order_by("id")
        if last is not None:
            query = query.filter(id__gt=last)
        batch = list(query.only(*fields)[:batch_size])
        if not batch:
            break
        last = batch[-1].pk
        dirty = _stale(batch)
        if dirty:
            with transaction.atomic():
                SourceRecord.objects.bulk_update(dirty, columns)
        changed += len(dirty)
        if progress:
            progress(len(batch))
    return changed


# --- Indexing after intake: the worker's sweep, and `linkage run`'s backfill --------------------

SWEEP_MAX_BATCHES = 10
# Per process: notifications whose indexing raised (logged), skipped by this process's sweeps
# so that one bad record cannot hold up the queue; `safehub linkage run` tries them again.
_failed: set[Any] = set()


@dataclass
class SweepResult:
    indexed: int = 0
    batches: int = 0
    rerated: int = 0
    failed: int = 0
    rerate_due: int = 0  # notifications whose re-rate failed, waiting for the next sweep
    more: bool = False  # stopped at `max_batches` with more waiting

    def __str__(self) -> str:
        text = f"{self.indexed} indexed, {self.rerated} contacts re-rated, {self.failed} failed"
        if self.rerate_due:
            text += f", {self.rerate_due} notifications waiting to be re-rated"
        return text


def _unindexed(*, since: dt.datetime | None, batch_size: int) -> list[Notification]:
    """The oldest notifications with no records in the index, locked: another worker's sweep
    skips them (PostgreSQL), and an amendment waits for this one (it locks the same row)."""
    from safehub.intake.models import Notification

    pending = Notification.objects.filter(erased_at__isnull=True).filter(
        ~Exists(SourceRecord.objects.filter(notification=OuterRef("pk")))
    )
    if since is not None:
        pending = pending.filter(received_at__gte=since)
    if _failed:
        pending = pending.exclude(pk__in=sorted(_failed, key=str))
    pending = pending.order_by("received_at", "id")
    if connection.features.has_select_for_update_skip_locked:
        pending = pending.select_for_update(skip_locked=True)
    return list(pending[:batch_size])


def _items(
    batch: list[Notification],
) -> list[tuple[Notification, NotificationBody, list[Contact]]]:
    """Each notification with its current version's body and its contacts, in two queries."""
    from safehub.intake.models import NotificationVersion
    from safehub.intake.validation import NotificationBody
    from safehub.referrals.models import Contact

    current = {(n.pk, n.current_version) for n in batch}
    bodies = {
        v.notification_id: v.body
        for v in NotificationVersion.objects.filter(notification__in=batch)
        if (v.notification_id, v.number) in current
    }
    contacts: dict[Any, list[Contact]] = {}
    for contact in Contact.objects.filter(notification__in=batch):
        contacts.setdefault(contact.notification_id, []).append(contact)
    items = []
    for n in batch:
        try:
            body = NotificationBody.model_validate_json(bytes(bodies[n.pk]))
        except Exception:
            if settings.TESTING:
                raise
            logger.exception("person index: notification %s has no readable body", n.pk)
            _failed.add(n.pk)
            continue
        items.append((n, body, contacts.get(n.pk, [])))
    return items


def _index_batch(
    items: list[tuple[Notification, NotificationBody, list[Contact]]],
    now: dt.datetime,
    result: SweepResult,
) -> list[tuple[Notification, NotificationBody, list[Contact]]]:
    """Link a batch in one pass; if that fails, one notification at a time, so that one bad
    record leaves the others linked (it is left for `linkage run`). Returns what was linked."""
    try:
        with transaction.atomic():
            _notifications_index(items, now)
        return items
    except Exception:
        if settings.TESTING:
            raise
        logger.exception("person index: a batch of %d failed; one at a time", len(items))
    done = []
    for item in items:
        try:
            with transaction.atomic():
                _notifications_index([item], now)
            done.append(item)
        except Exception:
            logger.exception(
                "person index: notification %s not indexed; `safehub linkage run` will retry it",
                item[0].pk,
            )
            _failed.add(item[0].pk)
            result.failed += 1
    return done


def notifications_rerate(
    *, items: list[tuple[Notification, NotificationBody, list[Contact]]], now: dt.datetime
) -> int:
    """After the index linked these notifications' people (the sweep, or intake "inline"):
    triage them again with what the index now shows (their contacts' ratings only go up:
    referrals/triage.py `triage_rerate_indexed`). In the caller's transaction; a fault here
    leaves the ratings intake gave and the links made, and marks the notifications `RerateDue`
    for the sweep to try again (`rerate_due_retry`). Returns how many contacts were re-rated."""
    try:
        return _rerate(items, now)
    except Exception as exc:
        if settings.TESTING:
            raise
        logger.exception(
            "person index: contacts of %d notifications not re-rated after indexing; the sweep "
            "will try again",
            len(items),
        )
        RerateDue.objects.bulk_create(
            [
                RerateDue(notification=n, since=now, last_tried_at=now, last_error=_error_kind(exc))
                for n, _, _ in items
            ],
            ignore_conflicts=True,
        )
        return 0


def _rerate(
    items: list[tuple[Notification, NotificationBody, list[Contact]]], now: dt.datetime
) -> int:
    """`triage_rerate_indexed` for these notifications in a savepoint, raising what fails;
    returns how many contacts were re-rated."""
    # Referrals comes after people in the flow: imported here, when the sweep runs (as
    # people/history.py reads casework), so that importing people never imports referrals.
    from safehub.referrals.triage import triage_rerate_indexed

    with transaction.atomic():
        rerated = triage_rerate_indexed(items=[(n, body) for n, body, _ in items], now=now)
    return sum(len(refs) for refs in rerated.values())


def _error_kind(exc: BaseException) -> str:
    """What is kept of an error: its kind, never its message (which may quote the record)."""
    return f"{type(exc).__module__}.{type(exc).__qualname__}"[:200]


def rerate_due_retry(*, now: dt.datetime, batch_size: int) -> tuple[int, int]:
    """Triage again the notifications whose re-rate after indexing failed before `now`
    (`RerateDue`), the longest untried first, at most `batch_size`, each in its own savepoint so
    that one that still fails holds up none of the others (its mark stays, with one more attempt,
    and goes to the back of the queue). A mark whose notification was erased since is dropped.
    Returns (contacts re-rated, notifications still waiting to be re-rated)."""
    from safehub.intake.models import Notification

    with transaction.atomic():
        due = RerateDue.objects.filter(last_tried_at__lt=now).order_by("last_tried_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        marks = {m.notification_id: m for m in due[:batch_size]}
        if not marks:
            return 0, RerateDue.objects.count()
        notifications = list(
            Notification.objects.filter(pk__in=list(marks), erased_at__isnull=True).order_by(
                "received_at", "id"
            )
        )
        done = set(marks) - {n.pk for n in notifications}  # erased since
        rerated = 0
        for item in _items(notifications):
            try:
                rerated += _rerate([item], now)
                done.add(item[0].pk)
            except Exception as exc:
                logger.exception(
                    "person index: notification %s still not re-rated (try %d)",
                    item[0].pk,
                    marks[item[0].pk].attempts + 1,
                )
                marks[item[0].pk].last_error = _error_kind(exc)
        RerateDue.objects.filter(notification_id__in=done).delete()
        left = [m for key, m in marks.items() if key not in done]
        for mark in left:
            mark.attempts += 1
            mark.last_tried_at = now
        RerateDue.objects.bulk_update(left, ["attempts", "last_tried_at", "last_error"])
    return rerated, RerateDue.objects.count()


def _index_pending(
    *,
    now: dt.datetime,
    since: dt.datetime | None,
    batch_size: int,
    max_batches: int | None,
) -> SweepResult:
    result = SweepResult()
    while max_batches is None or result.batches < max_batches:
        with transaction.atomic():
            batch = _unindexed(since=since, batch_size=batch_size)
            if not batch:
                break
            result.batches += 1
            done = _index_batch(_items(batch), now, result)
            result.indexed += len(done)
            if done:
                result.rerated += notifications_rerate(items=done, now=now)
        if len(batch) < batch_size:
            break
    else:
        result.more = True
    rerated, result.rerate_due = rerate_due_retry(now=now, batch_size=batch_size)
    result.rerated += rerated
    return result


class PeopleIndexSweeper:
    """The worker's index sweep, every SAFEHUB_LINKAGE_SWEEP_SECONDS (`safehub worker` runs it
    in a thread beside the task worker). Its first sweep, and one an hour, look at every
    notification (what came while no worker ran, what a failure left); the others only at those
    received since the last sweep that found nothing more waiting, less a margin for intake
    transactions still open then, so that a quiet sweep costs one small indexed query however
    large the hub's history."""

    FULL_EVERY = dt.timedelta(hours=1)
    MARGIN = dt.timedelta(minutes=15)

    def __init__(self) -> None:
        self.since: dt.datetime | None = None
        self.last_full: dt.datetime | None = None

    def run(self, *, now: dt.datetime | None = None) -> SweepResult:
        from safehub.core import clock

        started = now or clock.now()
        full = self.last_full is None or started - self.last_full >= self.FULL_EVERY
        result = people_index_sweep(now=started, since=None if full else self.since)
        if full:
            self.last_full = started
        if not result.more:
            self.since = started - self.MARGIN
        return result


def people_index_sweep(
    *,
    now: dt.datetime | None = None,
    since: dt.datetime | None = None,
    batch_size: int | None = None,
    max_batches: int = SWEEP_MAX_BATCHES,
) -> SweepResult:
    """The worker's sweep (every SAFEHUB_LINKAGE_SWEEP_SECONDS): link the people of the
    notifications intake stored without indexing them (SAFEHUB_LINKAGE_AT_INTAKE = "worker"),
    oldest first, SAFEHUB_LINKAGE_SWEEP_BATCH at a time (one candidate query and one scoring pass
    per batch, each batch its own transaction), at most `max_batches` batches a sweep; then
    re-rate their contacts where the index shows more than intake saw, and try again the re-rates
    that failed before (`rerate_due_retry`). A notification is indexed
    once: one with records is never picked again. `since`: only notifications received since
    then (the worker's frequent sweeps; its first and hourly ones look at everything)."""
    from safehub.core import clock

    return _index_pending(
        now=now or clock.now(),
        since=since,
        batch_size=batch_size or settings.SAFEHUB_LINKAGE_SWEEP_BATCH,
        max_batches=max_batches,
    )


def notifications_unindexed(*, now: dt.datetime, batch_size: int = 200) -> int:
    """Index every notification whose people are not in the index (intake left them to the
    worker, linkage failed, or they came before the index existed), oldest first, in batches, as
    the sweep does (`safehub linkage run` starts with this; what failed before is tried again)."""
    _failed.clear()
    return _index_pending(now=now, since=None, batch_size=batch_size, max_batches=None).indexed


@dataclass
class Proposal:
    record_id: Any
    candidate: Any
    probability: float
    evidence: dict[str, Any]


def _lone_movable(record: SourceRecord, person_sizes: dict[Any, int]) -> bool:
    """A record the run may move by itself: the only record of a person the model made for it,
    a person nobody else refers to (no relationship, no merge)."""
    if record.link_method != LinkMethod.NEW or person_sizes.get(record.person_id) != 1:
        return False
    person = record.person_id
    related = Relationship.objects.filter(from_person_id=person).exists() or (
        Relationship.objects.filter(to_person_id=person).exists()
    )
    merged = Merge.objects.filter(kept_id=person).exists() or (
        Merge.objects.filter(merged_id=person).exists()
    )
    return not related and not merged


def _kept_apart_pairs(persons: set[Any]) -> set[frozenset[Any]]:
    """The pairs of people a worker kept apart, among reviews touching these people: a record
    kept apart from person P keeps its own person apart from P (and from the person P was merged
    into), whichever of the two `linkage run` would propose as the record (selectors.kept_apart,
    at the level of people)."""
    if not persons:
        return set()
    rows = LinkReview.objects.filter(
        Q(record__person_id__in=persons)
        | Q(candidate_id__in=persons)
        | Q(candidate__merged_into_id__in=persons),
        status=ReviewStatus.KEPT_APART,
    ).values_list("record__person_id", "candidate_id", "candidate__merged_into_id")
    return {
        frozenset((mine, other))
        for mine, candidate, merged_into in rows
        for other in (candidate, merged_into)
        if other is not None and other != mine
    }


def index_relink_apply(
    *,
    proposals: list[Proposal],
    clusters: dict[str, str],
    now: dt.datetime,
    actor: str,
    model_version: int,
) -> tuple[int, int]:
    """What `linkage run` does with its findings (docs/linkage.md, "linkage run"): each proposal
    (a record and another person it scores at or above the review band with) becomes an open
    review (origin "run"), unless one is open already or a person kept the two apart. It links
    by itself only when the new and the existing evidence agree above the auto-link band: the
    record is alone (the only record of a person the model made for it, with no relationships
    and no merges), the run's best pair with the other person is at or above the band, every
    record of that person was linked at or above the band (or is its first), and the clusters
    at the band put the record with that person's records and no one else's. The person left
    with no record is kept (reviews may name them). Returns (reviews opened, records linked)."""
    limits = bands()
    record_ids = {p.record_id for p in proposals}
    candidates = {p.candidate for p in proposals}
    records = {r.pk: r for r in SourceRecord.objects.filter(pk__in=record_ids)}
    involved = SourceRecord.objects.filter(
        person_id__in=candidates | {r.person_id for r in records.values()}
    ).values_list("id", "person_id", "link_method", "match_probability")
    person_records: dict[Any, list[tuple[Any, str, float | None]]] = {}
    for rid, pid, method, prob in involved:
        person_records.setdefault(pid, []).append((rid, method, prob))
    sizes = {pid: len(rs) for pid, rs in person_records.items()}
    decided = set(
        LinkReview.objects.filter(
            record_id__in=record_ids, status__in=[ReviewStatus.OPEN, ReviewStatus.KEPT_APART]
        ).values_list("record_id", "candidate_id")
    )
    apart = _kept_apart_pairs(candidates | {r.person_id for r in records.values()})
    cluster_sizes: dict[str, int] = {}
    for cluster_id in clusters.values():
        cluster_sizes[cluster_id] = cluster_sizes.get(cluster_id, 0) + 1
    opened, moved = [], 0
    with transaction.atomic():
        for proposal in proposals:
            record = records.get(proposal.record_id)
            if record is None or record.person_id == proposal.candidate:
                continue
            if (record.pk, proposal.candidate) in decided or (
                frozenset((record.person_id, proposal.candidate)) in apart
            ):
                continue
            theirs = person_records.get(proposal.candidate, [])
            cluster = clusters.get(str(record.pk))
            agrees = (
                proposal.probability >= limits.auto_link
                and theirs
                and all(
                    m == LinkMethod.NEW or (p is not None and p >= limits.auto_link)
                    for _, m, p in theirs
                )
                and cluster is not None
                and all(clusters.get(str(rid)) == cluster for rid, _, _ in theirs)
                and cluster_sizes.get(cluster) == len(theirs) + 1
                and _lone_movable(record, sizes)
            )
            if agrees:
                empty = record.person_id
                record.person_id = proposal.candidate
                record.link_method = LinkMethod.AUTO
                record.match_probability = proposal.probability
                record.match_evidence = proposal.evidence
                record.model_version = model_version
                record.linked_at = now
                record.save(
                    update_fields=[
                        "person",
                        "link_method",
                        "match_probability",
                        "match_evidence",
                        "model_version",
                        "linked_at",
                    ]
                )
                LinkReview.objects.filter(record=record, status=ReviewStatus.OPEN).update(
                    status=ReviewStatus.SUPERSEDED,
                    decided_at=now,
                    reason="Linked by `safehub linkage run`: new and existing evidence agree.",
                )
                LinkReview.objects.filter(candidate_id=empty, status=ReviewStatus.OPEN).update(
                    status=ReviewStatus.SUPERSEDED,
                    decided_at=now,
                    reason="The person's only record was linked to another by `linkage run`.",
                )
                sizes[proposal.candidate] = sizes.get(proposal.candidate, 0) + 1
                sizes[empty] = 0
                moved += 1
                continue
            if proposal.probability < limits.review:
                continue
            opened.append(
                LinkReview(
                    record=record,
                    candidate_id=proposal.candidate,
                    match_probability=proposal.probability,
                    match_evidence=proposal.evidence,
                    model_version=model_version,
                    origin="run",
                    created_at=now,
                )
            )
            decided.add((record.pk, proposal.candidate))
        LinkReview.objects.bulk_create(opened)
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            object_type="people.PersonIndex",
            object_id="run",
            detail={"reviews_opened": len(opened), "records_linked": moved},
        )
    return len(opened), moved


@dataclass
class ExportedIndex:
    """The index as model rows (`table`, an Arrow table of `model.SCHEMA` whose unique_id is each
    record's position), and by position each record's id, person and (source, source_ref)."""

    table: Any
    ids: list[Any]
    persons: list[Any]
    refs: list[tuple[str, str]]


def index_export(
    *, batch_size: int, progress: Callable[[int], None] | None = None
) -> ExportedIndex:
    """Every record of the index as its model row (but those the retention job emptied),
    `batch_size` at a time in key order.

    Read with plain SQL (no model instance a record) and decrypted here; the stored features are
    JSON, parsed into columns by DuckDB (`json_transform`) rather than one Python dict a record.
    A record stored before features were kept has its row worked out from its values."""
    import duckdb
    import pyarrow as pa

    from safehub.core import crypto
    from safehub.people import model as linkage_model

    table = connection.ops.quote_name(SourceRecord._meta.db_table)
    columns = "id, person_id, source, source_ref, features"
    postgres = connection.vendor == "postgresql"

    def key(value: Any) -> Any:  # SQLite gives UUIDs as hex text
        return value if postgres or value is None else uuid.UUID(value)

    ids: list[Any] = []
    persons: list[Any] = []
    refs: list[tuple[str, str]] = []
    parts = []
    last = None
    while True:
        with connection.cursor() as cursor:
            if last is None:
                cursor.execute(
                    f"SELECT {columns} FROM {table} WHERE erased_at IS NULL "  # noqa: S608
                    "ORDER BY id LIMIT %s",
                    [batch_size],
                )
            else:
                cursor.execute(
                    f"SELECT {columns} FROM {table} WHERE erased_at IS NULL "  # noqa: S608
                    "AND id > %s ORDER BY id LIMIT %s",
                    [last, batch_size],
                )
            batch = cursor.fetchall()
        if not batch:
            break
        last = batch[-1][0]
        uids, sources, texts = [], [], []
        missing: dict[Any, int] = {}
        for rid, pid, source, ref, token in batch:
            position = len(ids)
            ids.append(key(rid))
            persons.append(key(pid))
            refs.append((source, ref))
            text = crypto.decrypt(token.encode("ascii"), what="people.SourceRecord.features")
            uids.append(str(position))
            sources.append(source)
            texts.append(text.decode("utf-8"))
            if text == b"{}":
                missing[ids[-1]] = len(texts) - 1
        if missing:
            for rid, row in stored_rows(list(missing)).items():
                texts[missing[rid]] = json.dumps(row, default=str)
        parts.append(pa.table({"uid": uids, "source": sources, "j": texts}))
        if progress:
            progress(len(batch))
    if not parts:
        return ExportedIndex(pa.Table.from_pylist([], schema=linkage_model.SCHEMA), [], [], [])
    types = {pa.string(): "VARCHAR", pa.int32(): "INTEGER", pa.bool_(): "BOOLEAN"}
    shape = {
        f.name: ["VARCHAR"] if pa.types.is_list(f.type) else types[f.type]
        for f in linkage_model.SCHEMA
        if f.name not in ("unique_id", "source")
    }
    con = duckdb.connect()
    try:
        con.register("raw", pa.concat_tables(parts))
        del parts
        picked = ", ".join(f't."{name}"' for name in shape)
        rows = con.sql(
            f"SELECT uid AS unique_id, source, {picked} FROM "  # noqa: S608 (the schema's names)
            f"(SELECT uid, source, json_transform(j, '{json.dumps(shape)}') AS t FROM raw)"
        ).to_arrow_table()
    finally:
        con.close()
    return ExportedIndex(rows.cast(linkage_model.SCHEMA), ids, persons, refs)


def predict_cluster(
    table: Any,
    splink_settings: dict[str, Any],
    *,
    review: float,
    auto_link: float,
    backend: str = "duckdb",
    spark_master: str | None = None,
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Splink's predict over model rows (an Arrow table of `model.SCHEMA`) with a stored model's
    settings and today's blocking rules: the pairs at or above `review` as (unique_id_l,
    unique_id_r), and each record's cluster at `auto_link` (unique_id -> cluster_id)."""
    from splink import DuckDBAPI, Linker

    from safehub.people import model as linkage_model

    if backend == "spark":
        from safehub.people.spark import spark_predict_cluster

        return spark_predict_cluster(
            table, splink_settings, review=review, auto_link=auto_link, master=spark_master
        )
    if backend != "duckdb":
        raise ValueError(f"backend: duckdb or spark, not {backend}")
    db_api = DuckDBAPI()
    con = db_api.duckdb_con
    # Within a memory budget (DuckDB spills what does not fit to a temporary folder), so that a
    # national index re-links on a machine that also serves the hub.
    con.execute(f"SET memory_limit = '{int(settings.SAFEHUB_LINKAGE_RUN_MEMORY_MB)}MB'")
    con.execute("SET preserve_insertion_order = false")
    con.register("safehub_people", table)
    blocked = linkage_model.with_block_flags(con, "safehub_people")
    con.unregister("safehub_people")
    linker = Linker(
        db_api.register(blocked, dataset_display_name="people"),
        linkage_model.prediction_settings(splink_settings),
        log_level=None,
    )
    predictions = linker.inference.predict(threshold_match_probability=review, warning_mode="never")
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=auto_link
    )
    clusters = {
        str(uid): str(cid)
        for uid, cid in con.execute(
            f"SELECT unique_id, cluster_id FROM {clustered.physical_name}"  # noqa: S608
        ).fetchall()
    }
    pairs = [
        (str(a), str(b))
        for a, b in con.execute(
            f"SELECT unique_id_l, unique_id_r FROM {predictions.physical_name}"  # noqa: S608
        ).fetchall()
    ]
    con.close()
    return pairs, clusters


def index_relink(
    *,
    batch_size: int,
    now: dt.datetime,
    actor: str,
    progress: Callable[[str, int, int | None], None] | None = None,
    backend: str = "duckdb",
    spark_master: str | None = None,
    rehash: bool = False,
) -> RunResult:
    """`safehub linkage run`: index what is missing, rehash, predict every pair of the index with
    Splink (DuckDB, or Spark with `backend="spark"`) and the active model, cluster at the
    auto-link band, and propose what differs from the current links (`index_relink_apply`)."""
    import time

    def tick(stage: str, done: int, total: int | None = None) -> None:
        if progress:
            progress(stage, done, total)

    result = RunResult()
    start = time.perf_counter()
    result.indexed = notifications_unindexed(now=now)
    total = SourceRecord.objects.filter(erased_at__isnull=True).count()
    result.records = total
    tick("rehash", 0, total)
    rehashed = records_rehash(
        batch_size=batch_size, force=rehash, progress=lambda n: tick("rehash", n)
    )
    result.rehash_checked = rehashed is None
    result.rehashed = rehashed or 0
    result.seconds["rehash"] = round(time.perf_counter() - start, 2)

    start = time.perf_counter()
    scoring = active_model()
    limits = bands()
    tick("export", 0, total)
    exported = index_export(batch_size=batch_size, progress=lambda n: tick("export", n))
    # Each record by its position in the export (its Splink unique_id).
    id_of, person_of, ref_of = exported.ids, exported.persons, exported.refs
    if len(id_of) < 2:
        result.seconds["predict"] = round(time.perf_counter() - start, 2)
        return result
    result.seconds["export"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    tick("predict", 0, None)
    pairs, clusters = predict_cluster(
        exported.table,
        scoring.document["splink_settings"],
        review=limits.review,
        auto_link=limits.auto_link,
        backend=backend,
        spark_master=spark_master,
    )
    del exported
    result.clusters = {ref_of[int(uid)]: cluster for uid, cluster in clusters.items()}
    del ref_of
    result.pairs = len(pairs)
    result.seconds["predict"] = round(time.perf_counter() - start, 2)

    start = time.perf_counter()
    # Pairs across two people, the best pair of each two people; the record proposed is the one
    # of the smaller person (the later one on a tie), the candidate the other person.
    sizes: dict[Any, int] = {}
    for pid in person_of:
        sizes[pid] = sizes.get(pid, 0) + 1
    across = [(int(a), int(b)) for a, b in pairs if person_of[int(a)] != person_of[int(b)]]
    del pairs
    tick("propose", 0, len(across))
    rows_of = stored_rows({id_of[x] for pair in across for x in pair})
    best: dict[tuple[Any, Any], Proposal] = {}
    for offset in range(0, len(across), batch_size):
        chunk = across[offset : offset + batch_size]
        scores = scoring.score([(rows_of[id_of[a]], rows_of[id_of[b]]) for a, b in chunk])
        for (a, b), score in zip(chunk, scores, strict=True):
            pa_, pb = person_of[a], person_of[b]
            # The record of the smaller person against the other person; its pair's other
            # record named in the evidence.
            mine, other, candidate = (a, b, pb) if sizes[pa_] <= sizes[pb] else (b, a, pa_)
            key = (pa_, pb) if str(pa_) < str(pb) else (pb, pa_)
            if key not in best or score.probability > best[key].probability:
                best[key] = Proposal(
                    record_id=id_of[mine],
                    candidate=candidate,
                    probability=score.probability,
                    evidence={**score.evidence, "record": str(id_of[other])},
                )
        tick("propose", len(chunk))
    result.proposed, result.linked = index_relink_apply(
        proposals=sorted(best.values(), key=lambda p: -p.probability),
        clusters={str(id_of[int(uid)]): cluster for uid, cluster in clusters.items()},
        now=now,
        actor=actor,
        model_version=scoring.version,
    )
    result.seconds["propose"] = round(time.perf_counter() - start, 2)
    return result
