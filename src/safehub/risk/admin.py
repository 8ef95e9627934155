"""The triage policy in the admin: every version can be read, none can be changed or deleted.
"Add" publishes a new version through `policy_publish`, starting from a copy of the active one."""

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from safehub.accounts.models import Role
from safehub.risk.models import TriagePolicy
from safehub.risk.policy import policy_rules_validate
from safehub.risk.selectors import policy_active
from safehub.risk.services import policy_publish


class _IndentedJSONField(forms.JSONField):
    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


class PolicyPublishForm(forms.ModelForm):
    rules = _IndentedJSONField(
        widget=forms.Textarea(attrs={"rows": 40, "cols": 100, "spellcheck": "false"}),
        help_text="The whole policy as JSON. It becomes the next version and the active one.",
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 100}),
        help_text="What changed and why (required).",
    )

    class Meta:
        model = TriagePolicy
        fields = ["rules", "note"]

    def clean_rules(self) -> Any:
        rules = self.cleaned_data["rules"]
        problems = policy_rules_validate(rules)
        if problems:
            raise forms.ValidationError(problems)
        return rules


@admin.register(TriagePolicy)
class TriagePolicyAdmin(admin.ModelAdmin):
    list_display = ["version", "is_active", "created_at", "created_by", "note"]
    list_display_links = ["version"]
    list_filter = ["is_active"]
    ordering = ["-version"]
    readonly_fields = ("version", "is_active", "created_at", "created_by", "note", "rules_json")
    fields = readonly_fields

    @admin.display(description="Rules")
    def rules_json(self, obj: TriagePolicy) -> str:
        return json.dumps(obj.rules, indent=2, ensure_ascii=False)

    def get_fields(self, request: HttpRequest, obj: TriagePolicy | None = None) -> Any:
        return ["rules", "note"] if obj is None else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: TriagePolicy | None = None) -> Any:
        return [] if obj is None else self.readonly_fields

    def get_form(
        self, request: HttpRequest, obj: TriagePolicy | None = None, change: bool = False, **kwargs
    ) -> Any:
        if obj is None:
            kwargs["form"] = PolicyPublishForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"rules": policy_active().rules}

    def has_add_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return super().has_add_permission(request) and (
            user.is_superuser or user.has_role(Role.ADMINISTRATOR)  # type: ignore[union-attr]
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a published version is never edited: publish a new one

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # ratings refer to it, and its number must never be reused

    def save_model(self, request: HttpRequest, obj: TriagePolicy, form: Any, change: bool) -> None:
        if change:  # not reachable: has_change_permission is False
            raise PermissionError("a published triage policy version cannot be changed")
        published = policy_publish(
            rules=form.cleaned_data["rules"],
            note=form.cleaned_data["note"],
            published_by=request.user,  # type: ignore[arg-type]
        )
        # The admin goes on to log and redirect with `obj`: make it the version just published.
        for field in TriagePolicy._meta.concrete_fields:
            setattr(obj, field.attname, getattr(published, field.attname))
        obj._state.adding = False
        obj._state.db = published._state.db
