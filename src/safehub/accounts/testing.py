"""What tests share for two-factor sign-in: each persona's authenticator, and its codes.

The root conftest's `make_user` gives every person a confirmed authenticator with the key
`totp_key_for(username)`, so that a test signing in through the pages can work out the code
their phone would show (`totp_code_for`), from the device in the database.
"""

import hashlib

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from safehub.accounts.models import User
from safehub.accounts.twofactor import AUTHENTICATOR_NAME
from safehub.core import clock


def totp_key_for(username: str) -> str:
    """A known 20-byte key (hex) for the persona's authenticator: tests only."""
    return hashlib.sha256(f"safehub test authenticator {username}".encode()).hexdigest()[:40]


def authenticator_add(user: User) -> TOTPDevice:
    """A confirmed authenticator with the persona's known key, as if they had set it up."""
    return TOTPDevice.objects.create(
        user=user, name=AUTHENTICATOR_NAME, key=totp_key_for(user.get_username()), confirmed=True
    )


def totp_code(device: TOTPDevice, *, steps: int = 0) -> str:
    """The code the device's app shows now (by safehub's clock), or `steps` time steps away."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = clock.now().timestamp() + steps * device.step
    return str(totp.token()).zfill(device.digits)


def totp_code_for(username: str) -> str:
    """A code the person's authenticator would have that the server will accept now: the
    current one, or, when that was used already (a second sign-in within 30 seconds), the next
    one, which the server's one step of tolerance takes."""
    device = TOTPDevice.objects.get(user__username=username, confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = clock.now().timestamp()
    now = totp.t() + device.drift
    step = max(now, device.last_t + 1)
    if step > now + device.tolerance:
        raise AssertionError(f"{username}'s codes up to the next step are used: wait 30 seconds")
    totp.drift = step - totp.t()
    return str(totp.token()).zfill(device.digits)
