"""The policy is versioned data: publishing makes a new active version; old versions stay as they
were and readable; exactly one is active; invalid rules never reach the database."""

import copy
import datetime as dt
import importlib

import pytest
from django.db import IntegrityError, transaction

from safehub.core import clock
from safehub.core.errors import NotFound
from safehub.risk.models import TriagePolicy
from safehub.risk.policy import DEFAULT_RULES
from safehub.risk.selectors import policy_active, policy_get, policy_versions
from safehub.risk.services import InvalidPolicy, policy_publish


def stricter_rules() -> dict:
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["marac"]["escalation_count"] = 2
    return rules


def test_version_1_is_the_shipped_default_and_active(db):
    policy = policy_active()
    assert (policy.version, policy.is_active, policy.created_by) == (1, True, None)
    assert policy.rules == DEFAULT_RULES


def test_the_migrations_frozen_copy_is_the_default():
    migration = importlib.import_module("safehub.risk.migrations.0002_default_policy")
    assert migration.RULES_V1 == DEFAULT_RULES


def test_publishing_v2_makes_it_the_active_version(db, alice):
    with clock.frozen(dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)):
        v2 = policy_publish(rules=stricter_rules(), note="Two calls is enough.", published_by=alice)
    assert (v2.version, v2.is_active, v2.created_by, v2.note) == (
        2,
        True,
        alice,
        "Two calls is enough.",
    )
    assert v2.created_at == dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    assert policy_active().version == 2
    assert policy_active().rules["marac"]["escalation_count"] == 2


def test_v1_is_unchanged_and_still_readable_after_v2(db):
    policy_publish(rules=stricter_rules(), note="v2", published_by=None)
    v1 = policy_get(version=1)
    assert (v1.is_active, v1.rules) == (False, DEFAULT_RULES)


def test_versions_are_numbered_highest_plus_one(db):
    numbers = [
        policy_publish(rules=DEFAULT_RULES, note=str(n), published_by=None).version
        for n in range(3)
    ]
    assert numbers == [2, 3, 4]
    assert [p.version for p in policy_versions()] == [4, 3, 2, 1]


def test_exactly_one_version_is_active_after_each_publication(db):
    for _ in range(3):
        policy_publish(rules=DEFAULT_RULES, note="again", published_by=None)
        assert TriagePolicy.objects.filter(is_active=True).count() == 1


def test_the_database_refuses_a_second_active_version(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        TriagePolicy.objects.create(version=99, rules=DEFAULT_RULES, is_active=True)


def test_the_database_refuses_a_reused_version_number(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        TriagePolicy.objects.create(version=1, rules=DEFAULT_RULES)


def test_invalid_rules_are_refused_naming_the_problem_and_nothing_is_stored(db):
    rules = stricter_rules()
    rules["rag"]["red"].append({"code": "astrology"})
    with pytest.raises(InvalidPolicy) as refused:
        policy_publish(rules=rules, note="bad", published_by=None)
    assert refused.value.problems[0].startswith("rag.red[6].code: unknown rule code 'astrology'")
    assert "astrology" in refused.value.message
    assert list(TriagePolicy.objects.values_list("version", "is_active")) == [(1, True)]


def test_an_unknown_version_is_not_found(db):
    with pytest.raises(NotFound):
        policy_get(version=7)


def test_the_cached_active_policy_sees_a_version_published_elsewhere(db):
    assert policy_active().version == 1  # now cached
    # Another process publishes: this one's cache is not told, only the database changes.
    TriagePolicy.objects.filter(is_active=True).update(is_active=False)
    TriagePolicy.objects.create(version=2, rules=stricter_rules(), is_active=True)
    assert policy_active().version == 2


def test_the_active_policy_costs_one_query_when_cached(db, django_assert_num_queries):
    policy_active()
    with django_assert_num_queries(1):
        policy_active()
