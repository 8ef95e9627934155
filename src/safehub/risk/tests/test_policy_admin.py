"""The admin lists versions read-only and publishes a new version through the service."""

import copy
import json

import pytest

from safehub.risk.models import TriagePolicy
from safehub.risk.policy import DEFAULT_RULES

ADD_URL = "/admin/risk/triagepolicy/add/"


def change_url(policy):
    return f"/admin/risk/triagepolicy/{policy.pk}/change/"


@pytest.fixture
def v1(db):
    return TriagePolicy.objects.get(version=1)


def test_the_admin_lists_the_versions(admin_client, v1):
    response = admin_client.get("/admin/risk/triagepolicy/")
    assert response.status_code == 200
    assert "The default shipped with safehub (issue 3)." in response.text


def test_the_publish_form_starts_from_the_active_rules(admin_client, v1):
    response = admin_client.get(ADD_URL)
    assert response.status_code == 200
    assert "officer_grade_at_least" in response.text


def test_publishing_from_the_admin_creates_the_next_active_version(admin_client, admin_user, v1):
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["screening"]["red_hours"] = 2
    response = admin_client.post(ADD_URL, {"rules": json.dumps(rules), "note": "Faster reds."})
    assert response.status_code == 302
    v2 = TriagePolicy.objects.get(version=2)
    assert (v2.is_active, v2.created_by, v2.note) == (True, admin_user, "Faster reds.")
    assert v2.rules["screening"]["red_hours"] == 2
    v1.refresh_from_db()
    assert (v1.is_active, v1.rules) == (False, DEFAULT_RULES)


def test_invalid_rules_in_the_admin_show_the_problem_and_store_nothing(admin_client, v1):
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["rag"]["amber"][0]["grade"] = "severe"
    response = admin_client.post(ADD_URL, {"rules": json.dumps(rules), "note": "typo"})
    assert response.status_code == 200
    assert "rag.amber[0].grade: must be one of standard, medium, high" in response.text
    assert TriagePolicy.objects.count() == 1


def test_a_published_version_cannot_be_edited_in_place(admin_client, v1):
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["marac"]["escalation_count"] = 9
    response = admin_client.post(change_url(v1), {"rules": json.dumps(rules), "note": "sneaky"})
    assert response.status_code == 403
    v1.refresh_from_db()
    assert v1.rules == DEFAULT_RULES


def test_a_published_version_can_be_read_but_not_deleted(admin_client, v1):
    assert admin_client.get(change_url(v1)).status_code == 200
    response = admin_client.post(f"/admin/risk/triagepolicy/{v1.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert TriagePolicy.objects.filter(version=1).exists()


def test_a_staff_user_without_the_administrator_role_cannot_publish(client, make_user, v1):
    from django.contrib.auth.models import Permission

    clerk = make_user("clerk", "LA344", "hub_manager", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_triagepolicy", "view_triagepolicy"])
    )
    client.force_login(clerk)
    assert client.get(ADD_URL).status_code == 403
    assert client.get(change_url(v1)).status_code == 200
