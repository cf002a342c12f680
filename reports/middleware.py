"""Middleware of the staff side."""

from __future__ import annotations

from collections.abc import Callable

from axes.middleware import AxesMiddleware
from django.http import HttpRequest, HttpResponse


class StaffAxesMiddleware:
    """django-axes' lockout response, for the staff admin only.

    Witness requests never reach axes: it records client addresses and user agents
    (fine for staff, never for a witness, promise 4).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.axes = AxesMiddleware(get_response)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/admin/"):
            return self.axes(request)  # type: ignore[no-any-return]
        return self.get_response(request)
