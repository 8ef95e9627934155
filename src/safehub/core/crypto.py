"""Encryption of the most dangerous fields at rest, in the application: a stolen database dump or
backup does not show a victim's address or safe phone number.

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) under a list of keys,
`settings.SAFEHUB_FIELD_KEYS`: the first key encrypts, every key decrypts. A key is rotated in
three steps, with no downtime: put the new key first in every process's list (the old one after
it), run `safehub keys rotate` (every value re-encrypted under the new key), then drop the old
key.

Until settings.py defines `SAFEHUB_FIELD_KEYS`, the keys come from `fallback_keys()`: the
environment's SAFEHUB_FIELD_KEYS, the demo's own key file, or one key derived from `SECRET_KEY`
(the tests).
"""

import base64
import binascii
import functools
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEMO_KEY_FILE = "demo-field-keys"
# Each part of safehub that derives a key from SECRET_KEY names its purpose: a key derived for
# another purpose is a different key.
_HKDF_INFO = b"safehub field encryption v1"


class DecryptionError(Exception):
    """A stored value that none of the keys opens: a key is missing from SAFEHUB_FIELD_KEYS, or
    the value was never encrypted (or was changed outside safehub)."""


def key_generate() -> str:
    """A new random key, as SAFEHUB_FIELD_KEYS takes it."""
    return Fernet.generate_key().decode("ascii")


def key_is_valid(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False


@functools.lru_cache(maxsize=4)
def key_derive(secret: str) -> str:
    """A key derived from a secret (HKDF-SHA256): the same secret gives the same key."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(raw).decode("ascii")


def demo_keys_file(var_dir: Path) -> Path:
    """The demonstration hub's key file (one key a line, the current one first), made once."""
    path = Path(var_dir) / DEMO_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # readable by its owner only from the start; the first process to get here wins
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path
        with os.fdopen(fd, "w") as handle:
            handle.write(key_generate() + "\n")
    return path


def fallback_keys() -> list[str]:
    """The keys when settings.py does not define SAFEHUB_FIELD_KEYS: the environment's
    SAFEHUB_FIELD_KEYS, else the demo's key file (as the settings block reads them, so that a
    database stays readable once the block is added), else one key derived from SECRET_KEY."""
    from_env = [k.strip() for k in os.environ.get("SAFEHUB_FIELD_KEYS", "").split(",")]
    if any(from_env):
        return [k for k in from_env if k]
    if getattr(settings, "DEMO", False) and getattr(settings, "VAR_DIR", None):
        return list(_demo_keys(str(settings.VAR_DIR)))
    return [key_derive(settings.SECRET_KEY)]


@functools.lru_cache(maxsize=2)
def _demo_keys(var_dir: str) -> tuple[str, ...]:
    # Read once per process: a demo process restarts to take a new key.
    return tuple(demo_keys_file(Path(var_dir)).read_text().split())


def field_keys() -> list[str]:
    """The keys in use, the current one first."""
    configured = getattr(settings, "SAFEHUB_FIELD_KEYS", None)
    if isinstance(configured, str):
        configured = configured.split(",")
    keys = [k.strip() for k in configured or [] if k and k.strip()]
    return keys or fallback_keys()


@functools.lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    fernets = []
    for number, key in enumerate(keys, start=1):
        if not key_is_valid(key):
            raise ImproperlyConfigured(
                f"SAFEHUB_FIELD_KEYS: key {number} of {len(keys)} is not a Fernet key "
                "(44 characters of URL-safe base64; `safehub keys generate` makes one)."
            )
        fernets.append(Fernet(key))
    return MultiFernet(fernets)


def _current() -> MultiFernet:
    return _fernet(tuple(field_keys()))


def encrypt(data: bytes) -> bytes:
    """The token of `data` under the current key (URL-safe base64 text, as bytes)."""
    return _current().encrypt(data)


def decrypt(token: bytes, *, what: str = "a value") -> bytes:
    """The data of a token made under any of the keys. `what` names the value in the error."""
    try:
        return _current().decrypt(token)
    except InvalidToken:
        raise DecryptionError(
            f"{what}: the stored value cannot be decrypted with any key in SAFEHUB_FIELD_KEYS "
            "(a key missing from the list, or a value that was never encrypted)."
        ) from None


def is_token(token: bytes) -> bool:
    """Whether `token` opens with one of the keys."""
    try:
        _current().decrypt(token)
    except InvalidToken:
        return False
    return True


def rotate(token: bytes, *, what: str = "a value") -> bytes:
    """The same data re-encrypted under the current key (its original time kept)."""
    try:
        return _current().rotate(token)
    except InvalidToken:
        raise DecryptionError(
            f"{what}: the stored value cannot be decrypted with any key in SAFEHUB_FIELD_KEYS, "
            "so it cannot be re-encrypted."
        ) from None
