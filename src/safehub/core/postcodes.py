"""UK postcodes: validation, normalisation and the district (outward code)."""

import re

# The published UK postcode shape (outward code, inward code), plus the GIR 0AA special case.
_POSTCODE = re.compile(
    r"^(GIR ?0AA"
    r"|[A-PR-UWYZ](\d[A-HJKPSTUW\d]?|[A-HK-Y]\d[ABEHMNPRVWXY\d]?) ?\d[ABD-HJLNP-UW-Z]{2})$"
)


def postcode_normalise(value: str) -> str | None:
    """`ch416ab` → `CH41 6AB`; None when it is not a UK postcode."""
    compact = re.sub(r"\s+", "", value or "").upper()
    if not _POSTCODE.match(compact):
        return None
    return f"{compact[:-3]} {compact[-3:]}"


def postcode_district(postcode: str) -> str:
    """The outward code of a normalised postcode: `CH41 6AB` → `CH41`."""
    return postcode.split(" ", 1)[0]
