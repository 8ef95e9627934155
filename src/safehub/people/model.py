"""The person-linkage model: Splink 5 comparisons and blocking rules for people in England.

Each comparison is built from what goes wrong between one agency's record of a person and
another's (issue 4, item 7): nicknames and other spellings of a given name, a middle name used as
the first, hyphenated and changed surnames (children change surname more often than anyone),
day and month of birth swapped, a digit of a child's date of birth wrong, postcodes with and
without the space or with a letter wrong. `safehub_settings()` is the model definition;
`baseline_settings()` is plain Splink with its library comparisons, for contrast in the docs.

A household (siblings, a parent and child at one address) is evidence against a match:
`household_comparison()`. The levels' SQL is written once and rendered for DuckDB or Spark
(`_Level`); `apply_parameters` puts a model trained on one backend onto a linker of the other.
"""

from __future__ import annotations

import math
import re
from typing import Any

import duckdb
import pyarrow as pa
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.blocking_rule_library import CustomRule
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator
from splink.internals.dialects import SplinkDialect

MODEL_FORMAT = "safehub-linkage-model"
MODEL_VERSION = 1

# The columns of a model row (features.model_row), typed so that a column that happens to be all
# empty still has the right type in DuckDB.
SCHEMA = pa.schema(
    [
        ("unique_id", pa.string()),
        ("source", pa.string()),
        ("given_name", pa.string()),
        ("given_initial", pa.string()),
        ("given_all", pa.list_(pa.string())),
        ("given_groups", pa.list_(pa.string())),
        ("family_name", pa.string()),
        ("family_parts", pa.list_(pa.string())),
        ("family_sx", pa.string()),
        ("name_pair", pa.string()),
        ("dob", pa.string()),
        ("dob_y", pa.int32()),
        ("dob_m", pa.int32()),
        ("dob_d", pa.int32()),
        ("dob_md", pa.int32()),
        ("is_child", pa.bool_()),
        ("sex", pa.string()),
        ("address_line1", pa.string()),
        ("town", pa.string()),
        ("postcode", pa.string()),
        ("postcode_sector", pa.string()),
        ("postcode_district", pa.string()),
        ("nhs_number", pa.string()),
        ("upn", pa.string()),
    ]
)

# The blocking rules that choose candidate pairs. Each is an equality on stored keys, so that the
# same rule is an index lookup when one new person is matched against the index.
#
# Narrow rules (two or three keys) are always used. Broad rules (one key, or a key and a year)
# find the pairs that a mistake in two fields would hide from the narrow ones, but their blocks
# grow with the index: in a million generated records, a date of birth is shared by about 34
# records and a first name and year of birth by hundreds, 300 million pairs in all. So a broad
# rule is used only for a value shared by at most `block_cap()` records (settings
# SAFEHUB_LINKAGE_BLOCK_CAP, default 30): in FEBRL4 or a council's index nearly every block is
# that small and every broad rule counts; in a national one, the largest blocks are left to the
# narrow rules (the pairs to score fall from 300 to about 29 million, the true pairs found from
# 99.6% to 99.5% on 100,000 generated records). `with_block_flags` marks the blocks small
# enough, for Splink; `matching.small_blocks` applies the same limit to one new record.
BLOCKING_KEYS: list[tuple[str, ...]] = [
    ("dob", "family_sx"),
    ("dob", "given_name"),
    ("dob", "postcode"),
    ("given_name", "family_sx", "dob_y"),
    ("given_name", "family_sx", "dob_md"),
    ("name_pair", "dob_y"),
    ("name_pair", "dob_md"),
    ("postcode", "given_initial"),
    ("address_line1", "given_initial"),
    ("nhs_number",),
    ("upn",),
]
BROAD_KEYS: list[tuple[str, ...]] = [
    ("dob",),
    ("family_sx", "dob_y"),
    ("postcode",),
    ("name_pair",),
    ("given_name", "dob_y"),
    ("given_name", "family_sx"),
    ("address_line1",),
]
DEFAULT_BLOCK_CAP = 30


def block_cap() -> int:
    """The largest block a broad rule is used for (SAFEHUB_LINKAGE_BLOCK_CAP)."""
    from django.conf import settings

    return int(getattr(settings, "SAFEHUB_LINKAGE_BLOCK_CAP", DEFAULT_BLOCK_CAP))


def block_flag(keys: tuple[str, ...]) -> str:
    """The column that marks a record whose value of a broad rule is shared by few enough."""
    return "small_" + "_".join(keys)


def prediction_rules() -> list[Any]:
    """Splink's blocking rules: the narrow ones, and each broad one on its small blocks."""
    return [block_on(*keys) for keys in BLOCKING_KEYS] + [
        block_on(*keys, block_flag(keys)) for keys in BROAD_KEYS
    ]


def with_block_flags(con: Any, table: str, *, cap: int | None = None) -> str:
    """A DuckDB table of model rows again, with a flag per broad rule (1 where at most `cap`
    records share the value, else null); returns its name (`table` + "_blocked")."""
    cap = block_cap() if cap is None else cap
    flags = []
    for keys in BROAD_KEYS:
        cols = ", ".join(f'"{k}"' for k in keys)
        known = " AND ".join(f'"{k}" IS NOT NULL' for k in keys)
        flags.append(
            f"CASE WHEN {known} AND count(*) OVER (PARTITION BY {cols}) <= {int(cap)} "
            f'THEN 1 END AS "{block_flag(keys)}"'
        )
    out = f"{table}_blocked"
    con.execute(
        f'CREATE OR REPLACE TABLE "{out}" AS SELECT *, {", ".join(flags)} FROM "{table}"'  # noqa: S608
    )
    return out


def block_flags_arrow(table: pa.Table, *, cap: int | None = None) -> pa.Table:
    """`with_block_flags` for an Arrow table of model rows (DuckDB in process)."""
    con = duckdb.connect()
    try:
        con.register("rows_in", table)
        con.execute("CREATE TABLE rows_plain AS SELECT * FROM rows_in")
        out = with_block_flags(con, "rows_plain", cap=cap)
        return con.sql(f'SELECT * FROM "{out}"').to_arrow_table()  # noqa: S608
    finally:
        con.close()


def prediction_settings(splink_settings: dict[str, Any], dialect: str = "duckdb") -> dict[str, Any]:
    """A stored model's Splink settings with today's blocking rules: blocking chooses which
    pairs are scored, not how, so a model trained under other rules scores the same."""
    rules = [rule.create_blocking_rule_dict(dialect) for rule in prediction_rules()]
    return {
        **splink_settings,
        "blocking_rules_to_generate_predictions": rules,
        # Only the pairs' ids and probabilities are read: not every compared column of
        # millions of pairs.
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "additional_columns_to_retain": [],
    }


# EM is run once per block; each comparison is estimated in a block that does not use it, and
# Splink averages a comparison's m over the blocks that estimate it. Not the postcode: pairs that
# share one are mostly a household (mother and child, brothers), and EM takes them for matches.
TRAINING_BLOCKS: list[tuple[str, ...]] = [
    ("dob",),
    ("given_name", "family_name"),
]

# A different first name with the same family name and the same date of birth is what twins look
# like, and that level has a weight set by hand (log2(m/u) = FIXED_WEIGHT) rather than estimated:
# EM cannot learn how strongly it speaks against a match, because the surname, address and date
# of birth that twins share each count for one. It is kept that narrow (same date, not a missing
# one; a surname at most a typo away) because a record whose first name was replaced outright is
# the commoner error elsewhere (FEBRL4 has hundreds). A date of birth a generation away (not one
# wrong digit) has its own level, set too but milder (GENERATION_WEIGHT): EM blocked on names takes
# a father and son of the same name for one person, while a date replaced outright is a common
# error elsewhere.
FIXED_WEIGHT = -20.0
GENERATION_YEARS = 15
GENERATION_WEIGHT = -6.0
# A candidate who, in the person index, is a child of the person this notification's parent of
# the new record was just linked to (matching.py `_same_parent`): evidence outside the pairwise
# model, added to its match weight. log2(m/u): among the candidates blocking finds for a child
# (same date of birth, names, postcode), another child of the same mother is rare (u about 1 in
# 50, siblings being told apart by first name and date of birth) and the same child's earlier
# notification names the same mother more often than not (m about 0.6): about 5 bits, 4 taken
# to stay on the side of caution.
SAME_PARENT_WEIGHT = 4.0
# The household levels (`household_comparison`): siblings, and a parent and child, at one home.
SIBLING_WEIGHT = -10.0
PARENT_WEIGHT = -8.0


# Pairs of records sampled at random to estimate u. More is more precise and slower: 1.5 million
# take about 15 s on two cores and see a same-date-of-birth pair a hundred times in 100,000 records.
U_SAMPLE_PAIRS = 1.5e6


def _fixed(level: ComparisonLevelCreator, weight: float = FIXED_WEIGHT) -> ComparisonLevelCreator:
    return level.configure(
        m_probability=2**weight,
        u_probability=1.0,
        fix_m_probability=True,
        fix_u_probability=True,
    )


# The functions the levels' SQL uses, by backend. Levels are written in DuckDB's SQL with
# double-quoted identifiers and no string literals; `_Level` renders them for Spark too (sqlglot's
# own translation turns DuckDB's `list_has_any` into `&&`, which Spark SQL does not have, and
# knows nothing of the similarity functions Splink registers from its jar).
_FUNCTIONS = {
    "duckdb": {},
    "spark": {
        "jaro_winkler_similarity": "jaro_winkler",
        "damerau_levenshtein": "damerau_levenshtein",
        "levenshtein": "levenshtein",
        "list_has_any": "arrays_overlap",
    },
}
_CALL = re.compile(r"\b(jaro_winkler_similarity|damerau_levenshtein|levenshtein|list_has_any)\(")


class _Level(ComparisonLevelCreator):
    """A custom comparison level written once, rendered for DuckDB or Spark."""

    def __init__(self, sql: str, label: str) -> None:
        self.sql = sql
        self.label = label

    def create_sql(self, sql_dialect: SplinkDialect) -> str:
        name = sql_dialect.sql_dialect_str
        if name not in _FUNCTIONS:
            raise ValueError(f"backend: the linkage model runs on DuckDB or Spark, not {name}")
        functions = _FUNCTIONS[name]
        sql = _CALL.sub(lambda m: f"{functions.get(m[1], m[1])}(", self.sql)
        if name == "spark":
            sql = sql.replace('"', "`")
        return sql

    def create_label_for_charts(self) -> str:
        return self.label


def _level(sql: str, label: str) -> ComparisonLevelCreator:
    return _Level(sql, label)


def _null(*cols: str) -> ComparisonLevelCreator:
    sql = " OR ".join(f'"{c}_l" IS NULL OR "{c}_r" IS NULL' for c in cols)
    return _level(sql, f"{'/'.join(cols)} missing").configure(is_null_level=True)


def _jw(col: str, at: float) -> str:
    return f'jaro_winkler_similarity("{col}_l", "{col}_r") >= {at}'


def _one_edit(col: str) -> str:
    # Jaro-Winkler is harsh on short names (AVA/AA, AMY/AYM, ALI/AI all score under 0.8).
    return f'damerau_levenshtein("{col}_l", "{col}_r") <= 1'


def unrelated_given_names() -> str:
    """Neither given name is a spelling, nickname, typo or middle name of the other."""
    return (
        f"NOT {_jw('given_name', 0.8)} AND NOT {_one_edit('given_name')} "
        'AND NOT list_has_any("given_groups_l", "given_groups_r") '
        'AND NOT list_has_any("given_all_l", "given_all_r")'
    )


def given_name_comparison() -> cl.CustomComparison:
    unrelated = unrelated_given_names()
    # The date is compared by its parts, not by `dob`, so that EM blocked on `dob` still
    # estimates this comparison (Splink leaves out a comparison that uses a blocking column).
    same_dob = " AND ".join(f'"dob_{p}_l" = "dob_{p}_r"' for p in "ymd")
    family = _jw("family_name", 0.92)
    twins = f"{unrelated} AND {same_dob} AND {family}"
    return cl.CustomComparison(
        output_column_name="given_name",
        comparison_levels=[
            _null("given_name"),
            cll.ExactMatchLevel("given_name", term_frequency_adjustments=True),
            cll.ArrayIntersectLevel("given_groups", 1).configure(
                label_for_charts="same name or a nickname of it (Bill/William)"
            ),
            _level(_jw("given_name", 0.92), "given name very similar"),
            cll.ArrayIntersectLevel("given_all", 1).configure(
                label_for_charts="a given name in common (middle name used)"
            ),
            _level(_jw("given_name", 0.8), "given name similar"),
            _level(_one_edit("given_name"), "given name one letter out (a short name mistyped)"),
            _level(
                'jaro_winkler_similarity("given_name_l", "family_name_r") >= 0.9',
                "given name is the other's family name (names transposed)",
            ),
            _fixed(
                _level(twins, "different given name, same family name and date of birth (twins)")
            ),
            cll.ElseLevel(),
        ],
        comparison_description="given name",
    )


def family_name_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="family_name",
        comparison_levels=[
            _null("family_name"),
            cll.ExactMatchLevel("family_name", term_frequency_adjustments=True),
            cll.ArrayIntersectLevel("family_parts", 1).configure(
                label_for_charts="one part of a double-barrelled surname"
            ),
            _level(_jw("family_name", 0.92), "family name very similar"),
            _level(_jw("family_name", 0.8), "family name similar"),
            _level(
                'jaro_winkler_similarity("family_name_l", "given_name_r") >= 0.9',
                "family name is the other's given name (names transposed)",
            ),
            _level(
                '"is_child_l" AND "is_child_r"',
                "different family name, both children (a child's surname changes)",
            ),
            cll.ElseLevel(),
        ],
        comparison_description="family name",
    )


def date_of_birth_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            _null("dob"),
            cll.ExactMatchLevel("dob"),
            _level(
                '"dob_y_l" = "dob_y_r" AND "dob_m_l" = "dob_d_r" AND "dob_d_l" = "dob_m_r"',
                "day and month swapped",
            ),
            _level('damerau_levenshtein("dob_l", "dob_r") <= 1', "one digit wrong or two swapped"),
            _level('levenshtein("dob_l", "dob_r") <= 2', "two digits wrong"),
            _level('"dob_y_l" = "dob_y_r"', "same year of birth only"),
            _fixed(
                _level(
                    f'abs("dob_y_l" - "dob_y_r") >= {GENERATION_YEARS}',
                    f"born {GENERATION_YEARS} or more years apart (a parent and child?)",
                ),
                GENERATION_WEIGHT,
            ),
            cll.ElseLevel(),
        ],
        comparison_description="date of birth",
    )


def address_comparison() -> cl.CustomComparison:
    """Postcode and first address line as one comparison: they move together when a family moves,
    so counting them apart would count one fact twice."""
    pc = '"postcode_l" = "postcode_r"'
    line_same = '"address_line1_l" = "address_line1_r"'
    line_close = _jw("address_line1", 0.88)
    null = (
        '("postcode_l" IS NULL OR "postcode_r" IS NULL) AND '
        '("address_line1_l" IS NULL OR "address_line1_r" IS NULL)'
    )
    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            _level(null, "address missing").configure(is_null_level=True),
            _level(f"{pc} AND {line_same}", "same postcode and address"),
            _level(f"{pc} AND {line_close}", "same postcode, similar address"),
            _level(line_same, "same address, postcode differs or missing"),
            _level(
                f'damerau_levenshtein("postcode_l", "postcode_r") <= 1 AND {line_close}',
                "postcode one character out, similar address",
            ),
            _level(pc, "same postcode, address differs or missing"),
            _level(line_close, "similar address, another postcode"),
            _level(
                f'"postcode_sector_l" = "postcode_sector_r" AND {line_close}',
                "same postcode sector, similar address",
            ),
            _level('"postcode_sector_l" = "postcode_sector_r"', "same postcode sector"),
            _level('"postcode_district_l" = "postcode_district_r"', "same postcode district"),
            _level(
                'damerau_levenshtein("postcode_l", "postcode_r") <= 1',
                "postcode one character out",
            ),
            cll.ElseLevel(),
        ],
        comparison_description="address",
    )


def town_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="town",
        comparison_levels=[
            _null("town"),
            cll.ExactMatchLevel("town"),
            _level(_jw("town", 0.88), "town similar"),
            cll.ElseLevel(),
        ],
        comparison_description="town",
    )


def _exact(col: str, description: str) -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name=col,
        comparison_levels=[_null(col), cll.ExactMatchLevel(col), cll.ElseLevel()],
        comparison_description=description,
    )


def same_household() -> str:
    """Two records at one home: the same postcode with a similar (or no) first line, or the same
    first line in the same postcode district (or with a postcode missing)."""
    line_close = _jw("address_line1", 0.88)
    line_missing = '("address_line1_l" IS NULL OR "address_line1_r" IS NULL)'
    district = (
        '("postcode_district_l" = "postcode_district_r" '
        'OR "postcode_l" IS NULL OR "postcode_r" IS NULL)'
    )
    return (
        f'(("postcode_l" = "postcode_r" AND ({line_close} OR {line_missing})) '
        f'OR ("address_line1_l" = "address_line1_r" AND {district}))'
    )


def household_comparison() -> cl.CustomComparison:
    """A household as evidence (issue 4 item 7): the family members who share a home share the
    surname and the address, which count for a match in their own comparisons, so the household
    itself has to count against one where it explains the pair better than one person does.

    Children of one home whose first names are unrelated are siblings, whether or not both dates
    of birth are known (a child with no date of birth on one record is the commonest false match
    without this level); a child is a record born after CHILD_BORN_AFTER, and a pair counts as
    children when one record is a child and the other is not known to be an adult. Two records of
    one home born a generation apart (and not by one mistyped digit) whose first names are related
    but not the same name are a parent and child (a child's middle name after the parent, Jacob
    and Jack). Both weights are set by hand, like the twins level, for the same reason: EM reads
    a household as a match. Outside these levels the comparison says nothing (weight 0)."""
    home = same_household()
    children = (
        'coalesce("is_child_l", TRUE) AND coalesce("is_child_r", TRUE) '
        'AND coalesce("is_child_l", "is_child_r", FALSE)'
    )
    # Not one digit out: 1965 for 1985 is a slip of the keyboard, not a generation.
    generation = (
        f'abs("dob_y_l" - "dob_y_r") >= {GENERATION_YEARS} '
        'AND damerau_levenshtein("dob_l", "dob_r") > 1'
    )
    # Only first names that are related but not the same name: the same name (or a spelling or
    # nickname of it) a generation apart is as likely to be one person with a wrong date of birth
    # (FEBRL4 replaces dates outright) as a father and son, and unrelated names a generation
    # apart already count strongly against a match in their own comparisons.
    same_given = (
        f'"given_name_l" = "given_name_r" OR {_jw("given_name", 0.92)} '
        'OR list_has_any("given_groups_l", "given_groups_r")'
    )
    return cl.CustomComparison(
        output_column_name="household",
        comparison_levels=[
            _level(
                '("postcode_l" IS NULL OR "postcode_r" IS NULL) AND '
                '("address_line1_l" IS NULL OR "address_line1_r" IS NULL)',
                "household unknown (an address missing)",
            ).configure(is_null_level=True),
            _fixed(
                _level(
                    f"{home} AND {children} AND {unrelated_given_names()}",
                    "children of one household with unrelated first names (siblings)",
                ),
                SIBLING_WEIGHT,
            ),
            _fixed(
                _level(
                    f"{home} AND {generation} AND NOT ({same_given}) "
                    f"AND NOT ({unrelated_given_names()})",
                    f"one household, born {GENERATION_YEARS}+ years apart, related first names "
                    "(parent and child)",
                ),
                PARENT_WEIGHT,
            ),
            _fixed(cll.ElseLevel(), 0.0),
        ],
        comparison_description="household",
    )


OPTIONAL_COLUMNS = ("town", "sex", "nhs_number", "upn")


def safehub_comparisons(*, columns: set[str] | None = None) -> list[ComparisonCreator]:
    """The comparisons; with `columns`, only those of OPTIONAL_COLUMNS that are in it: a model
    trained on records that never carry a column cannot estimate its levels."""
    optional = {
        "town": town_comparison,
        "sex": lambda: _exact("sex", "sex"),
        "nhs_number": lambda: _exact("nhs_number", "NHS number"),
        "upn": lambda: _exact("upn", "unique pupil number"),
    }
    comparisons: list[ComparisonCreator] = [
        given_name_comparison(),
        family_name_comparison(),
        date_of_birth_comparison(),
        address_comparison(),
    ]
    comparisons += [make() for col, make in optional.items() if columns is None or col in columns]
    comparisons.append(household_comparison())
    return comparisons


def safehub_settings(
    *, retain_columns: bool = True, columns: set[str] | None = None
) -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=list[ComparisonCreator | dict[str, Any]](safehub_comparisons(columns=columns)),
        blocking_rules_to_generate_predictions=prediction_rules(),
        retain_matching_columns=retain_columns,
        retain_intermediate_calculation_columns=retain_columns,
        additional_columns_to_retain=["source"] if retain_columns else [],
        max_iterations=20,
    )


def baseline_settings() -> SettingsCreator:
    """Plain Splink: its library comparisons on the same columns, nothing English about them."""
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("family_name"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("address_line1"),
            cl.ExactMatch("town"),
            cl.ExactMatch("sex"),
            cl.ExactMatch("nhs_number"),
            cl.ExactMatch("upn"),
        ],
        blocking_rules_to_generate_predictions=prediction_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def register_rows(db_api: DuckDBAPI, rows: list[dict[str, Any]], name: str = "people") -> Any:
    """Model rows as a Splink table, with the flags of the broad blocking rules."""
    return register_table(db_api, pa.Table.from_pylist(rows, schema=SCHEMA), name)


def register_table(db_api: DuckDBAPI, table: pa.Table, name: str = "people") -> Any:
    """An Arrow table of model rows (`SCHEMA`) as a Splink table, with the broad rules' flags."""
    return db_api.register(block_flags_arrow(table), dataset_display_name=name)


def table_columns_present(table: pa.Table) -> set[str]:
    """The columns of an Arrow table of model rows that have a value in at least one row
    (`features.columns_present` for a table)."""
    return {name for name in table.column_names if table[name].null_count < table.num_rows}


def train(linker: Linker, *, record_count: int, seed: int = 42, floor: bool = True) -> None:
    """Estimate the model by random sampling (u) and expectation maximisation (m); `floor=False`
    leaves EM's estimates as they are (for the plain-Splink baseline)."""
    training = linker.training
    training.estimate_probability_two_random_records_match(
        [
            block_on("given_name", "family_name", "dob"),
            block_on("nhs_number"),
            block_on("upn"),
        ],
        recall=0.65,
    )
    all_pairs = record_count * (record_count - 1) / 2
    training.estimate_u_using_random_sampling(
        max_pairs=min(U_SAMPLE_PAIRS, max(all_pairs, 1.0)), seed=seed
    )
    for keys in TRAINING_BLOCKS:
        # Bounded, so that a large file (where a block like date of birth grows quadratically)
        # trains in the same time and memory as a small one.
        training.estimate_parameters_using_expectation_maximisation(
            block_on(*keys), estimate_without_term_frequencies=True, max_pairs=2e6
        )

    if floor:
        floor_special_levels(linker)


def floor_special_levels(linker: Linker) -> None:
    """No level may count against a match more than "all other comparisons" does.

    Every level between exact and else is a closer kind of agreement than else (a nickname, a
    swapped day and month, transposed names). When the training data has none of a kind, EM gives
    it an m near zero and a weight of -30 or -80, which would veto a true match that happens to
    look that way; such a level gets the else level's weight instead."""
    for comparison in linker._settings_obj.comparisons:
        levels = [lv for lv in comparison.comparison_levels if not lv.is_null_level]
        if not levels:
            continue
        else_level = levels[-1]
        m_else, u_else = else_level.m_probability, else_level.u_probability
        if not (m_else and u_else):
            continue
        for level in levels[:-1]:
            if level._fix_m_probability:
                continue
            m, u = level._m_probability, level.u_probability
            if not u:
                continue
            if not isinstance(m, float) or m / u < m_else / u_else:
                level.m_probability = u * m_else / u_else


def apply_parameters(linker: Linker, splink_settings: dict[str, Any]) -> None:
    """Give a linker the parameters of a trained model (`linker.misc.save_model_to_json()`, the
    `splink_settings` of a stored model): λ and every level's m and u. The linker must be built
    from the same comparisons, on any backend: this is how the model estimated on DuckDB
    predicts on Spark without being estimated again."""
    settings = linker._settings_obj
    settings._probability_two_random_records_match = splink_settings[
        "probability_two_random_records_match"
    ]
    saved = {c["output_column_name"]: c for c in splink_settings["comparisons"]}
    for comparison in settings.comparisons:
        name = comparison.output_column_name
        if name not in saved:
            raise ValueError(f"model: the trained model has no {name} comparison")
        levels = saved[name]["comparison_levels"]
        if len(levels) != len(comparison.comparison_levels):
            raise ValueError(f"model: the {name} comparison has other levels than the trained one")
        for level, stored in zip(comparison.comparison_levels, levels, strict=True):
            if stored.get("label_for_charts") != level.label_for_charts:
                raise ValueError(
                    f"model: {name} level {level.label_for_charts!r} is not the trained "
                    f"{stored.get('label_for_charts')!r}"
                )
            if level.is_null_level:
                continue
            for key in ("m_probability", "u_probability"):
                if key in stored:
                    setattr(level, key, stored[key])


def probability_to_weight(p: float) -> float:
    return math.log2(p / (1 - p))


def compare_levels(left: dict[str, Any], right: dict[str, Any]) -> dict[str, str]:
    """The level each comparison puts a pair of model rows in, by its label: the evidence a
    worker will read ("same name or a nickname of it", "day and month swapped")."""
    db_api = DuckDBAPI()
    table = register_rows(db_api, [left, right], "pair")
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=list[ComparisonCreator | dict[str, Any]](safehub_comparisons()),
        blocking_rules_to_generate_predictions=[CustomRule("1=1")],
        retain_intermediate_calculation_columns=True,
    )
    linker = Linker(table, settings, log_level=None)
    row = linker.inference.predict(warning_mode="never").as_record_list()[0]
    labels = {}
    for comparison in linker._settings_obj.comparisons:
        gamma = row[f"gamma_{comparison.output_column_name}"]
        level = next(
            lv for lv in comparison.comparison_levels if lv.comparison_vector_value == gamma
        )
        labels[comparison.output_column_name] = level.label_for_charts
    return labels
