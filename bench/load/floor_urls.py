"""The framework floor: a bare Django view that parses the same multipart body with
Django's own parser and writes each file to disk, then answers 201.

Django's TemporaryFileUploadHandler writes every file part to a file on disk as the
parser hands it over (at Django's default chunk size), the least a view must do to keep
an upload; the files are then closed, which deletes them, so the bench does not fill
the disk. Same settings, middleware and gunicorn as the application."""

from __future__ import annotations

from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def sink(request: HttpRequest) -> HttpResponse:
    # Django's own handler, not the application's encrypting one (settings stay the same).
    request.upload_handlers = [TemporaryFileUploadHandler(request)]
    files = [f for name in request.FILES for f in request.FILES.getlist(name)]
    for upload in files:
        if upload.file is not None:
            upload.file.flush()  # the last chunk reaches the disk, not only a buffer
        upload.close()
    return HttpResponse(status=201 if files and request.POST else 400)


urlpatterns = [path("api/v1/intake/reports/", sink)]
