from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "safehub.reports"
    label = "reports"
    verbose_name = "Performance dashboard"
