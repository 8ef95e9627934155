"""A password rule of safehub's own: not one that has appeared in a data breach.

The check reads a local copy of Have I Been Pwned's SHA-1 list, named by
`SAFEHUB_BREACHED_PASSWORDS_FILE`; safehub makes no call to the internet for it. Two layouts:

- a directory of range files, one per first five hex digits of the hash (`21BD1.txt`, or `21BD1`),
  each holding the rest of each hash and its count (`0018A45C4D1DEF81644B54AB7F969B88D65:3`): the
  range API's k-anonymity format, as `haveibeenpwned-downloader` writes it;
- one file of whole hashes and counts (`<40 hex>:<count>`), sorted by hash, searched by bisection
  (the full list is tens of gigabytes; a search reads a few dozen lines of it).

settings.py lists the rule only when the setting is given; without it the rule passes every
password.
"""

import hashlib
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError


def breached_password_count(password: str, *, source: Path) -> int:
    """How many times the list at `source` says the password was seen in a breach (0: never)."""
    digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
    if source.is_dir():
        return _count_in_range_files(source, digest)
    return _count_in_sorted_file(source, digest)


def _count(raw: str) -> int:
    # The range API pads answers with made-up suffixes of count 0: those are not breaches.
    raw = raw.strip()
    if not raw:
        return 1  # a list without counts: being on it is enough
    try:
        return int(raw)
    except ValueError:
        return 1


def _count_in_range_files(directory: Path, digest: str) -> int:
    prefix, suffix = digest[:5], digest[5:]
    for name in (f"{prefix}.txt", prefix, f"{prefix.lower()}.txt", prefix.lower()):
        path = directory / name
        if path.is_file():
            break
    else:
        return 0
    with path.open(encoding="ascii", errors="replace") as handle:
        for line in handle:
            candidate, _, count = line.strip().partition(":")
            if candidate.upper() == suffix:
                return _count(count)
    return 0


def _line_from(handle: BinaryIO, position: int) -> bytes:
    """The first whole line that starts at or after `position`."""
    if position == 0:
        handle.seek(0)
    else:
        handle.seek(position - 1)
        handle.readline()  # to the end of the line holding position - 1
    return handle.readline()


def _key(line: bytes) -> bytes:
    return line.split(b":", 1)[0].strip().upper()


def _count_in_sorted_file(path: Path, digest: str) -> int:
    target = digest.encode("ascii")
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        low, high = 0, size
        # The smallest position whose next line is the end or sorts at or after the hash.
        while low < high:
            middle = (low + high) // 2
            line = _line_from(handle, middle)
            if not line or _key(line) >= target:
                high = middle
            else:
                low = middle + 1
        line = _line_from(handle, low)
    if line and _key(line) == target:
        return _count(line.decode("ascii", errors="replace").partition(":")[2])
    return 0


class BreachedPasswordValidator:
    """Refuses a password found in the local breach list (see the module's docstring)."""

    def validate(self, password: str, user: Any = None) -> None:
        source = getattr(settings, "SAFEHUB_BREACHED_PASSWORDS_FILE", "")
        if not source:
            return
        if breached_password_count(password, source=Path(source)) > 0:
            raise ValidationError(
                "This password has appeared in a data breach, so others may try it. "
                "Choose a different password.",
                code="password_breached",
            )

    def get_help_text(self) -> str:
        return "Your password cannot be one that has appeared in a data breach."
