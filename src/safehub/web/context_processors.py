from typing import Any

from django.conf import settings
from django.http import HttpRequest


def safehub(request: HttpRequest) -> dict[str, Any]:
    return {"settings_demo": settings.DEMO}
