"""Two workers pressing "Take the next contact" at the same moment, in two real browsers.

The claim rests on PostgreSQL's row locks (SELECT ... FOR UPDATE SKIP LOCKED): each press must
land on a different contact, and no contact may ever be given to two workers. SQLite takes a lock
on the whole database for every write, so the two presses are serialised there and the test would
prove nothing: it is skipped.

Both presses are scheduled in the pages for one shared instant on Chromium's clock (the two
browser contexts live in one browser process), so the two POSTs reach Django's threaded live
server together rather than one after the other; the test checks that they were in flight at
the same time. Three rounds, so a lucky serial ordering cannot hide a race.
"""

import json
import re
import time

import pytest

from safehub.core.testing import example, example_bytes
from tests.browser.test_hub_pages import sign_in, success_banner

CONTACT_URL = re.compile(r"/contacts/([0-9a-f-]+)/$")
ROUNDS = 3
# How far ahead both presses are scheduled: long enough for both pages to be told before the
# instant comes, short enough to keep the test quick. (Were it ever too short, the late page
# would press at once; the overlap check below is what proves the presses raced.)
LEAD_MS = 250

# Press the page's "Take the next contact" button at an instant given on the epoch clock (ms).
PRESS_AT = """(at) => {
    const button = [...document.querySelectorAll("button")].find(
        (b) => b.textContent.trim() === "Take the next contact"
    );
    if (!button) throw new Error("no 'Take the next contact' button on " + location.href);
    setTimeout(() => button.form.requestSubmit(button), Math.max(0, at - Date.now()));
}"""


@pytest.fixture(autouse=True)
def _postgresql_only():
    # Autouse: skips before the test's own fixtures put contacts and users in the database.
    from django.db import connections

    vendor = connections["default"].vendor
    if vendor != "postgresql":
        pytest.skip(
            f"needs PostgreSQL (the default database is {vendor}): SQLite serialises writes, "
            "so two simultaneous 'take next' presses cannot race there; "
            "set DATABASE_URL=postgres://..."
        )


@pytest.fixture
def queue(reference):
    """Ten received, unassigned contacts in Wirral's queue: the spec's two examples (four Wirral
    children) and the Birkenhead incident again under three more references (two children
    each)."""
    from safehub.intake.models import Channel
    from safehub.intake.services import notification_receive

    for name in ("notification-two-authorities.json", "notification-high-risk.json"):
        notification_receive(raw=example_bytes(name), channel=Channel.IMPORT)
    for n in range(1, 4):
        body = example("notification-high-risk.json")
        body["incident_reference"] = f"MSP-26-00770{n}"
        notification_receive(raw=json.dumps(body).encode(), channel=Channel.IMPORT)


def waiting_in_wirral() -> int:
    from safehub.referrals.models import Contact, ContactStatus

    return Contact.objects.filter(
        status=ContactStatus.RECEIVED, local_authority__code="LA344", assigned_to__isnull=True
    ).count()


def record_take_next_posts(page) -> list[dict]:
    """The timings of the page's POSTs to /take-next/, each added once it has been answered."""
    timings: list[dict] = []

    def on_finished(request) -> None:
        if request.method == "POST" and request.url.endswith("/take-next/"):
            timings.append(request.timing)

    page.on("requestfinished", on_finished)
    return timings


def in_flight(timing: dict) -> tuple[float, float]:
    """(sent, answered) on the epoch clock, in ms."""
    start = timing["startTime"]
    return start + max(timing["requestStart"], 0), start + timing["responseEnd"]


@pytest.mark.django_db(transaction=True)
def test_two_workers_pressing_take_next_at_once_get_two_different_contacts(
    make_page, live_server, assert_accessible, alice, make_user, queue
):
    from safehub.referrals.models import Contact, ContactStatus

    wendy = make_user("wendy", "LA344", "hub_social_worker")
    workers = (alice, wendy)
    assert waiting_in_wirral() >= 2 * ROUNDS + 1  # never short of candidates: None is no excuse

    pages = {}
    posts = {}
    for worker in workers:
        pages[worker.username] = make_page(base_url=live_server.url)  # one context each
        posts[worker.username] = record_take_next_posts(pages[worker.username])
        sign_in(pages[worker.username], assert_accessible, worker.username)

    taken_so_far: dict[str, str] = {}  # contact id -> username of the page that shows it
    for round_no in range(1, ROUNDS + 1):
        at = pages["alice"].evaluate("() => Date.now()") + LEAD_MS
        for page in pages.values():
            page.evaluate(PRESS_AT, at)

        shown: dict[str, str] = {}
        for username, page in pages.items():
            page.wait_for_url(CONTACT_URL, timeout=10_000)
            match = CONTACT_URL.search(page.url)
            assert match, page.url
            shown[username] = match.group(1)

        # The two POSTs overlapped: each was sent before the other was answered.
        deadline = time.monotonic() + 5
        while any(len(p) < round_no for p in posts.values()) and time.monotonic() < deadline:
            pages["alice"].wait_for_timeout(20)
        assert all(len(p) == round_no for p in posts.values()), posts
        (a_sent, a_answered), (w_sent, w_answered) = (
            in_flight(posts[u][-1]) for u in ("alice", "wendy")
        )
        assert a_sent < w_answered and w_sent < a_answered, (
            f"round {round_no}: the presses did not overlap "
            f"(alice {a_sent:.0f}-{a_answered:.0f}, wendy {w_sent:.0f}-{w_answered:.0f})"
        )

        assert shown["alice"] != shown["wendy"], f"round {round_no}: both got {shown['alice']}"
        for username, contact_id in shown.items():
            assert contact_id not in taken_so_far, (
                f"round {round_no}: {contact_id} was given to {taken_so_far[contact_id]} "
                f"and again to {username}"
            )
            taken_so_far[contact_id] = username

            contact = Contact.objects.select_related("assigned_to").get(pk=contact_id)
            assert contact.assigned_to is not None
            assert contact.assigned_to.username == username
            assert contact.status == ContactStatus.SCREENING
            page = pages[username]
            name = f"{contact.given_names} {contact.family_name}"
            assert f"You are screening {name}" in success_banner(page)
            assert page.get_by_role("heading", level=1).inner_text() == name
            assert_accessible(page)

        for page in pages.values():
            page.goto("/")

    # Every claim in the database is one the pages showed, each to its own worker.
    claimed = dict(
        Contact.objects.filter(assigned_to__isnull=False).values_list("pk", "assigned_to__username")
    )
    assert {str(pk): username for pk, username in claimed.items()} == taken_so_far
    assert len(taken_so_far) == 2 * ROUNDS
    assert set(
        Contact.objects.filter(status=ContactStatus.SCREENING).values_list("pk", flat=True)
    ) == set(claimed)
