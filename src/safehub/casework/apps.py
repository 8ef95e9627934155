from django.apps import AppConfig


class CaseworkConfig(AppConfig):
    name = "safehub.casework"
    label = "casework"
    verbose_name = "Casework after the front door"
