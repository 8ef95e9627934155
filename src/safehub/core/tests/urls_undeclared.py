"""The project's URLs plus one page the access matrix does not declare (for a test)."""

from django.http import HttpResponse
from django.urls import path

from safehub.urls import urlpatterns as project


def undeclared(request):
    return HttpResponse("a page nobody declared")


urlpatterns = [path("undeclared/", undeclared, name="undeclared"), *project]
