"""The police notification contract (spec: notification-contract.md), as one validator.

`validate_notification` reads the raw body and returns the parsed notification or every problem
found, each with its location, so that a force's developer can fix a body in one go. The same
pydantic models describe the body in the OpenAPI document, so the document and the checks cannot
drift apart.

Two passes: pydantic checks each field's type and shape (strict, so `false` is not a number and
`0` is not a date); then the rules that span fields (a victim is named, refs are unique, DASH keys
belong to the instrument...) run over the raw document, so they are reported even when some field
has a type error.
"""

import datetime as dt
import json
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from safehub.core.clock import LONDON
from safehub.core.identifiers import nhs_number_is_valid
from safehub.core.postcodes import postcode_normalise

MAX_PEOPLE = 50
MAX_BYTES = 1024 * 1024  # the contract's limit: the API answers 413, the import rejects
FUTURE_TOLERANCE = dt.timedelta(minutes=10)

INSTRUMENT_QUESTIONS = {"SAFELIVES_RIC_24": 24, "DASH_2009_27": 27, "DARA": 0}
ANSWER_VALUES = ("yes", "no", "not_known")


def _postcode(value: str) -> str:
    normalised = postcode_normalise(value)
    if normalised is None:
        raise ValueError("not a UK postcode")
    return normalised


def _nhs_number(value: str | None) -> str | None:
    if value is None:
        return None
    if not nhs_number_is_valid(value):
        raise ValueError("not a valid NHS number: 10 digits with a valid check digit")
    return value.replace(" ", "")


def _iso_datetime(value: Any) -> Any:
    """Only ISO 8601 text with an offset: pydantic alone would take a Unix time as well."""
    if not isinstance(value, str):
        raise ValueError("not an ISO 8601 date-time")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise ValueError("needs a UTC offset, e.g. 2026-11-20T22:15:00+00:00")
    return parsed


def _iso_date(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("not a date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError("not a date (YYYY-MM-DD)") from None


IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_datetime)]
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]

Postcode = Annotated[str, Field(examples=["CH41 6AB"]), AfterValidator(_postcode)]
Text = Annotated[str, Field(max_length=2000)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class Address(_Strict):
    line1: Annotated[str, Field(min_length=1, max_length=200)]
    line2: Annotated[str | None, Field(max_length=200)] = None
    town: Annotated[str | None, Field(max_length=100)] = None
    postcode: Postcode


class SafeContact(_Strict):
    phone: Annotated[str | None, Field(max_length=40)] = None
    safe_to_call: bool | None = None


class Identifiers(_Strict):
    pnc_id: Annotated[str | None, Field(max_length=40)] = None
    nhs_number: Annotated[str | None, AfterValidator(_nhs_number)] = None
    upn: Annotated[
        str | None,
        Field(pattern=r"^[A-Za-z]\d{11}[A-Za-z\d]$", description="DfE unique pupil number"),
    ] = None


class Risk(_Strict):
    instrument: Literal["SAFELIVES_RIC_24", "DASH_2009_27", "DARA"]
    answers: dict[str, Literal["yes", "no", "not_known"]] | None = Field(
        default=None,
        description='DASH only: keys "1".."24" or "1".."27"; a missing key means not asked.',
    )
    officer_grade: Literal["standard", "medium", "high"]
    officer_rationale: Annotated[str | None, Field(max_length=20000)] = None
    professional_judgement: bool = False


class Person(_Strict):
    ref: Annotated[str, Field(min_length=1, max_length=20)]
    role: Literal["victim", "suspect", "child", "adult_other"]
    given_names: Annotated[str, Field(min_length=1, max_length=200)]
    family_name: Annotated[str, Field(min_length=1, max_length=200)]
    date_of_birth: IsoDate | None = None
    age_estimate: Annotated[int | None, Field(ge=0, le=120)] = None
    sex: Literal["M", "F", "U"] | None = None
    unborn: bool = False
    expected_date_of_birth: IsoDate | None = None
    address: Address | None = None
    lives_at_incident_address: bool | None = None
    safe_contact: SafeContact | None = None
    identifiers: Identifiers | None = None
    present_at_incident: bool | None = None
    witnessed: bool | None = None
    injured: bool | None = None
    school_urn: Annotated[str | None, Field(pattern=r"^\d{6}$")] = None
    voice_of_child: Annotated[str | None, Field(max_length=20000)] = None
    arrested: bool | None = None


class Relationship(_Strict):
    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)

    from_: Annotated[str, Field(alias="from")]
    to: str
    type: Literal[
        "partner", "ex_partner", "parent", "step_parent", "sibling", "other_family", "other"
    ]


class Officer(_Strict):
    collar_number: Annotated[str, Field(min_length=1, max_length=20)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: Annotated[str | None, Field(max_length=254)] = None


class NotificationBody(_Strict):
    """A police domestic-abuse notification, as the force's records system sends it."""

    schema_version: Literal["1"]
    force_code: Annotated[str, Field(min_length=2, max_length=16, pattern=r"^[A-Z0-9]+$")]
    incident_reference: Annotated[
        str, Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7E]([\x20-\x7E]*[\x21-\x7E])?$")
    ]
    occurred_at: IsoDateTime
    recorded_at: IsoDateTime
    incident_address: Address
    crime_recorded: bool
    offences: list[Annotated[str, Field(max_length=500)]] = Field(default_factory=list)
    summary: Annotated[str | None, Field(max_length=20000)] = None
    risk: Risk
    people: Annotated[list[Person], Field(min_length=1, max_length=MAX_PEOPLE)]
    relationships: list[Relationship] = Field(default_factory=list)
    consent_to_share: Literal["given", "refused", "not_sought"] | None = None
    officer: Officer


Error = dict[str, Any]

_MESSAGES = {
    "missing": "required",
    "datetime_parsing": "not an ISO 8601 date-time",
    "datetime_from_date_parsing": "not an ISO 8601 date-time",
    "datetime_type": "not an ISO 8601 date-time",
    "timezone_aware": "needs a UTC offset, e.g. 2026-11-20T22:15:00+00:00",
    "date_parsing": "not a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "not a date (YYYY-MM-DD)",
    "date_type": "not a date (YYYY-MM-DD)",
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
}


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    loc = error["loc"]
    if kind == "literal_error" and len(loc) >= 2 and loc[-2] == "answers":
        return "value must be yes, no or not_known"
    if kind == "literal_error":
        return "must be one of " + error["ctx"]["expected"].replace("'", "")
    if kind == "too_long" and loc == ("people",):
        return f"at most {MAX_PEOPLE} people in one notification"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    return str(error["msg"])


def _parse_dt(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _parse_date(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _cross_field_errors(doc: dict[str, Any], now: dt.datetime) -> list[Error]:
    """The rules that span fields, run over the raw document, tolerant of wrong types."""
    errors: list[Error] = []
    limit = now + FUTURE_TOLERANCE
    today = now.astimezone(LONDON).date()

    occurred, recorded = _parse_dt(doc.get("occurred_at")), _parse_dt(doc.get("recorded_at"))
    for name, value in (("occurred_at", occurred), ("recorded_at", recorded)):
        if value is not None and value > limit:
            errors.append({"loc": [name], "msg": "in the future"})
    if occurred and recorded and recorded < occurred:
        errors.append({"loc": ["recorded_at"], "msg": "earlier than occurred_at"})

    risk = doc.get("risk")
    if isinstance(risk, dict):
        instrument = risk.get("instrument")
        answers = risk.get("answers")
        questions = INSTRUMENT_QUESTIONS.get(instrument) if isinstance(instrument, str) else None
        if questions == 0 and answers:
            errors.append(
                {"loc": ["risk", "answers"], "msg": "DARA takes no answers: send the grade"}
            )
        elif questions and isinstance(answers, dict):
            valid_keys = {str(n) for n in range(1, questions + 1)}
            for key in answers:
                if key not in valid_keys:
                    errors.append(
                        {"loc": ["risk", "answers", key], "msg": f"not a question of {instrument}"}
                    )

    people = doc.get("people")
    refs: set[str] = set()
    if isinstance(people, list):
        roles = [p.get("role") for p in people if isinstance(p, dict)]
        if "victim" not in roles:
            errors.append({"loc": ["people"], "msg": "no person with role victim"})
        for i, person in enumerate(people):
            if not isinstance(person, dict):
                continue
            ref = person.get("ref")
            if isinstance(ref, str):
                if ref in refs:
                    errors.append({"loc": ["people", i, "ref"], "msg": f"ref {ref} used twice"})
                refs.add(ref)
            dob = _parse_date(person.get("date_of_birth"))
            if dob is not None and dob > today:
                errors.append({"loc": ["people", i, "date_of_birth"], "msg": "in the future"})
            unborn = person.get("unborn") is True
            if unborn and person.get("role") != "child":
                errors.append({"loc": ["people", i, "unborn"], "msg": "only a child can be unborn"})
            if unborn and person.get("date_of_birth") is not None:
                errors.append(
                    {
                        "loc": ["people", i, "date_of_birth"],
                        "msg": "an unborn child has no date of birth: send expected_date_of_birth",
                    }
                )
            if person.get("expected_date_of_birth") is not None and not unborn:
                errors.append(
                    {
                        "loc": ["people", i, "expected_date_of_birth"],
                        "msg": "only for an unborn child (unborn: true)",
                    }
                )
            if (
                person.get("role") == "child"
                and not unborn
                and person.get("date_of_birth") is None
                and person.get("age_estimate") is None
            ):
                errors.append(
                    {
                        "loc": ["people", i, "date_of_birth"],
                        "msg": "a child needs date_of_birth or age_estimate",
                    }
                )
            if (
                person.get("role") == "child"
                and person.get("lives_at_incident_address") is False
                and person.get("address") is None
            ):
                # Not an error: the contact is kept and routed by a person. Nothing to add here.
                pass

    relationships = doc.get("relationships")
    if isinstance(relationships, list) and isinstance(people, list):
        for i, rel in enumerate(relationships):
            if not isinstance(rel, dict):
                continue
            for end in ("from", "to"):
                ref = rel.get(end)
                if isinstance(ref, str) and ref not in refs:
                    errors.append(
                        {"loc": ["relationships", i, end], "msg": f"no person with ref {ref}"}
                    )
    return errors


def validate_notification(
    raw: bytes, *, now: dt.datetime
) -> tuple[NotificationBody | None, list[Error]]:
    """Parse and check a raw body. Returns the notification, or None and every problem found."""
    if len(raw) > MAX_BYTES:
        return None, [{"loc": ["body"], "msg": f"larger than {MAX_BYTES} bytes (1 MiB)"}]
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, [{"loc": ["body"], "msg": f"not valid JSON: {exc}"}]
    if not isinstance(doc, dict):
        return None, [{"loc": ["body"], "msg": "must be a JSON object"}]

    errors: list[Error] = []
    parsed: NotificationBody | None = None
    try:
        parsed = NotificationBody.model_validate_json(raw)
    except ValidationError as exc:
        errors.extend(
            {"loc": list(e["loc"]), "msg": _message(e)}  # type: ignore[arg-type]
            for e in exc.errors(include_url=False)
        )
    errors.extend(_cross_field_errors(doc, now))
    if errors:
        unique: dict[tuple[str, str], Error] = {}
        for error in errors:
            unique.setdefault((json.dumps(error["loc"]), error["msg"]), error)
        return None, list(unique.values())
    return parsed, []
