from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "safehub.risk"
    label = "risk"
    verbose_name = "Risk and triage policy"
