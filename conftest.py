"""Fixtures shared by every test: the Merseyside reference data, the people who use safehub and a
force's integration client.

The personas: Alice is a social worker in Wirral's hub and Mary manages it; Bob is a social worker
in Liverpool and must never see a Wirral child; Percy is a police officer in the hub; Harriet is a
health practitioner, who sees no contact unless one is shared with her.
"""

import pytest

from safehub.core.testing import PASSWORD, SmtpSink


@pytest.fixture
def reference(db):
    from safehub.accounts.services import reference_load
    from safehub.risk.services import policy_install_default

    reference_load()
    # A test that commits (transaction=True) empties every table after it, the policy too.
    policy_install_default()


@pytest.fixture
def make_user(reference):
    """make_user(username, agency_code, *roles, two_factor=True, **fields). Each person has set up
    an authenticator app, with a key known to the tests (safehub.accounts.testing), unless
    two_factor=False: they then set one up at their first sign-in."""
    from safehub.accounts.models import Agency, User
    from safehub.accounts.testing import authenticator_add

    def make(username: str, agency_code: str, *roles: str, two_factor: bool = True, **extra):
        user = User.objects.create_user(
            username=username,
            password=PASSWORD,
            email=f"{username}@hub.example",
            first_name=username.capitalize(),
            agency=Agency.objects.get(code=agency_code),
            roles=list(roles),
            **extra,
        )
        if two_factor:
            authenticator_add(user)
        return user

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice", "LA344", "hub_social_worker")


@pytest.fixture
def mary(make_user):
    return make_user("mary", "LA344", "hub_manager")


@pytest.fixture
def bob(make_user):
    return make_user("bob", "LA341", "hub_social_worker")


@pytest.fixture
def percy(make_user):
    return make_user("percy", "MSP", "police_hub_officer")


@pytest.fixture
def harriet(make_user):
    return make_user("harriet", "RBS", "health_practitioner")


@pytest.fixture
def msp_token(reference):
    from safehub.accounts.services import apiclient_create

    return apiclient_create(force_code="MSP", name="Merseyside records system")[1]


@pytest.fixture
def chs_token(reference):
    from safehub.accounts.services import apiclient_create

    return apiclient_create(force_code="CHS", name="Cheshire records system")[1]


@pytest.fixture
def frozen_now():
    """The clock held just after the spec's examples were written (Tue 24 Nov 2026, 09:00)."""
    import datetime as dt

    from safehub.core import clock

    with clock.frozen(dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)):
        yield


@pytest.fixture
def smtp(settings):
    """A running SMTP server, and safehub's mailer pointed at it."""
    sink = SmtpSink()
    sink.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": sink.port, "timeout": 5},
        }
    }
    yield sink
    sink.stop()
