"""Test-only URLconf: the real one plus a view that always raises, to force a 500 through
the production error path. Never part of config/urls.py."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler400, handler404, handler500
from config.urls import urlpatterns as real_urlpatterns


def always_fails(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("forced failure for the privacy test")


urlpatterns = [path("privacy-test/boom/", always_fails), *real_urlpatterns]
# Django looks its error handlers up on the root URLconf: the production ones.
__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]
