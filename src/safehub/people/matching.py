"""Real-time matching: one new person record against the person index, in process.

A record's candidates come from the database by the blocking keys (`candidates_fetch`: one query,
an OR of indexed equalities, `people/model.py` BLOCKING_KEYS and BROAD_KEYS, then the chosen
records' values); each candidate pair is scored with
the active trained model (`active_model`): the level of every comparison is found by Splink's own
SQL for it, run by an in-process DuckDB over the pairs (no Splink linker is built per record), and
the match weight is the sum of the levels' weights (log2 m/u), the term-frequency adjustments and
the prior, as Splink's `predict` computes it. The result is the same number Splink gives for the
same pair (a test pins it to 1e-6).

The bands (`bands`, settings `SAFEHUB_LINKAGE_AUTO_LINK` and `SAFEHUB_LINKAGE_REVIEW`) turn a
probability into what happens: auto-link, clerical review, new person. `evidence_words` says in
words what the evidence of a link was.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import operator
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "data" / "default_model.json"
# The version recorded on links made by the model shipped with safehub (no LinkageModel row yet).
DEFAULT_MODEL_VERSION = 0

logger = logging.getLogger(__name__)


def _linkage_model() -> Any:
    """people/model.py, imported when first needed: it imports Splink, which intake's importers
    (the web server, every command) should not pay for until a record is matched."""
    from safehub.people import model

    return model


# --- Bands -------------------------------------------------------------------------------------


class Band:
    AUTO = "auto"
    REVIEW = "review"
    NEW = "new"


@dataclass(frozen=True)
class Bands:
    auto_link: float
    review: float

    def band(self, probability: float | None) -> str:
        if probability is not None and probability >= self.auto_link:
            return Band.AUTO
        if probability is not None and probability >= self.review:
            return Band.REVIEW
        return Band.NEW


def bands() -> Bands:
    return Bands(
        auto_link=float(settings.SAFEHUB_LINKAGE_AUTO_LINK),
        review=float(settings.SAFEHUB_LINKAGE_REVIEW),
    )


# --- The scoring model --------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    label: str
    weight: float
    is_null: bool
    tf_column: str | None = None
    tf_weight: float = 0.0
    tf_log2_u_exact: float = 0.0
    tf_minimum: float = 0.0


@dataclass(frozen=True)
class Comparison:
    name: str
    description: str
    levels: dict[int, Level]


@dataclass
class Score:
    probability: float
    match_weight: float
    evidence: dict[str, Any]


def weight_to_probability(weight: float) -> float:
    if weight > 1000:
        return 1.0
    odds = 2.0**weight
    return odds / (1.0 + odds)


class TermFrequencies:
    """The share of records holding each value of a column, as training found it: values seen
    once are not stored and take `default` (1 / the records with a value), as Splink would
    compute for them."""

    def __init__(self, table: dict[str, Any] | None) -> None:
        table = table or {}
        self.values: dict[str, float] = table.get("values", {})
        self.default: float | None = table.get("default")

    def get(self, value: Any) -> float | None:
        if value is None:
            return None
        return self.values.get(str(value), self.default)


class ScoringModel:
    """A model document (`safehub linkage train`) made ready to score pairs in process."""

    def __init__(self, document: dict[str, Any], *, version: int) -> None:
        import pyarrow as pa
        from splink import SettingsCreator

        linkage_model = _linkage_model()
        self.version = version
        self.document = document
        splink_settings = SettingsCreator.from_path_or_dict(
            document["splink_settings"]
        ).get_settings("duckdb")
        self.prior_weight = linkage_model.probability_to_weight(
            splink_settings._probability_two_random_records_match
        )
        self.comparisons: list[Comparison] = []
        cases = []
        for comparison in splink_settings.comparisons:
            levels = {}
            for lv in comparison.comparison_levels:
                level = Level(
                    label=lv.label_for_charts,
                    weight=0.0 if lv.is_null_level else float(lv._match_weight or 0.0),
                    is_null=lv.is_null_level,
                )
                if (
                    lv._has_tf_adjustments
                    and lv._tf_adjustment_weight
                    and not lv.is_null_level
                    and not lv._is_else_level
                ):
                    u_exact = lv._u_probability_corresponding_to_exact_match(
                        comparison.comparison_levels
                    )
                    level = Level(
                        label=level.label,
                        weight=level.weight,
                        is_null=False,
                        tf_column=lv._tf_adjustment_input_column_name,
                        tf_weight=float(lv._tf_adjustment_weight),
                        tf_log2_u_exact=math.log2(u_exact),
                        tf_minimum=float(lv._tf_minimum_u_value),
                    )
                levels[lv.comparison_vector_value] = level
            self.comparisons.append(
                Comparison(
                    name=comparison.output_column_name,
                    description=comparison.comparison_description,
                    levels=levels,
                )
            )
            cases.append(comparison._case_statement)
        # Splink's SQL (no input in it), with one rewrite that gives the same answer faster:
        # DuckDB binds list_intersect as a lambda, milliseconds a query.
        self.sql = _INTERSECTS.sub(
            r"list_has_any(\1, \2)",
            "SELECT " + ",\n".join(cases) + " FROM pairs",  # noqa: S608 (the model's own SQL)
        )
        self.tf = {
            col: TermFrequencies(table)
            for col, table in (document.get("term_frequencies") or {}).items()
        }
        schema = linkage_model.SCHEMA
        self.columns = [f for f in schema if f.name not in ("unique_id", "source")]
        self.arrow_schema = pa.schema(
            [pa.field(f"{f.name}_l", f.type) for f in self.columns]
            + [pa.field(f"{f.name}_r", f.type) for f in self.columns]
        )

    def gammas(self, pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[tuple[int, ...]]:
        """The comparison vector of each pair (Splink's level numbers), by Splink's SQL."""
        if not pairs:
            return []
        data: dict[str, list[Any]] = {}
        for f in self.columns:
            data[f"{f.name}_l"] = [left.get(f.name) for left, _ in pairs]
            data[f"{f.name}_r"] = [right.get(f.name) for _, right in pairs]
        import pyarrow as pa

        table = pa.Table.from_pydict(data, schema=self.arrow_schema)
        con = _duckdb()
        con.register("pairs", table)
        try:
            return [tuple(row) for row in con.execute(self.sql).fetchall()]
        finally:
            con.unregister("pairs")

    def score(self, pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[Score]:
        """Each pair's match probability and per-comparison evidence."""
        out = []
        for (left, right), gammas in zip(pairs, self.gammas(pairs), strict=True):
            total = self.prior_weight
            evidence: dict[str, dict[str, Any]] = {}
            for comparison, gamma in zip(self.comparisons, gammas, strict=True):
                level = comparison.levels[gamma]
                weight = level.weight + self._tf_adjustment(level, left, right)
                total += weight
                evidence[comparison.name] = {"level": level.label, "weight": round(weight, 3)}
            out.append(
                Score(
                    probability=weight_to_probability(total),
                    match_weight=total,
                    evidence={
                        "model_version": self.version,
                        "match_weight": round(total, 3),
                        "prior_weight": round(self.prior_weight, 3),
                        "comparisons": evidence,
                    },
                )
            )
        return out

    def _tf_adjustment(self, level: Level, left: dict[str, Any], right: dict[str, Any]) -> float:
        if level.tf_column is None or level.tf_column not in self.tf:
            return 0.0
        table = self.tf[level.tf_column]
        tf_l, tf_r = table.get(left.get(level.tf_column)), table.get(right.get(level.tf_column))
        present = [t for t in (tf_l, tf_r) if t is not None]
        if not present:
            return 0.0
        u = max(*present, level.tf_minimum)
        return level.tf_weight * (level.tf_log2_u_exact - math.log2(u))


_INTERSECTS = re.compile(r'array_length\(list_intersect\(("[^"]+"), ("[^"]+")\)\) >= 1')
_local = threading.local()


def _duckdb() -> Any:
    """One in-memory DuckDB connection per thread, for the comparison SQL."""
    con = getattr(_local, "duckdb", None)
    if con is None:
        import duckdb

        con = duckdb.connect(":memory:")
        con.execute("SET threads TO 1")
        _local.duckdb = con
    return con


@functools.lru_cache(maxsize=1)
def default_model_document() -> dict[str, Any]:
    """The model shipped with safehub (trained on generated people; see docs/linkage.md), for a
    hub that has not trained its own."""
    document: dict[str, Any] = json.loads(DEFAULT_MODEL_PATH.read_text(encoding="utf-8"))
    return document


@functools.lru_cache(maxsize=4)
def _scoring_model(version: int, stamp: str) -> ScoringModel:
    if version == DEFAULT_MODEL_VERSION:
        return ScoringModel(default_model_document(), version=version)
    from safehub.people.models import LinkageModel

    document = LinkageModel.objects.values_list("document", flat=True).get(version=version)
    return ScoringModel(document, version=version)


@dataclass
class _Active:
    checked: float = -math.inf
    key: tuple[int, str] | None = None


_active = _Active()


def active_model() -> ScoringModel:
    """The newest active LinkageModel, else the default model. Which one is active is looked up
    at most every SAFEHUB_REFERENCE_CACHE_SECONDS (one small query); a document is read and
    prepared once per process."""
    from safehub.people.models import LinkageModel

    ttl = settings.SAFEHUB_REFERENCE_CACHE_SECONDS
    if _active.key is None or time.monotonic() - _active.checked >= ttl:
        row = (
            LinkageModel.objects.filter(active=True)
            .order_by("-version")
            .values_list("version", "trained_at")
            .first()
        )
        _active.key = (row[0], row[1].isoformat()) if row else (DEFAULT_MODEL_VERSION, "default")
        _active.checked = time.monotonic()
    return _scoring_model(*_active.key)


def active_model_forget() -> None:
    """Look the active model up again at the next match (after `linkage train`)."""
    _active.key = None


# --- Candidates ---------------------------------------------------------------------------------

# The index's column for each column of the model that a blocking rule uses. An address line, an
# NHS number and a UPN are held as keyed hashes, never as themselves.
BLOCKING_COLUMNS = {
    "dob": "dob",
    "dob_y": "dob_y",
    "family_sx": "family_sx",
    "family_name": "family_name",
    "given_name": "given_name",
    "given_initial": "given_initial",
    "dob_md": "dob_md",
    "name_pair": "name_pair",
    "postcode": "postcode",
    "address_line1": "address_key",
    "nhs_number": "nhs_key",
    "upn": "upn_key",
}


def _index_rules(rules: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    out = []
    for keys in rules:
        missing = [k for k in keys if k not in BLOCKING_COLUMNS]
        if missing:
            _warn_once(f"blocking rule {keys} uses {missing}, which the person index does not hold")
            continue
        out.append(tuple(BLOCKING_COLUMNS[k] for k in keys))
    return out


def broad_rules() -> list[tuple[str, ...]]:
    """The broad blocking rules as index columns: each used only for a value that at most
    SAFEHUB_LINKAGE_BLOCK_CAP records share (people/model.py BROAD_KEYS)."""
    return _index_rules(_linkage_model().BROAD_KEYS)


def blocking_rules() -> list[tuple[str, ...]]:
    """The model's blocking rules as index columns, narrow then broad; a rule on a column the
    index does not hold is left out (and logged once)."""
    return _index_rules(_linkage_model().BLOCKING_KEYS) + broad_rules()


@functools.lru_cache(maxsize=32)
def _warn_once(message: str) -> None:
    logger.warning(message)


@dataclass
class Candidate:
    """A record of the index that shares a blocking key with a new record."""

    record_id: Any
    person_id: Any
    group: str | None
    keys: dict[str, Any]
    source: str
    row: dict[str, Any]  # what the model compares (`stored_rows`)


# What the first query of `candidates_fetch` reads of every record sharing a key: no values.
CANDIDATE_COLUMNS = ("id", "person_id", "notification_id", "contact_id")
KEY_COLUMNS = (
    "dob",
    "dob_y",
    "dob_md",
    "family_sx",
    "family_name",
    "given_name",
    "given_initial",
    "name_pair",
    "postcode",
    "address_key",
    "nhs_key",
    "upn_key",
)


def record_group(notification_id: Any, contact_id: Any) -> str | None:
    """Records of one group are never one person: the people one notification names."""
    if notification_id is not None:
        return f"n:{notification_id}"
    if contact_id is not None:
        return f"c:{contact_id}"
    return None


def rule_values(keys: dict[str, Any], rule: tuple[str, ...]) -> tuple[Any, ...] | None:
    values = tuple(keys.get(col) for col in rule)
    if any(v is None or v == "" for v in values):
        return None
    return values


def candidates_query(
    key_sets: list[dict[str, Any]],
    small: set[tuple[tuple[str, ...], tuple[Any, ...]]] | None = None,
) -> Q | None:
    """The OR of the blocking rules' indexed equalities for these records (`IN` lists when
    there are several records; a composite rule then over-fetches, and the caller filters).
    A broad rule counts only for the values in `small` (`small_blocks`; None: every value)."""
    broad = set(broad_rules())
    query = Q()
    any_rule = False
    for rule in blocking_rules():
        found = [
            v
            for keys in key_sets
            if (v := rule_values(keys, rule)) is not None
            and (small is None or rule not in broad or (rule, v) in small)
        ]
        if not found:
            continue
        any_rule = True
        if len(found) == 1:
            query |= Q(**dict(zip(rule, found[0], strict=True)))
        else:
            query |= Q(
                **{
                    f"{col}__in": sorted({v[i] for v in found}, key=str)
                    for i, col in enumerate(rule)
                }
            )
    return query if any_rule else None


# Counts a statement (a batch of a partner's file asks thousands; SQLite returns at most 2,000
# columns).
SMALL_BLOCKS_PER_STATEMENT = 500


def small_blocks(key_sets: list[dict[str, Any]]) -> set[tuple[tuple[str, ...], tuple[Any, ...]]]:
    """The (broad rule, value) of these records whose block is small enough: fewer than
    SAFEHUB_LINKAGE_BLOCK_CAP records of the index share the value, so that with the new record
    the block is at most the cap, as `linkage run` counts it. One statement: a count of at most
    the cap rows a value, from its index."""
    from safehub.people.models import SourceRecord

    cap = _linkage_model().block_cap()
    quote = connection.ops.quote_name
    table = quote(SourceRecord._meta.db_table)
    asked: list[tuple[tuple[str, ...], tuple[Any, ...]]] = []
    for rule in broad_rules():
        for keys in key_sets:
            value = rule_values(keys, rule)
            if value is not None and (rule, value) not in asked:
                asked.append((rule, value))
    if not asked:
        return set()
    small: set[tuple[tuple[str, ...], tuple[Any, ...]]] = set()
    for start in range(0, len(asked), SMALL_BLOCKS_PER_STATEMENT):
        chunk = asked[start : start + SMALL_BLOCKS_PER_STATEMENT]
        counts: list[str] = []
        params: list[Any] = []
        for rule, value in chunk:
            where = " AND ".join(f"{quote(column)} = %s" for column in rule)
            counts.append(
                f"(SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {where} LIMIT {int(cap)}) b)"  # noqa: S608 (the model's columns)
            )
            params.extend(value)
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(counts), params)
            found = cursor.fetchone()
        small.update(pair for pair, n in zip(chunk, found, strict=True) if n < cap)
    return small


def candidates_fetch(
    key_sets: list[dict[str, Any]],
    *,
    groups: list[str | None],
    exclude: Iterable[Any] = (),
    limit: int | None = None,
) -> list[list[Candidate]]:
    """For each record's keys, the index's records that share a blocking key with it (not those
    of its own group, nor `exclude`), those sharing the most keys first, at most `limit`
    (SAFEHUB_LINKAGE_MAX_CANDIDATES).

    Three queries: which broad rules' blocks are small enough (`small_blocks`: a broad rule
    whose value more than SAFEHUB_LINKAGE_BLOCK_CAP records would share is dropped, as `linkage
    run` drops it); the keys of every record sharing a key (nothing to decrypt), from which the
    candidates are chosen; then the chosen records' stored features."""
    from safehub.people.models import SourceRecord

    limit = limit or settings.SAFEHUB_LINKAGE_MAX_CANDIDATES
    small = small_blocks(key_sets)
    query = candidates_query(key_sets, small)
    if query is None:
        return [[] for _ in key_sets]
    excluded = set(exclude)
    columns = CANDIDATE_COLUMNS + KEY_COLUMNS
    found = [
        dict(zip(columns, row, strict=True))
        for row in SourceRecord.objects.filter(query).order_by().values_list(*columns)
    ]
    broad = set(broad_rules())
    getters = [(rule, operator.itemgetter(*rule)) for rule in blocking_rules()]
    chosen: list[list[dict[str, Any]]] = []
    for keys, group in zip(key_sets, groups, strict=True):
        # This record's value of each rule, in the shape its getter gives (a key, or a tuple).
        mine = []
        for rule, get in getters:
            value = rule_values(keys, rule)
            if value is None:
                continue
            if rule in broad and (rule, value) not in small:
                continue
            mine.append((get, value[0] if len(rule) == 1 else value))
        ranked = []
        for data in found:
            if data["id"] in excluded:
                continue
            if (
                group is not None
                and record_group(data["notification_id"], data["contact_id"]) == group
            ):
                continue
            shared = sum(1 for get, value in mine if get(data) == value)
            if shared:
                ranked.append((shared, data))
        ranked.sort(key=lambda sc: -sc[0])
        chosen.append([data for _, data in ranked[:limit]])
    wanted = {data["id"] for datas in chosen for data in datas}
    rows = stored_rows(wanted)
    out = []
    for datas in chosen:
        out.append(
            [
                Candidate(
                    record_id=data["id"],
                    person_id=data["person_id"],
                    group=record_group(data["notification_id"], data["contact_id"]),
                    keys={k: data[k] for k in KEY_COLUMNS},
                    source=rows[data["id"]]["source"],
                    row=rows[data["id"]],
                )
                for data in datas
            ]
        )
    return out


def stored_rows(ids: Iterable[Any]) -> dict[Any, dict[str, Any]]:
    """The model rows of these records of the index: their stored features (one query), and for
    any stored before features were kept, worked out from their values (a second)."""
    from safehub.people.index import stored_row
    from safehub.people.models import SourceRecord

    ids = list(ids)
    if not ids:
        return {}
    out: dict[Any, dict[str, Any]] = {}
    missing = []
    for rid, source, features in (
        SourceRecord.objects.filter(pk__in=ids).order_by().values_list("id", "source", "features")
    ):
        row = stored_row(features, record_id=str(rid), source=source)
        if row is None:
            missing.append(rid)
        else:
            out[rid] = row
    if missing:
        for rid, source, values in (
            SourceRecord.objects.filter(pk__in=missing)
            .order_by()
            .values_list("id", "source", "values")
        ):
            out[rid] = stored_row({}, record_id=str(rid), source=source, values=values)  # type: ignore[assignment]
    return out


# --- Evidence in words --------------------------------------------------------------------------

NOUNS = {
    "given_name": "first name",
    "family_name": "surname",
    "dob": "date of birth",
    "address": "address",
    "town": "town",
    "sex": "sex",
    "nhs_number": "NHS number",
    "upn": "UPN",
}

# The levels of people/model.py, as a worker would say them. A level not here is said by its own
# label (with "given name" and "family name" in the words used elsewhere).
PHRASES = {
    "same name or a nickname of it (Bill/William)": "first name a nickname of the other",
    "given name very similar": "very similar first name",
    "a given name in common (middle name used)": "a first or middle name in common",
    "given name similar": "similar first name",
    "given name is the other's family name (names transposed)": "names transposed",
    "family name is the other's given name (names transposed)": "names transposed",
    "different given name, same family name and date of birth (twins)": (
        "different first name with the same surname and date of birth (twins?)"
    ),
    "one part of a double-barrelled surname": "one part of a double-barrelled surname in common",
    "family name very similar": "very similar surname",
    "family name similar": "similar surname",
    "different family name, both children (a child's surname changes)": (
        "different surname (both children)"
    ),
    "day and month swapped": "date of birth with day and month swapped",
    "one digit wrong or two swapped": "date of birth one digit out",
    "two digits wrong": "date of birth two digits out",
    "same year of birth only": "same year of birth only",
    "same address, postcode differs or missing": "same address, different or no postcode",
    "same postcode, address differs or missing": "same postcode, different or no address line",
    "similar address, another postcode": "similar address, different postcode",
    "town similar": "similar town",
    "a child of the same parent in the index": "a child of the same parent in the index",
}


def _phrase(name: str, label: str) -> str | None:
    noun = NOUNS.get(name, name.replace("_", " "))
    if label.endswith(" missing"):
        return None  # nothing to compare says nothing
    if label.startswith("Exact match"):
        return f"same {noun}"
    if label == "All other comparisons":
        return "different address and postcode" if name == "address" else f"different {noun}"
    if label in PHRASES:
        return PHRASES[label]
    if label.startswith("born ") and "years apart" in label:
        return "born a generation apart"
    text = label.replace("given name", "first name").replace("family name", "surname")
    for adjective in ("very similar", "similar"):
        if text.endswith(f" {adjective}"):
            return f"{adjective} {text[: -len(adjective) - 1]}"
    return text


def evidence_words(evidence: dict[str, Any]) -> str:
    """The evidence of a link in words, comparison by comparison: "same first name, similar
    surname, same date of birth, different address and postcode"."""
    phrases: list[str] = []
    for name, item in (evidence.get("comparisons") or {}).items():
        if not item.get("weight"):
            continue  # a level of weight 0 says nothing either way
        phrase = _phrase(name, str(item.get("level", "")))
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    return ", ".join(phrases)
