"""The police notification contract, end to end through the HTTP API."""

import json

import pytest

from safehub.audit.models import AuditEvent
from safehub.core.testing import example, example_bytes
from safehub.intake.models import Notification, NotificationVersion
from safehub.referrals.models import Contact

URL = "/api/v1/notifications"
EXAMPLES = [
    "notification-high-risk.json",
    "notification-no-children.json",
    "notification-two-authorities.json",
]


def post(client, body: bytes, token: str | None, **headers):
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.post(URL, data=body, content_type="application/json", **headers)


def put(client, force: str, ref: str, body: bytes, token: str):
    return client.put(
        f"{URL}/{force}/{ref}",
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def counts() -> tuple[int, int, int]:
    return (
        Notification.objects.count(),
        NotificationVersion.objects.count(),
        Contact.objects.count(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("name", EXAMPLES)
def test_every_valid_example_is_accepted_as_it_is(client, msp_token, name):
    response = post(client, example_bytes(name), msp_token)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "received_at", "contacts", "encompass"}
    children = [p["ref"] for p in example(name)["people"] if p["role"] == "child"]
    assert sorted(c["child_ref"] for c in body["contacts"]) == sorted(children)
    stored = Notification.objects.get(pk=body["id"])
    assert bytes(stored.versions.get(number=1).body) == example_bytes(name)


@pytest.mark.django_db
def test_invalid_example_lists_all_five_problems_and_stores_nothing(client, msp_token):
    response = post(client, example_bytes("invalid-several-errors.json"), msp_token)
    assert response.status_code == 422
    problems = {(".".join(str(p) for p in e["loc"]), e["msg"]) for e in response.json()["errors"]}
    assert ("occurred_at", "not an ISO 8601 date-time") in problems
    assert ("people", "no person with role victim") in problems
    assert ("people.0.date_of_birth", "in the future") in problems
    assert ("risk.answers.31", "not a question of SAFELIVES_RIC_24") in problems
    assert ("risk.answers.31", "value must be yes, no or not_known") in problems
    assert counts() == (0, 0, 0)
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_relationship_to_an_unknown_ref_is_reported_with_its_location(client, msp_token):
    # The invalid example also points a relationship at V1, who is not in the body.
    response = post(client, example_bytes("invalid-several-errors.json"), msp_token)
    locs = [e["loc"] for e in response.json()["errors"]]
    assert ["relationships", 0, "to"] in locs


@pytest.mark.django_db
def test_same_body_twice_gives_one_notification_and_the_same_ids(client, msp_token):
    first = post(client, example_bytes("notification-high-risk.json"), msp_token)
    again = post(client, example_bytes("notification-high-risk.json"), msp_token)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert counts() == (1, 1, 2)


@pytest.mark.django_db
def test_same_content_with_other_spacing_is_the_same_body(client, msp_token):
    post(client, example_bytes("notification-high-risk.json"), msp_token)
    compact = json.dumps(example("notification-high-risk.json")).encode()
    assert post(client, compact, msp_token).status_code == 200


@pytest.mark.django_db
def test_changed_body_on_post_is_a_conflict_that_names_the_key(client, msp_token):
    post(client, example_bytes("notification-high-risk.json"), msp_token)
    changed = example("notification-high-risk.json")
    changed["summary"] = "Amended summary."
    response = post(client, json.dumps(changed).encode(), msp_token)
    assert response.status_code == 409
    assert "MSP-26-004821" in response.json()["detail"]
    assert "PUT" in response.json()["detail"]
    assert counts() == (1, 1, 2)


@pytest.mark.django_db
def test_put_stores_version_two_and_keeps_version_one_byte_for_byte(client, msp_token):
    original = example_bytes("notification-high-risk.json")
    post(client, original, msp_token)
    changed = example("notification-high-risk.json")
    changed["summary"] = "Amended: a third child was found at the address."
    changed["people"].append(
        {
            "ref": "C3",
            "role": "child",
            "given_names": "Ivy",
            "family_name": "Example",
            "date_of_birth": "2020-02-02",
            "sex": "F",
        }
    )
    new_body = json.dumps(changed, indent=1).encode()
    response = put(client, "MSP", "MSP-26-004821", new_body, msp_token)
    assert response.status_code == 201, response.content
    notification = Notification.objects.get()
    assert notification.current_version == 2
    assert bytes(notification.versions.get(number=1).body) == original
    assert bytes(notification.versions.get(number=2).body) == new_body
    assert sorted(c["child_ref"] for c in response.json()["contacts"]) == ["C1", "C2", "C3"]
    assert set(Contact.objects.values_list("notification_version", flat=True)) == {2}


@pytest.mark.django_db
def test_put_of_the_current_body_changes_nothing(client, msp_token):
    post(client, example_bytes("notification-high-risk.json"), msp_token)
    response = put(
        client, "MSP", "MSP-26-004821", example_bytes("notification-high-risk.json"), msp_token
    )
    assert response.status_code == 200
    assert counts() == (1, 1, 2)


@pytest.mark.django_db
def test_put_of_an_unknown_notification_is_not_found(client, msp_token):
    response = put(
        client, "MSP", "MSP-26-004821", example_bytes("notification-high-risk.json"), msp_token
    )
    assert response.status_code == 404
    assert counts() == (0, 0, 0)


@pytest.mark.django_db
def test_put_whose_body_names_another_incident_is_refused(client, msp_token):
    post(client, example_bytes("notification-high-risk.json"), msp_token)
    other = example_bytes("notification-no-children.json")
    response = put(client, "MSP", "MSP-26-004821", other, msp_token)
    assert response.status_code == 422
    assert {"loc": ["incident_reference"], "msg": "does not match the address"} in (
        response.json()["errors"]
    )


@pytest.mark.django_db
def test_another_forces_token_is_forbidden(client, chs_token):
    response = post(client, example_bytes("notification-high-risk.json"), chs_token)
    assert response.status_code == 403
    assert counts() == (0, 0, 0)


@pytest.mark.django_db
def test_no_token_is_unauthorised(client, reference):
    response = post(client, example_bytes("notification-high-risk.json"), None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.django_db
def test_a_revoked_token_is_unauthorised(client, msp_token):
    from safehub.accounts.models import ApiClient

    ApiClient.objects.update(revoked_at="2026-01-01T00:00:00Z")
    assert post(client, example_bytes("notification-high-risk.json"), msp_token).status_code == 401


@pytest.mark.django_db
def test_a_body_over_one_mebibyte_is_too_large(client, msp_token):
    body = example("notification-high-risk.json")
    body["summary"] = "x" * (1024 * 1024)
    response = post(client, json.dumps(body).encode(), msp_token)
    assert response.status_code == 413
    assert counts() == (0, 0, 0)


@pytest.mark.django_db
def test_more_than_fifty_people_is_refused(client, msp_token):
    body = example("notification-no-children.json")
    body["people"] += [
        {"ref": f"A{i}", "role": "adult_other", "given_names": "Unknown", "family_name": "Unknown"}
        for i in range(49)
    ]
    response = post(client, json.dumps(body).encode(), msp_token)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"loc": ["people"], "msg": "at most 50 people in one notification"}
    ]


@pytest.mark.django_db
def test_idempotency_key_answers_the_same_and_refuses_reuse(client, msp_token):
    first = post(
        client, example_bytes("notification-high-risk.json"), msp_token, HTTP_IDEMPOTENCY_KEY="k-1"
    )
    again = post(
        client, example_bytes("notification-high-risk.json"), msp_token, HTTP_IDEMPOTENCY_KEY="k-1"
    )
    reused = post(
        client,
        example_bytes("notification-no-children.json"),
        msp_token,
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert (first.status_code, again.status_code, reused.status_code) == (201, 200, 409)
    assert again.json()["id"] == first.json()["id"]
    assert Notification.objects.count() == 1


@pytest.mark.django_db
def test_two_authorities_example_routes_each_child_to_their_council(client, msp_token):
    response = post(client, example_bytes("notification-two-authorities.json"), msp_token)
    by_child = {c["child_ref"]: c["local_authority"] for c in response.json()["contacts"]}
    # Ravi and the unborn child live at the incident address in Wallasey (Wirral, 344); Maya
    # lives with her grandparents in Liverpool (341).
    assert by_child == {"C1": "344", "U1": "344", "C2": "341"}


@pytest.mark.django_db
def test_unknown_school_and_unserved_postcode_are_kept_and_flagged(client, msp_token):
    body = example("notification-high-risk.json")
    body["incident_reference"] = "MSP-26-FLAGS"
    body["incident_address"]["postcode"] = "M1 1AE"  # Manchester: not served by this hub
    body["people"][2]["school_urn"] = "123456"
    response = post(client, json.dumps(body).encode(), msp_token)
    assert response.status_code == 201
    assert all(c["local_authority"] is None for c in response.json()["contacts"])
    notification = Notification.objects.get()
    assert notification.flags == ["unrouted", "unknown_school"]
    amy = Contact.objects.get(child_ref="C1")
    assert amy.school_urn == "123456" and amy.unknown_school


@pytest.mark.django_db
def test_split_district_goes_to_the_to_be_routed_list(client, msp_token):
    body = example("notification-high-risk.json")
    body["incident_address"]["postcode"] = "L9 5AB"  # Liverpool and Sefton share L9
    response = post(client, json.dumps(body).encode(), msp_token)
    assert {c["local_authority"] for c in response.json()["contacts"]} == {None}
    assert set(Contact.objects.values_list("routing", flat=True)) == {"split_district"}


@pytest.mark.django_db
def test_creation_is_audited_in_the_same_transaction(client, msp_token):
    response = post(client, example_bytes("notification-high-risk.json"), msp_token)
    event = AuditEvent.objects.get(object_type="intake.notification")
    assert event.action == "create"
    assert event.object_id == response.json()["id"]
    assert event.role == "integration_client"
    assert event.request_id == response["X-Request-ID"]


@pytest.mark.django_db
def test_read_back_by_the_sending_force(client, msp_token):
    post(client, example_bytes("notification-high-risk.json"), msp_token)
    response = client.get(f"{URL}/MSP/MSP-26-004821", HTTP_AUTHORIZATION=f"Bearer {msp_token}")
    assert response.status_code == 200
    assert response.json()["body"] == example("notification-high-risk.json")
    assert response.json()["current_version"] == 1


@pytest.mark.django_db
def test_read_back_by_another_force_is_not_found(client, msp_token, chs_token):
    post(client, example_bytes("notification-high-risk.json"), msp_token)
    response = client.get(f"{URL}/MSP/MSP-26-004821", HTTP_AUTHORIZATION=f"Bearer {chs_token}")
    assert response.status_code == 404


@pytest.mark.django_db
def test_read_back_by_hub_staff_in_scope_only(client, msp_token, alice, bob):
    post(client, example_bytes("notification-high-risk.json"), msp_token)
    client.force_login(alice)
    assert client.get(f"{URL}/MSP/MSP-26-004821").status_code == 200
    client.force_login(bob)
    assert client.get(f"{URL}/MSP/MSP-26-004821").status_code == 404


@pytest.mark.django_db
def test_openapi_document_describes_the_contract_and_its_errors(client):
    schema = client.get("/api/v1/openapi.json").json()
    post_op = schema["paths"]["/api/v1/notifications"]["post"]
    assert post_op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NotificationBody"
    }
    assert {"200", "201", "401", "403", "409", "413", "422"} <= set(post_op["responses"])
    body = schema["components"]["schemas"]["NotificationBody"]
    assert set(body["required"]) >= {
        "schema_version",
        "force_code",
        "incident_reference",
        "occurred_at",
        "recorded_at",
        "incident_address",
        "crime_recorded",
        "risk",
        "people",
        "officer",
    }
    assert "Person" in schema["components"]["schemas"]
    assert client.get("/api/v1/docs").status_code == 200


def test_the_kept_copies_of_the_contract_examples_match_the_published_ones():
    from safehub.core.testing import EXAMPLES_DIR, SHARED_EXAMPLES_DIR

    if not SHARED_EXAMPLES_DIR.is_dir():
        pytest.skip("the published spec (../shared/spec) is not beside this clone")
    published = {p.name: p.read_bytes() for p in SHARED_EXAMPLES_DIR.iterdir()}
    kept = {p.name: p.read_bytes() for p in EXAMPLES_DIR.iterdir()}
    assert kept == published


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["4102444800", "2026-11-20 22:15", "20/11/2026 22:15"])
def test_only_iso_8601_times_with_an_offset_are_accepted(client, msp_token, value):
    body = example("notification-high-risk.json")
    body["occurred_at"] = value
    response = post(client, json.dumps(body).encode(), msp_token)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["occurred_at"]
    assert counts() == (0, 0, 0)


@pytest.mark.django_db
def test_a_unix_time_is_not_a_date_of_birth(client, msp_token):
    body = example("notification-high-risk.json")
    body["people"][2]["date_of_birth"] = "4102444800"
    response = post(client, json.dumps(body).encode(), msp_token)
    assert {"loc": ["people", 2, "date_of_birth"], "msg": "not a date (YYYY-MM-DD)"} in (
        response.json()["errors"]
    )


@pytest.mark.django_db
def test_a_baby_born_today_in_london_is_not_born_in_the_future(client, msp_token):
    import datetime as dt

    from safehub.core import clock

    body = example("notification-high-risk.json")
    body["people"][3]["date_of_birth"] = "2026-06-21"
    body["occurred_at"] = "2026-06-21T00:05:00+01:00"
    body["recorded_at"] = "2026-06-21T00:20:00+01:00"
    # 00:30 British Summer Time on 21 June is still 20 June in UTC.
    with clock.frozen(dt.datetime(2026, 6, 20, 23, 30, tzinfo=dt.UTC)):
        response = post(client, json.dumps(body).encode(), msp_token)
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_an_idempotency_key_over_255_characters_is_refused(client, msp_token):
    response = post(
        client,
        example_bytes("notification-high-risk.json"),
        msp_token,
        HTTP_IDEMPOTENCY_KEY="k" * 256,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert counts() == (0, 0, 0)


@pytest.mark.django_db
def test_health_practitioner_is_refused_a_notification_she_cannot_see(client, msp_token, harriet):
    post(client, example_bytes("notification-high-risk.json"), msp_token)
    client.force_login(harriet)
    assert client.get(f"{URL}/MSP/MSP-26-004821").status_code == 404


@pytest.mark.django_db
def test_an_amendment_does_not_move_an_allocated_childs_contact(client, msp_token, alice):
    post(client, example_bytes("notification-high-risk.json"), msp_token)
    Contact.objects.filter(child_ref="C1").update(assigned_to=alice)
    changed = example("notification-high-risk.json")
    changed["people"][2]["address"] = {"line1": "1 New Street", "postcode": "L8 1AA"}
    changed["people"][2]["lives_at_incident_address"] = False
    put(client, "MSP", "MSP-26-004821", json.dumps(changed).encode(), msp_token)
    amy = Contact.objects.get(child_ref="C1")
    assert amy.local_authority.la_code == "344"  # still with Alice's council
    assert amy.reroute_to.la_code == "341"
    assert "re-route" in " ".join(amy.flag_labels)


@pytest.mark.django_db
def test_an_amendment_that_drops_a_child_marks_the_contact_and_tells_its_worker(
    client, msp_token, alice
):
    from safehub.core.models import OutboxMessage

    post(client, example_bytes("notification-high-risk.json"), msp_token)
    Contact.objects.filter(child_ref="C2").update(assigned_to=alice)
    changed = example("notification-high-risk.json")
    changed["people"] = [p for p in changed["people"] if p["ref"] != "C2"]
    changed["relationships"] = [
        r for r in changed["relationships"] if "C2" not in (r["from"], r["to"])
    ]
    response = put(client, "MSP", "MSP-26-004821", json.dumps(changed).encode(), msp_token)
    assert [c["child_ref"] for c in response.json()["contacts"]] == ["C1"]
    leo = Contact.objects.get(child_ref="C2")
    assert leo.withdrawn_in_version == 2
    assert "No longer named in version 2" in leo.flag_labels
    message = OutboxMessage.objects.get(reason="notification_amended")
    assert message.recipients == ["alice@hub.example"]
    assert "no longer names a child" in message.body
