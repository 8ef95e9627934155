"""Version 1 of the triage policy: the default issue 3 ships, active.

A frozen copy, not an import of policy.DEFAULT_RULES: a migration must give the same result
whenever it runs. test_policy checks that the two agree."""

from django.db import migrations

RULES_V1 = {
    "dash_bands": {
        "SAFELIVES_RIC_24": {"medium": 10, "high": 14},
        "DASH_2009_27": {"medium": 10, "high": 14},
    },
    "rag": {
        "red": [
            {"code": "officer_grade_at_least", "grade": "high"},
            {"code": "dash_yes_at_least", "count": 14},
            {"code": "professional_judgement"},
            {"code": "child_injured"},
            {"code": "child_under_one_and_grade", "grade": "medium"},
            {"code": "child_protection_plan"},
        ],
        "amber": [
            {"code": "officer_grade_at_least", "grade": "medium"},
            {"code": "dash_yes_between", "low": 10, "high": 13},
            {"code": "child_present_or_witnessed"},
            {"code": "earlier_notification_within", "months": 12},
            {"code": "open_case"},
        ],
    },
    "marac": {
        "visible_high_risk_yes": 14,
        "escalation_count": 3,
        "escalation_months": 12,
        "repeat_months": 12,
    },
    "screening": {"red_hours": 4, "amber_working_days": 1, "green_working_days": 3},
}


def create_v1(apps, schema_editor):
    from django.utils import timezone

    TriagePolicy = apps.get_model("risk", "TriagePolicy")
    if not TriagePolicy.objects.filter(version=1).exists():
        TriagePolicy.objects.create(
            version=1,
            created_at=timezone.now(),
            note="The default shipped with safehub (issue 3).",
            is_active=True,
            rules=RULES_V1,
        )


def remove_v1(apps, schema_editor):
    apps.get_model("risk", "TriagePolicy").objects.filter(version=1, created_by=None).delete()


class Migration(migrations.Migration):
    dependencies = [("risk", "0001_initial")]

    operations = [migrations.RunPython(create_v1, remove_v1)]
