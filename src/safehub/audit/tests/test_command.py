"""`safehub audit seal` and `safehub audit verify`: what a person at the console sees, and the
exit status that cron and monitoring act on."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from safehub.audit.models import AuditEvent
from safehub.audit.tests.helpers import by_hand, make_events
from safehub.core import clock

pytestmark = pytest.mark.django_db


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("audit", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


@pytest.fixture
def log():
    """Twelve events, written a quarter of an hour ago."""
    return make_events(12, at=clock.now() - dt.timedelta(minutes=15))


def test_verify_passes_on_an_empty_log():
    assert _run("verify") == (
        0,
        "Checked 0 events: the audit chain is empty.\nOK: the audit chain is intact.\n",
    )


def test_seal_then_verify_passes_and_prints_the_head(log):
    assert _run("seal") == (0, "Sealed 12 audit events.\n")
    code, out = _run("verify")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Checked 12 events in the audit chain (seals 1 to 12)."
    assert lines[1].startswith("Head: 12:") and len(lines[1]) == len("Head: 12:") + 64
    assert lines[-1] == "OK: the audit chain is intact."
    assert _run("verify", "--anchor", lines[1].removeprefix("Head: "))[0] == 0


def test_verify_names_the_event_altered_by_hand(log):
    _run("seal")
    event = log[6]
    by_hand(
        "UPDATE audit_auditevent SET detail = %s WHERE id = %s",
        ['{"child": "someone else"}', event.pk],
    )
    code, out = _run("verify")
    assert code == 1
    assert f"BROKEN at seal 7: event {event.pk} was altered (its hash does not match)\n" in out
    at = event.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert f"  event {event.pk} at {at} by Alice Archer: view referrals.contact 1006\n" in out


def test_verify_fails_an_event_left_unsealed_past_the_max_lag(log):
    _run("seal")
    (old,) = make_events(1, at=clock.now() - dt.timedelta(hours=3))
    code, out = _run("verify")
    assert code == 1
    assert "NOT SEALED: 1 event is not in the chain 60 minutes after their time:\n" in out
    assert f"  event {old.pk} is not sealed, 3.0 hours after its time\n" in out


def test_verify_fails_an_event_inserted_with_an_old_time_once_sealed(log):
    _run("seal")
    (old,) = make_events(1, at=clock.now() - dt.timedelta(hours=3))
    _run("seal")
    code, out = _run("verify")
    assert code == 1
    assert f"BROKEN at seal 13: event {old.pk} was sealed late: it is dated " in out


def test_verify_warns_of_events_not_sealed_yet(log):
    code, out = _run("verify")
    assert code == 0
    ids = ", ".join(str(e.pk) for e in log[:5])
    assert (
        "Warning: 12 events older than 10 seconds are not sealed yet "
        f"(the sealer runs every minute): {ids}…\n"
    ) in out


def test_an_anchor_that_is_not_a_head_is_refused():
    with pytest.raises(CommandError, match="anchor"):
        call_command("audit", "verify", "--anchor", "12:nothex")


def test_the_events_table_is_left_as_it_was(log):
    before = list(AuditEvent.objects.order_by("id").values())
    _run("seal")
    _run("verify")
    assert list(AuditEvent.objects.order_by("id").values()) == before
