"""An integration client's token: rotated with an overlap, revoked, never stored or logged."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from safehub.accounts.models import ApiClient, hash_token
from safehub.audit.models import Action, AuditEvent
from safehub.core import clock

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
URL = "/api/v1/notifications/MSP/MSP-26-000001"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("apiclient", *args, stdout=out)
    return out.getvalue()


def read(client, token: str):
    """A read of a notification that does not exist: 404 once the token is accepted."""
    return client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")


def accepted(client, token: str) -> bool:
    return read(client, token).status_code == 404


@pytest.fixture
def old_token(msp_token):
    return msp_token


@pytest.fixture
def prefix(old_token):
    return old_token[:10]


def rotate(prefix: str, *extra: str) -> str:
    """Rotate; returns the new token (the line after "Shown once only")."""
    lines = run("rotate", prefix, *extra).splitlines()
    return lines[lines.index("Shown once only (keep it in the sender's secret store):") + 1]


def test_rotate_gives_a_new_token_and_keeps_only_its_hash(client, old_token, prefix):
    with clock.frozen(T0):
        new = rotate(prefix)
    assert new.startswith("shb_") and new != old_token
    stored = ApiClient.objects.get()
    assert stored.token_hash == hash_token(new)
    assert stored.token_prefix == new[:10]
    assert stored.previous_token_hash == hash_token(old_token)
    assert stored.previous_token_until == T0 + 24 * HOUR
    values = [str(v) for v in ApiClient.objects.values().get().values()]
    assert not any(new in v or old_token in v for v in values)


def test_both_tokens_work_during_the_overlap(client, old_token, prefix):
    with clock.frozen(T0):
        new = rotate(prefix, "--overlap-hours", "2")
    with clock.frozen(T0 + 2 * HOUR - dt.timedelta(seconds=1)):
        assert accepted(client, new)
        assert accepted(client, old_token)


def test_the_old_token_is_refused_after_the_overlap_saying_why(client, old_token, prefix):
    with clock.frozen(T0):
        new = rotate(prefix, "--overlap-hours", "2")
    with clock.frozen(T0 + 2 * HOUR):
        response = read(client, old_token)
        assert accepted(client, new)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {
        "detail": "This token was replaced by a new one and stopped working at "
        "2026-11-24 11:00 UTC: send the new token.",
        "code": "token_expired",
    }


def test_a_token_never_issued_gets_the_plain_401(client, msp_token):
    response = read(client, "shb_" + "x" * 43)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_rotation_is_audited_without_the_token(client, old_token, prefix):
    with clock.frozen(T0):
        new = rotate(prefix, "--overlap-hours", "6")
    event = AuditEvent.objects.get()
    client_row = ApiClient.objects.get()
    assert event.action == Action.UPDATE
    assert (event.object_type, event.object_id) == ("accounts.apiclient", str(client_row.pk))
    assert event.actor.startswith("command line")
    assert event.detail == {
        "change": "token_rotated",
        "token_prefix": new[:10],
        "previous_token_prefix": prefix,
        "previous_token_until": "2026-11-24T15:00:00Z",
    }
    everything = str(AuditEvent.objects.values().get())
    for secret in (new, old_token, hash_token(new), hash_token(old_token)):
        assert secret not in everything


def test_an_overlap_of_zero_refuses_the_old_token_at_once(client, old_token, prefix):
    with clock.frozen(T0):
        out = run("rotate", prefix, "--overlap-hours", "0")
        assert "is refused now" in out
        response = read(client, old_token)
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


def test_a_second_rotation_during_the_overlap_is_refused(client, old_token, prefix):
    with clock.frozen(T0):
        new = rotate(prefix)
    with clock.frozen(T0 + HOUR), pytest.raises(CommandError, match="still accepted until"):
        run("rotate", new[:10])
    assert ApiClient.objects.get().token_hash == hash_token(new)
    assert AuditEvent.objects.count() == 1
    # After the overlap, or with no overlap, it goes ahead.
    with clock.frozen(T0 + 25 * HOUR):
        newer = rotate(new[:10])
        assert accepted(client, newer)
        assert accepted(client, new)
        assert read(client, old_token).json()["code"] == "unauthenticated"


def test_a_leaked_token_can_be_replaced_during_an_overlap(client, old_token, prefix):
    with clock.frozen(T0):
        new = rotate(prefix)
    with clock.frozen(T0 + HOUR):
        newer = rotate(new[:10], "--overlap-hours", "0")
        assert accepted(client, newer)
        assert not accepted(client, new)
        assert not accepted(client, old_token)


def test_the_overlap_is_at_most_a_week(prefix):
    with pytest.raises(CommandError, match="between 0 and 168 hours"):
        run("rotate", prefix, "--overlap-hours", "169")
    with pytest.raises(CommandError, match="between 0 and 168 hours"):
        run("rotate", prefix, "--overlap-hours", "-1")
    assert not AuditEvent.objects.exists()


def test_rotate_needs_the_current_prefix_of_an_active_client(prefix):
    with pytest.raises(CommandError, match="No active client has a token starting shb_nope"):
        run("rotate", "shb_nope")
    run("revoke", prefix)
    with pytest.raises(CommandError, match="No active client"):
        run("rotate", prefix)


def test_revoking_the_old_prefix_ends_the_overlap_only(client, old_token, prefix):
    with clock.frozen(T0):
        new = rotate(prefix)
    with clock.frozen(T0 + HOUR):
        out = run("revoke", prefix)
        assert "still works" in out
        assert not accepted(client, old_token)
        assert accepted(client, new)
    event = AuditEvent.objects.order_by("id").last()
    assert event.detail == {"change": "previous_token_ended", "token_prefix": prefix}


def test_revoking_the_current_prefix_refuses_both_tokens(client, old_token, prefix):
    with clock.frozen(T0):
        new = rotate(prefix)
    with clock.frozen(T0 + HOUR):
        run("revoke", new[:10])
        responses = [read(client, new), read(client, old_token)]
    for response in responses:
        assert response.status_code == 401
        assert response.json() == {
            "detail": "This token was revoked at 2026-11-24 10:00 UTC: ask the hub for a new one.",
            "code": "token_revoked",
        }
    event = AuditEvent.objects.order_by("id").last()
    assert (event.action, event.detail) == (
        Action.UPDATE,
        {"change": "revoked", "token_prefix": new[:10]},
    )


def test_list_shows_both_tokens_and_when_the_old_one_ends(old_token, prefix):
    with clock.frozen(T0):
        new = rotate(prefix, "--overlap-hours", "24")
        assert run("list").splitlines() == [
            f"{new[:10]}…  MSP  Merseyside records system  active",
            f"  {prefix}…  (the token before) until 2026-11-25 09:00 UTC",
        ]
    with clock.frozen(T0 + 25 * HOUR):
        assert run("list").splitlines()[1] == (
            f"  {prefix}…  (the token before) refused since 2026-11-25 09:00 UTC"
        )
    out = run("list")
    assert old_token not in out and new not in out
