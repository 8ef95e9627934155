from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "safehub.accounts"
    label = "accounts"
