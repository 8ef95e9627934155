"""Session housekeeping."""

from importlib import import_module

from django.conf import settings


def sessions_clear_expired() -> str:
    """Delete the sessions that have expired (the worker's minute sweep): a signed-out or timed
    out session leaves nothing behind to steal."""
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()
    return "cleared"
