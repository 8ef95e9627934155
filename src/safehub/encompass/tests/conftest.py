"""Encompass fixtures: the spec's high-risk example received as intake will receive it once
`encompass_open_for_contact` is wired in, and the people who read notices.

Morgan is the designated safeguarding lead of Birkenhead St Mary's (URN 900001), Amy's school;
Rowan leads Wallasey Park (URN 900002) and must see nothing of Amy; Edna runs Wirral's education
safeguarding inbox, which gets the notices of children without a known school.
"""

import pytest


@pytest.fixture
def receive(reference):
    """receive(body=None) → the notices made, by child ref (see bodies.receive_with_notices)."""
    from safehub.encompass.tests.bodies import receive_with_notices

    return receive_with_notices


@pytest.fixture
def morgan(make_user):
    return make_user("morgan", "URN900001", "education_safeguarding_lead")


@pytest.fixture
def rowan(make_user):
    return make_user("rowan", "URN900002", "education_safeguarding_lead")


@pytest.fixture
def edna(make_user):
    return make_user("edna", "EDU344", "education_safeguarding_lead")
