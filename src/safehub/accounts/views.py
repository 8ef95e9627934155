from django.contrib.auth.views import LoginView
from django.http import HttpResponse, HttpResponseRedirect

from safehub.accounts.forms import SignInForm
from safehub.accounts.signin import signin_complete


class SignInView(LoginView):
    """The one sign-in page (the admin's login URL comes here too), with the lockout of
    SignInForm. `form_valid` is where a second step would go: instead of `signin_complete`, keep
    the user's id in the session and redirect to the step, which then calls `signin_complete`."""

    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form: SignInForm) -> HttpResponse:  # type: ignore[override]
        signin_complete(request=self.request, user=form.get_user())
        return HttpResponseRedirect(self.get_success_url())
