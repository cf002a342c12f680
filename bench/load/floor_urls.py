"""A minimal Django view that streams the same request body to disk and answers 201."""

from __future__ import annotations

import tempfile

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def sink(request: HttpRequest) -> HttpResponse:
    with tempfile.NamedTemporaryFile(prefix="floor-") as out:
        while chunk := request.read(64 * 1024):
            out.write(chunk)
    return HttpResponse(status=201)


urlpatterns = [path("api/v1/intake/reports/", sink)]
