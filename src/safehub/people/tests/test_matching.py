"""Real-time matching: the in-process score is Splink's, the evidence reads as words, the bands
are settings, and candidates come from the index by the blocking keys only."""

import copy
import datetime as dt
import logging

import pyarrow as pa
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings

from safehub.people.features import model_row
from safehub.people.index import RecordDraft
from safehub.people.matching import (
    Band,
    ScoringModel,
    bands,
    candidates_fetch,
    default_model_document,
    evidence_words,
)
from safehub.people.records import PersonRecord


def row(rid, given="Amy", family="Example", dob=dt.date(2017, 6, 11), postcode="CH41 6AB",
        line="14 Example Road", town="Birkenhead", sex="F", nhs="", upn=""):  # fmt: skip
    return model_row(
        PersonRecord(rid, "t", given, family, dob, sex, line, town, postcode, nhs, upn)
    )


PAIRS = [
    (row("a"), row("b")),
    (row("a"), row("b", family="Exampel", postcode="L1 8JQ", line="3 Park Road", town="")),
    (row("a", given="Bill", family="Smith"), row("b", given="William", family="Smith-Jones")),
    (row("a", dob=dt.date(2017, 6, 11)), row("b", dob=dt.date(2017, 11, 6), sex="")),
    (row("a", given="Oliver", family="Jones"), row("b", given="Amelia", family="Jones")),
    (row("a", dob=None, postcode=""), row("b", given="Amy Louise", line="", town="")),
    (row("a", nhs="9434765919"), row("b", nhs="9434765919", family="Walker")),
]


@pytest.fixture(scope="module")
def scoring():
    return ScoringModel(default_model_document(), version=0)


def splink_weights(document, pairs, tf):
    """Splink's own predict of each pair, with the model's term frequencies registered."""
    from splink import DuckDBAPI, Linker

    from safehub.people.model import SCHEMA

    logging.getLogger("splink").setLevel(logging.WARNING)
    out = []
    for left, right in pairs:
        settings = copy.deepcopy(document["splink_settings"])
        settings["blocking_rules_to_generate_predictions"] = [{"blocking_rule": "1=1"}]
        settings["retain_intermediate_calculation_columns"] = False
        db_api = DuckDBAPI()
        table = db_api.register(pa.Table.from_pylist([left, right], schema=SCHEMA))
        linker = Linker(table, settings, log_level=None)
        for column, table_tf in tf.items():
            values = {left.get(column), right.get(column)} - {None}
            lookup = [{column: v, f"tf_{column}": table_tf.get(v)} for v in values]
            if lookup:
                linker.table_management.register_term_frequency_lookup(
                    db_api.register(pa.Table.from_pylist(lookup)), column
                )
        result = linker.inference.predict(warning_mode="never").as_record_list()
        out.append(result[0]["match_weight"])
    return out


def test_the_score_is_splinks_match_weight_for_the_same_pair(scoring):
    ours = scoring.score(PAIRS)
    theirs = splink_weights(scoring.document, PAIRS, scoring.tf)
    for mine, splinks in zip(ours, theirs, strict=True):
        assert mine.match_weight == pytest.approx(splinks, abs=1e-6)


def test_the_evidence_holds_each_comparisons_level_and_weight(scoring):
    [score] = scoring.score([PAIRS[1]])
    comparisons = score.evidence["comparisons"]
    assert comparisons["given_name"]["level"].startswith("Exact match")
    assert comparisons["family_name"]["level"] == "family name very similar"
    assert comparisons["dob"]["level"].startswith("Exact match")
    assert all(isinstance(c["weight"], float) for c in comparisons.values())
    total = score.evidence["prior_weight"] + sum(c["weight"] for c in comparisons.values())
    assert total == pytest.approx(score.evidence["match_weight"], abs=0.01)


def test_evidence_is_said_in_words(scoring):
    [score] = scoring.score([PAIRS[1]])
    words = evidence_words(score.evidence)
    assert words.startswith("same first name, very similar surname, same date of birth")
    assert "different address and postcode" in words
    assert evidence_words(
        {
            "comparisons": {
                "dob": {"level": "Exact match on dob", "weight": 10},
                "family_name": {"level": "family name similar", "weight": 2},
                "address": {"level": "All other comparisons", "weight": -3},
                "town": {"level": "town missing", "weight": 0},
            }
        }
    ) == ("same date of birth, similar surname, different address and postcode")


def test_the_bands_default_to_99_and_80_percent():
    limits = bands()
    assert (limits.auto_link, limits.review) == (0.99, 0.80)
    assert [limits.band(p) for p in (0.995, 0.99, 0.9, 0.8, 0.5, None)] == [
        Band.AUTO,
        Band.AUTO,
        Band.REVIEW,
        Band.REVIEW,
        Band.NEW,
        Band.NEW,
    ]


@override_settings(SAFEHUB_LINKAGE_AUTO_LINK=0.999, SAFEHUB_LINKAGE_REVIEW=0.5)
def test_the_bands_are_settings():
    assert bands().band(0.995) == Band.REVIEW
    assert bands().band(0.6) == Band.REVIEW


def _draft(ref, **values):
    base = {
        "given_names": "Amy",
        "family_name": "Example",
        "date_of_birth": "2017-06-11",
        "postcode": "CH41 6AB",
        "address_line1": "14 Example Road",
    }
    return RecordDraft(
        source_kind="partner_file",
        source="school",
        source_ref=ref,
        role="",
        values={**base, **values},
        seen_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )


@pytest.mark.django_db
def test_candidates_are_fetched_by_the_blocking_keys_only():
    from safehub.people.services import person_records_link

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    person_records_link(
        drafts=[
            _draft(
                "same-dob", given_names="Zed", family_name="Other", postcode="", address_line1=""
            ),
            _draft("same-postcode", given_names="Ann", family_name="Else", date_of_birth=""),
            _draft(
                "nothing",
                given_names="Kit",
                family_name="Far",
                date_of_birth="1950-01-02",
                postcode="L1 8JQ",
                address_line1="9 Elm Grove",
            ),
        ],
        origin="load",
        now=now,
    )
    new = _draft("new", family_name="Exampel")
    with CaptureQueriesContext(connection) as queries:
        [found] = candidates_fetch([new.keys], groups=[None])
    assert sorted(c.row["given_name"] for c in found) == ["ANN", "ZED"]
    # Which broad blocks are small, the keys of every record sharing one (nothing to decrypt),
    # then the chosen ones' features.
    _counts_sql, keys_sql, values_sql = [q["sql"] for q in queries.captured_queries]
    for column in ("dob", "postcode", "name_pair", "family_sx", "address_key"):
        assert f'"{column}"' in keys_sql
    assert '"values"' not in keys_sql and '"features"' not in keys_sql
    assert '"features"' in values_sql
    if connection.vendor == "sqlite":
        sql, params = _query(new)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = [str(r[-1]) for r in cursor.fetchall()]
        # Each OR term is an index search; the table is never scanned whole.
        assert any("MULTI-INDEX OR" in step for step in plan)
        assert not any(step.startswith("SCAN") and "INDEX" not in step for step in plan)


def _query(draft):
    from safehub.people.matching import candidates_query
    from safehub.people.models import SourceRecord

    query = SourceRecord.objects.filter(candidates_query([draft.keys])).values_list("id")
    return query.query.sql_with_params()


@pytest.mark.django_db
def test_a_broad_rule_finds_candidates_only_in_a_small_block():
    """A date of birth shared by more records than SAFEHUB_LINKAGE_BLOCK_CAP no longer finds
    candidates on its own (as `linkage run` drops that block); a narrow rule still does."""
    from safehub.people.services import person_records_link

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    strangers = [
        _draft(f"s{i}", given_names=name, family_name=f"Other{name}", postcode="", address_line1="")
        for i, name in enumerate(("Ann", "Bea", "Cat"))
    ]
    cousin = _draft(
        "cousin", given_names="Zoe", family_name="Example", postcode="", address_line1=""
    )
    person_records_link(drafts=[*strangers, cousin], origin="load", now=now)
    new = _draft("new", postcode="", address_line1="")

    def found(cap):
        with override_settings(SAFEHUB_LINKAGE_BLOCK_CAP=cap):
            [records] = candidates_fetch([new.keys], groups=[None])
        return sorted(c.row["given_name"] for c in records)

    # Five records share the date of birth with the new one: the block is within a cap of 5.
    assert found(5) == ["ANN", "BEA", "CAT", "ZOE"]
    # Beyond a cap of 4 only the narrow rule (date of birth and surname sound) finds Zoe.
    assert found(4) == ["ZOE"]


@pytest.mark.django_db
def test_a_child_of_the_same_parent_in_the_index_counts_as_evidence():
    """A notification names a mother and her child; the mother links to her person in the index,
    and a candidate who is that person's child there gets the household's evidence (model
    SAME_PARENT_WEIGHT): a child whose surname changed and who moved is found more surely."""
    from safehub.people.model import SAME_PARENT_WEIGHT
    from safehub.people.models import Relationship, RelationshipKind
    from safehub.people.services import person_records_link

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    mother = _draft("m1", given_names="Jo", family_name="Example", date_of_birth="1990-02-03")
    child = _draft("c1")
    first = person_records_link(drafts=[mother, child], origin="load", now=now)
    Relationship.objects.create(
        from_person_id=first[0].record.person_id,
        to_person_id=first[1].record.person_id,
        kind=RelationshipKind.PARENT,
        record=first[0].record,
        seen_at=now,
    )

    def moved_child(ref, parents=()):
        return RecordDraft(
            source_kind="partner_file",
            source="school",
            source_ref=ref,
            role="",
            values={
                "given_names": "Amy",
                "family_name": "Smith",
                "date_of_birth": "2017-06-11",
                "postcode": "L1 8JQ",
                "address_line1": "3 Park Road",
            },
            seen_at=now,
            ref="c",
            parent_refs=parents,
        )

    # The same child on her own (undone), to compare with.
    with transaction.atomic():
        [alone] = person_records_link(drafts=[moved_child("c3")], origin="load", now=now)
        transaction.set_rollback(True)
    again = _draft("m2", given_names="Jo", family_name="Example", date_of_birth="1990-02-03")
    again.ref = "m"
    # The child first in the list: parents are linked before their children whatever the order.
    linked = person_records_link(drafts=[moved_child("c2", ("m",)), again], origin="load", now=now)
    assert [item.draft.source_ref for item in linked] == ["c2", "m2"]
    assert linked[1].record.person_id == first[0].record.person_id
    with_parent = linked[0]
    weight = with_parent.record.match_evidence.get("match_weight")
    evidence = with_parent.record.match_evidence["comparisons"]["same_parent"]
    assert evidence == {"level": "a child of the same parent in the index",
                        "weight": SAME_PARENT_WEIGHT}  # fmt: skip
    assert weight == pytest.approx(alone.record.match_evidence["match_weight"] + SAME_PARENT_WEIGHT)
    assert with_parent.record.match_probability > alone.record.match_probability
    assert "a child of the same parent in the index" in evidence_words(
        with_parent.record.match_evidence
    )
