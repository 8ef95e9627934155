"""Clerical review, merge and unmerge: the person index's writes that a person makes.

Each is one transaction, checks the actor's permission first (`person.review` to decide a review,
`person.merge` to merge or undo one), locks the rows it changes, refuses with the field at fault
before it writes anything, and writes one audit event with what it did. Nothing here is ever
called by the matching code: below the auto-link band a record joins a person only through
`review_link` (or a merge) by someone allowed to.

Merges are undoable exactly. A `Merge` row keeps, for every record it moved, the record's link
fields before and after (`records`: `[{"id", "before", "after"}]`), and for every relationship it
re-pointed, which side (`relationships`: `[{"id", "from", "to"}]`); `person_unmerge` puts back
exactly those, and refuses, naming them, when any is no longer where the merge left it.

Linking a review's record leaves its old person with no record when the record was their only one
(the usual case: intake made a new person for a record it was unsure of). That person is not
deleted: they are merged into the candidate by a `Merge` row like any other, so the audit trail
and any reference to them (relationships, other reviews, audit events) keep pointing somewhere
true, and the link can be undone on the person page like any merge.
"""

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q

from safehub.accounts.models import User
from safehub.accounts.permissions import require
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core import clock
from safehub.core.errors import Conflict, DomainError, NotFound
from safehub.people.models import (
    LinkMethod,
    LinkReview,
    Merge,
    Person,
    Relationship,
    ReviewStatus,
    SourceRecord,
)

LINK_FIELDS = (
    "link_method",
    "match_probability",
    "match_evidence",
    "model_version",
    "linked_at",
    "linked_by_id",
)
REASON_MAX = 2000


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise DomainError("reason: say why, for the record")
    if len(text) > REASON_MAX:
        raise DomainError(f"reason: at most {REASON_MAX} characters")
    return text


def _when(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(clock.LONDON)
    return f"{local.day} {local:%B %Y} at {local:%H:%M}"


def _link_state(record: SourceRecord) -> dict[str, Any]:
    """The record's link fields as JSON (the Merge row keeps them to undo exactly)."""
    return {
        "person": str(record.person_id),
        "link_method": record.link_method,
        "match_probability": record.match_probability,
        "match_evidence": record.match_evidence,
        "model_version": record.model_version,
        "linked_at": record.linked_at.isoformat() if record.linked_at else None,
        "linked_by_id": record.linked_by_id,
    }


def _same_state(now: dict[str, Any], then: dict[str, Any]) -> bool:
    """Whether two link states are the same (times compared as instants, not as text)."""

    def instant(state: dict[str, Any]) -> dict[str, Any]:
        when = state.get("linked_at")
        return {**state, "linked_at": dt.datetime.fromisoformat(when) if when else None}

    return instant(now) == instant(then)


def _apply_link_state(record: SourceRecord, state: dict[str, Any]) -> None:
    record.person_id = state["person"]
    record.link_method = state["link_method"]
    record.match_probability = state["match_probability"]
    record.match_evidence = state["match_evidence"]
    record.model_version = state["model_version"]
    record.linked_at = dt.datetime.fromisoformat(state["linked_at"])
    record.linked_by_id = state["linked_by_id"]


def _lock_people(*people: Person) -> dict[Any, Person]:
    """The people, locked, in one order (their ids) so that two merges cannot deadlock."""
    ids = sorted({p.pk for p in people}, key=str)
    locked = {p.pk: p for p in Person.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    if len(locked) != len(ids):
        raise NotFound("No such person.")
    return locked


def _chain_check(kept: Person, merged: Person) -> None:
    """Merges never chain: the person merged is not merged already, and the person kept is not
    merged into anyone. (People merged earlier into the person merged are merged into the person
    kept instead: `_absorbed`.)"""
    if kept.pk == merged.pk:
        raise DomainError("merged: a person cannot be merged into themselves")
    if merged.merged_into_id is not None:
        raise Conflict(
            f"merged: {merged.reference} is already merged into "
            f"P-{merged.merged_into_id.hex[:8].upper()}",
            code="illegal_transition",
        )
    if kept.merged_into_id is not None:
        raise Conflict(
            f"kept: {kept.reference} is merged into P-{kept.merged_into_id.hex[:8].upper()}: "
            "merge into that person instead",
            code="illegal_transition",
        )


def _absorbed(kept: Person, merged: Person) -> list[str]:
    """The people merged earlier into `merged`, now merged into `kept` directly, so that no
    person is merged into a merged person. Which they are needs no keeping: they are the people
    of `merged`'s merges not undone, and an unmerge gives them back to `merged`."""
    behind = list(
        Person.objects.select_for_update().filter(merged_into=merged).values_list("pk", flat=True)
    )
    Person.objects.filter(pk__in=behind).update(merged_into=kept)
    return [str(pk) for pk in behind]


def _given_back(merge: Merge) -> list[str]:
    """The people `_absorbed` took from the merged person when this merge was made: those of its
    merges not undone, still merged into the person kept."""
    earlier = Merge.objects.filter(kept=merge.merged, undone_at__isnull=True).values("merged")
    behind = list(
        Person.objects.select_for_update()
        .filter(pk__in=earlier, merged_into=merge.kept)
        .values_list("pk", flat=True)
    )
    Person.objects.filter(pk__in=behind).update(merged_into=merge.merged)
    return [str(pk) for pk in behind]


def _repoint_plan(
    relationships: Iterable[Relationship], old: Person, new: Person, field: str
) -> list[dict[str, Any]]:
    """Which sides of these relationships move from `old` to `new`; refuses a move that would
    relate the person to themselves or duplicate a relationship. `field` names the service's
    argument for the message."""
    plan = []
    for rel in relationships:
        moves_from = rel.from_person_id == old.pk
        moves_to = rel.to_person_id == old.pk
        if not (moves_from or moves_to):
            continue
        after_from = new.pk if moves_from else rel.from_person_id
        after_to = new.pk if moves_to else rel.to_person_id
        if after_from == after_to and not (moves_from and moves_to):
            raise DomainError(
                f"{field}: {rel.record} says {rel.from_person.reference} is the "
                f"{rel.get_kind_display().lower()} of {rel.to_person.reference}: they are "
                f"recorded as two people, so {old.reference} cannot become {new.reference}"
            )
        clash = Relationship.objects.filter(
            from_person_id=after_from, to_person_id=after_to, kind=rel.kind, record_id=rel.record_id
        ).exclude(pk=rel.pk)
        if clash.exists():
            raise DomainError(
                f"{field}: {rel.record} would state the same relationship twice "
                f"({rel.get_kind_display().lower()}); ask an administrator to remove one first"
            )
        plan.append({"id": rel.pk, "from": moves_from, "to": moves_to})
    return plan


def _repoint(plan: list[dict[str, Any]], new: Person) -> None:
    for step in plan:
        changes: dict[str, Any] = {}
        if step["from"]:
            changes["from_person"] = new
        if step["to"]:
            changes["to_person"] = new
        Relationship.objects.filter(pk=step["id"]).update(**changes)


def _move_records(
    records: list[SourceRecord], to: Person, after: dict[str, Any]
) -> list[dict[str, Any]]:
    moved = []
    for record in records:
        before = _link_state(record)
        record.person = to
        for name, value in after.items():
            setattr(record, name, value)
        record.save(update_fields=["person", *after.keys()])
        moved.append({"id": str(record.pk), "before": before, "after": _link_state(record)})
    return moved


def _record_merge(
    *,
    kept: Person,
    merged: Person,
    moved: list[dict[str, Any]],
    plan: list[dict[str, Any]],
    reason: str,
    by: User,
    now: dt.datetime,
) -> Merge:
    merged.merged_into = kept
    merged.save(update_fields=["merged_into"])
    return Merge.objects.create(
        kept=kept,
        merged=merged,
        records=moved,
        relationships=plan,
        reason=reason,
        at=now,
        by=by,
    )


# --- Review -----------------------------------------------------------------------------------


def _lock_review(review: LinkReview) -> LinkReview:
    locked = (
        LinkReview.objects.select_for_update()
        .select_related("record", "candidate")
        .filter(pk=review.pk)
        .first()
    )
    if locked is None:
        raise NotFound("No such review.")
    return locked


def _decided(review: LinkReview) -> Conflict:
    who = review.decided_by.display_name if review.decided_by else "the system"
    return Conflict(
        f"status: this review was already decided ({review.get_status_display().lower()}) by "
        f"{who} on {_when(review.decided_at)}",
        code="illegal_transition",
    )


def review_link(*, review: LinkReview, by: User, reason: str) -> LinkReview:
    """The person decided that the review's record is the candidate: the record joins them, with
    the review's probability and evidence, `link_method` "review" and who linked it.

    If the candidate has since been merged into another person, the record joins that person
    (the candidate's records are theirs now). Relationships that the record's own source stated
    about the record's old person follow the record. If the old person is left with no record,
    they are merged into the candidate (a `Merge` row, undoable). Every other open review of the
    record no longer applies ("superseded"). Linking again a review already linked is a no-op."""
    require(by, "person.review")
    text = _reason(reason)
    now = clock.now()
    with transaction.atomic():
        locked = _lock_review(review)
        if locked.status == ReviewStatus.LINKED:
            return locked
        if locked.status != ReviewStatus.OPEN:
            raise _decided(locked)
        record = SourceRecord.objects.select_for_update().get(pk=locked.record_id)
        candidate = Person.objects.get(pk=locked.candidate_id)
        target = candidate
        if candidate.merged_into_id is not None:
            target = Person.objects.get(pk=candidate.merged_into_id)
        people = _lock_people(target, record.person)
        target, old = people[target.pk], people[record.person_id]
        if target.merged_into_id is not None:  # never: merges do not chain
            raise Conflict(f"candidate: {target.reference} is merged", code="illegal_transition")

        merge = None
        moved: list[dict[str, Any]] = []
        plan: list[dict[str, Any]] = []
        if old.pk != target.pk:
            others = SourceRecord.objects.filter(person=old).exclude(pk=record.pk)
            emptied = not others.exists()
            followers: Iterable[Relationship]
            if emptied:
                # The whole of the old person becomes the candidate: like a merge.
                followers = Relationship.objects.filter(
                    Q(from_person=old) | Q(to_person=old)
                ).select_related("from_person", "to_person", "record")
            else:
                followers = _said_by_the_same_source(record, old, others)
            plan = _repoint_plan(followers, old, target, "record")
            moved = _move_records(
                [record],
                target,
                {
                    "link_method": LinkMethod.REVIEW,
                    "match_probability": locked.match_probability,
                    "match_evidence": locked.match_evidence,
                    "model_version": locked.model_version,
                    "linked_at": now,
                    "linked_by": by,
                },
            )
            _repoint(plan, target)
            if emptied:
                _absorbed(target, old)
                merge = _record_merge(
                    kept=target, merged=old, moved=moved, plan=plan, reason=text, by=by, now=now
                )

        locked.status = ReviewStatus.LINKED
        locked.decided_at, locked.decided_by, locked.reason = now, by, text
        locked.save(update_fields=["status", "decided_at", "decided_by", "reason"])
        superseded = list(
            LinkReview.objects.filter(record=record, status=ReviewStatus.OPEN)
            .exclude(pk=locked.pk)
            .values_list("pk", flat=True)
        )
        LinkReview.objects.filter(pk__in=superseded).update(
            status=ReviewStatus.SUPERSEDED,
            decided_at=now,
            decided_by=by,
            reason=f"Another review linked the record to {target.reference}.",
        )
        audit_record(
            actor=by,
            action=Action.UPDATE,
            obj=locked,
            detail={
                "decision": "linked",
                "record": str(record.pk),
                "from_person": str(old.pk),
                "to_person": str(target.pk),
                "candidate": str(candidate.pk),
                "match_probability": locked.match_probability,
                "already_linked": old.pk == target.pk,
                "relationships": plan,
                "merge": merge.pk if merge else None,
                "superseded": superseded,
                "reason": text,
            },
        )
    return locked


def _said_by_the_same_source(record: SourceRecord, old: Person, others: Any) -> list[Relationship]:
    """The old person's relationships that the record's own source stated (the same notification
    or contact, or the record itself): they are about the person the record is. When the old
    person keeps another record of that same source, which of the two a relationship is about
    cannot be told, and it stays."""
    same = Q(record=record)
    if record.notification_id is not None:
        same |= Q(record__notification_id=record.notification_id)
        if others.filter(notification_id=record.notification_id).exists():
            return []
    elif record.contact_id is not None:
        same |= Q(record__contact_id=record.contact_id)
        if others.filter(contact_id=record.contact_id).exists():
            return []
    return list(
        Relationship.objects.filter(same)
        .filter(Q(from_person=old) | Q(to_person=old))
        .select_related("from_person", "to_person", "record")
    )


def review_keep_apart(*, review: LinkReview, by: User, reason: str) -> LinkReview:
    """The person decided that the record is not the candidate. The pair is not proposed again:
    the matching code asks `selectors.kept_apart(record_id, person_id)` before it links or opens a
    review. Keeping apart again a review already kept apart is a no-op."""
    require(by, "person.review")
    text = _reason(reason)
    now = clock.now()
    with transaction.atomic():
        locked = _lock_review(review)
        if locked.status == ReviewStatus.KEPT_APART:
            return locked
        if locked.status != ReviewStatus.OPEN:
            raise _decided(locked)
        locked.status = ReviewStatus.KEPT_APART
        locked.decided_at, locked.decided_by, locked.reason = now, by, text
        locked.save(update_fields=["status", "decided_at", "decided_by", "reason"])
        audit_record(
            actor=by,
            action=Action.UPDATE,
            obj=locked,
            detail={
                "decision": "kept_apart",
                "record": str(locked.record_id),
                "candidate": str(locked.candidate_id),
                "match_probability": locked.match_probability,
                "reason": text,
            },
        )
    return locked


# --- Merge and unmerge --------------------------------------------------------------------------


def person_merge(*, kept: Person, merged: Person, by: User, reason: str) -> Merge:
    """`merged` is found to be `kept`: every record of `merged` moves to `kept` (link method
    "merge"), every relationship naming `merged` names `kept`, and `merged` is marked merged into
    `kept`. The `Merge` row says exactly what moved, so that `person_unmerge` can put it back.

    Refused: merging a person into themselves; a person already merged; into a person who is
    merged; a person others are merged into (merges do not chain); two people a relationship says
    are two (one the parent of the other)."""
    require(by, "person.merge")
    text = _reason(reason)
    now = clock.now()
    with transaction.atomic():
        if kept.pk == merged.pk:
            raise DomainError("merged: a person cannot be merged into themselves")
        people = _lock_people(kept, merged)
        kept, merged = people[kept.pk], people[merged.pk]
        _chain_check(kept, merged)
        records = list(
            SourceRecord.objects.select_for_update().filter(person=merged).order_by("seen_at", "pk")
        )
        relationships = Relationship.objects.filter(
            Q(from_person=merged) | Q(to_person=merged)
        ).select_related("from_person", "to_person", "record")
        plan = _repoint_plan(relationships, merged, kept, "merged")
        moved = _move_records(
            records,
            kept,
            {
                "link_method": LinkMethod.MERGE,
                "match_probability": None,
                "match_evidence": {},
                "model_version": None,
                "linked_at": now,
                "linked_by": by,
            },
        )
        _repoint(plan, kept)
        absorbed = _absorbed(kept, merged)
        merge = _record_merge(
            kept=kept, merged=merged, moved=moved, plan=plan, reason=text, by=by, now=now
        )
        audit_record(
            actor=by,
            action=Action.CREATE,
            obj=merge,
            detail={
                "act": "merge",
                "kept": str(kept.pk),
                "merged": str(merged.pk),
                "records": [m["id"] for m in moved],
                "relationships": plan,
                "people_merged_earlier": absorbed,
                "reason": text,
            },
        )
    return merge


def person_unmerge(*, merge: Merge, by: User, reason: str) -> Merge:
    """Undo a merge exactly: the records it moved go back to the merged person with the link
    fields they had before, the relationships it re-pointed point back, and the merged person is
    no longer merged. Refused, naming what stands in the way, when a later change means the undo
    could not be exact: a record moved or linked again since, a relationship changed or gone, or
    the merge already undone."""
    require(by, "person.merge")
    text = _reason(reason)
    now = clock.now()
    with transaction.atomic():
        locked = Merge.objects.select_for_update().filter(pk=merge.pk).first()
        if locked is None:
            raise NotFound("No such merge.")
        if locked.undone_at is not None:
            who = locked.undone_by.display_name if locked.undone_by else "someone"
            raise Conflict(
                f"merge: already undone by {who} on {_when(locked.undone_at)}",
                code="illegal_transition",
            )
        people = _lock_people(locked.kept, locked.merged)
        kept, merged = people[locked.kept_id], people[locked.merged_id]
        if kept.merged_into_id is not None:
            raise Conflict(
                f"kept: {kept.reference} has since been merged into "
                f"P-{kept.merged_into_id.hex[:8].upper()}: undo that merge first",
                code="illegal_transition",
            )
        if merged.merged_into_id != kept.pk:
            raise Conflict(
                f"merged: {merged.reference} is no longer merged into {kept.reference}",
                code="illegal_transition",
            )
        entries = {entry["id"]: entry for entry in locked.records}
        records = {
            str(r.pk): r
            for r in SourceRecord.objects.select_for_update().filter(pk__in=list(entries))
        }
        problems = []
        for record_id, entry in entries.items():
            record = records.get(record_id)
            if record is None:
                problems.append(f"record {record_id} no longer exists")
            elif not _same_state(_link_state(record), entry["after"]):
                problems.append(f"{record} {_since(record, kept)}")
        rel_steps = {step["id"]: step for step in locked.relationships}
        rels = {
            r.pk: r
            for r in Relationship.objects.select_for_update()
            .filter(pk__in=list(rel_steps))
            .select_related("record")
        }
        for rel_id, step in rel_steps.items():
            rel = rels.get(rel_id)
            if rel is None:
                problems.append(f"relationship {rel_id} no longer exists")
            elif (step["from"] and rel.from_person_id != kept.pk) or (
                step["to"] and rel.to_person_id != kept.pk
            ):
                problems.append(
                    f"the {rel.get_kind_display().lower()} relationship stated by "
                    f"{rel.record} no longer names {kept.reference}"
                )
        if problems:
            raise Conflict(
                "records: the merge cannot be undone exactly, because since the merge "
                + "; ".join(problems),
                code="not_exact",
            )
        for record_id, entry in entries.items():
            record = records[record_id]
            _apply_link_state(record, entry["before"])
            record.save(update_fields=["person", *LINK_FIELDS])
        for rel_id, step in rel_steps.items():
            changes: dict[str, Any] = {}
            if step["from"]:
                changes["from_person"] = merged
            if step["to"]:
                changes["to_person"] = merged
            Relationship.objects.filter(pk=rel_id).update(**changes)
        merged.merged_into = None
        merged.save(update_fields=["merged_into"])
        given_back = _given_back(locked)
        locked.undone_at, locked.undone_by, locked.undo_reason = now, by, text
        locked.save(update_fields=["undone_at", "undone_by", "undo_reason"])
        audit_record(
            actor=by,
            action=Action.UPDATE,
            obj=locked,
            detail={
                "act": "unmerge",
                "kept": str(kept.pk),
                "merged": str(merged.pk),
                "records": list(entries),
                "relationships": list(rel_steps),
                "people_merged_earlier": given_back,
                "reason": text,
            },
        )
    return locked


def _since(record: SourceRecord, kept: Person) -> str:
    if record.person_id != kept.pk:
        return f"was moved to P-{record.person_id.hex[:8].upper()}"
    return f"was linked again ({record.get_link_method_display().lower()})"
