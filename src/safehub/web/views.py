from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)
    return HttpResponse("Bad request", status=400, content_type="text/plain")


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


API_PREFIX = "/api/"


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        # A path no API route matches (a reference with a line break in it, say): the API
        # answers in JSON, as its document says, never with a page.
        return JsonResponse({"detail": "No such resource.", "code": "not_found"}, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Server error.", "code": "server_error"}, status=500)
    return HttpResponse(loader.get_template("500.html").render(), status=500)
