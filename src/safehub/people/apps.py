from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "safehub.people"
    verbose_name = "People"
