from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse

from safehub.accounts.signin import SESSION_LAST_SEEN_AT, SESSION_SIGNED_IN_AT, session_end_reason
from safehub.core import clock


class SessionLimitsMiddleware:
    """End a signed-in session, on the server, when its time is up or its user may no longer sign
    in: SAFEHUB_SESSION_IDLE_MINUTES after its last request, SAFEHUB_SESSION_MAX_HOURS after
    sign-in, or at once once the user is disabled (Django's ModelBackend no longer returns an
    inactive user, so `request.user` is anonymous; this ends the session it leaves behind).

    It runs after AuthenticationMiddleware and before every view, the API's included: a session it
    ends is anonymous to all that follows, so pages send the person to sign in (where the message
    says why) and the API's staff-session auth answers 401.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if SESSION_KEY in session:
            user = request.user
            if not (user.is_authenticated and user.is_active):
                logout(request)  # disabled or removed: no message, nothing to explain to them
            else:
                reason = session_end_reason(
                    signed_in_at=session.get(SESSION_SIGNED_IN_AT),
                    last_seen_at=session.get(SESSION_LAST_SEEN_AT),
                )
                if reason is None:
                    session[SESSION_LAST_SEEN_AT] = clock.now().timestamp()
                else:
                    logout(request)
                    messages.info(request, reason)
        return self.get_response(request)
