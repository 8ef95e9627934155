from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "safehub.referrals"
    label = "referrals"
