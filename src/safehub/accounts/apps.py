from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "safehub.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from safehub.accounts.signin import session_start

        user_logged_in.connect(session_start, dispatch_uid="safehub.accounts.session_start")
