"""`safehub import`: bulk intake through the same validation and services as the API."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from safehub.core.testing import example, example_bytes
from safehub.intake.imports import _iter_json_array
from safehub.intake.models import Notification, NotificationVersion
from safehub.referrals.models import Contact

GOOD = [
    "notification-high-risk.json",
    "notification-no-children.json",
    "notification-two-authorities.json",
]


def run_import(path) -> str:
    out = StringIO()
    call_command("import_notifications", str(path), "--no-progress", stdout=out)
    return out.getvalue()


@pytest.fixture
def jsonl(tmp_path):
    path = tmp_path / "notices.jsonl"
    lines = [json.dumps(example(name)) for name in GOOD]
    lines.insert(1, example_bytes("invalid-several-errors.json").decode().replace("\n", ""))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_import_stores_good_records_and_rejects_bad_ones_whole_with_every_reason(reference, jsonl):
    output = run_import(jsonl)
    assert "Read 4: 3 new, 0 already received, 1 rejected" in output
    assert Notification.objects.count() == 3
    assert Contact.objects.count() == 5
    rejects = jsonl.with_name("notices.jsonl.rejects.jsonl").read_text().splitlines()
    assert len(rejects) == 1
    reject = json.loads(rejects[0])
    assert reject["record"] == 2
    assert reject["notification"] == example("invalid-several-errors.json")
    assert len(reject["errors"]) >= 5


def test_running_the_same_file_again_imports_nothing_twice(reference, jsonl):
    run_import(jsonl)
    output = run_import(jsonl)
    assert "3 already received" in output
    assert (Notification.objects.count(), NotificationVersion.objects.count()) == (3, 3)
    assert Contact.objects.count() == 5


def test_a_json_array_file_is_read_as_well(reference, tmp_path):
    path = tmp_path / "notices.json"
    path.write_bytes(b"[\n" + b",\n".join(example_bytes(n) for n in GOOD) + b"\n]\n")
    assert "3 new" in run_import(path)
    # Each record is kept byte for byte as it stood in the file.
    stored = Notification.objects.get(incident_reference="MSP-26-004821").versions.get()
    assert bytes(stored.body) == example_bytes("notification-high-risk.json")


def test_array_streaming_handles_records_split_across_reads(tmp_path, monkeypatch):
    from safehub.intake import imports

    monkeypatch.setattr(imports, "_CHUNK", 7)
    path = tmp_path / "a.json"
    path.write_bytes(b' [ {"a": 1} , {"b": [1, 2, "]"]},{"c": "\xc3\xa9"} ] ')
    with path.open("rb") as handle:
        records = [r.raw for r in _iter_json_array(handle)]
    assert records == [b'{"a": 1}', b'{"b": [1, 2, "]"]}', b'{"c": "\xc3\xa9"}']


def test_a_changed_record_under_a_known_key_is_rejected_not_overwritten(reference, tmp_path):
    path = tmp_path / "notices.jsonl"
    path.write_text(json.dumps(example("notification-high-risk.json")) + "\n")
    run_import(path)
    changed = example("notification-high-risk.json")
    changed["summary"] = "Different."
    path.write_text(json.dumps(changed) + "\n")
    output = run_import(path)
    assert "1 rejected" in output
    assert Notification.objects.get().versions.count() == 1


def test_an_unregistered_force_is_stored_and_flagged(reference, tmp_path):
    body = example("notification-high-risk.json")
    body["force_code"] = "ZZZ"
    path = tmp_path / "notices.jsonl"
    path.write_text(json.dumps(body) + "\n")
    run_import(path)
    notification = Notification.objects.get()
    assert notification.force is None
    assert "unknown_force" in notification.flags


def test_a_file_that_is_not_there_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run_import(tmp_path / "missing.jsonl")


def test_a_character_split_between_two_reads_is_read_whole(tmp_path, monkeypatch):
    from safehub.intake import imports

    monkeypatch.setattr(imports, "_CHUNK", 8)
    path = tmp_path / "a.json"
    path.write_bytes('[{"n": "Zoé"}]'.encode())  # "é" is bytes 8 and 9 of the file
    with path.open("rb") as handle:
        assert [r.raw for r in _iter_json_array(handle)] == ['{"n": "Zoé"}'.encode()]


def test_a_record_over_one_mebibyte_is_rejected_as_the_api_would(reference, tmp_path):
    body = example("notification-high-risk.json")
    body["summary"] = "x" * (1024 * 1024)
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps(body) + "\n")
    assert "1 rejected" in run_import(path)
    assert not Notification.objects.exists()
