"""Checking an error answer whole: an RFC 9457 problem document (reports.problems)."""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any


def assert_problem(
    response: Any,
    *,
    status: int,
    code: str,
    detail: str | re.Pattern[str],
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """``detail`` is the exact text, or a pattern it must match whole when it carries a
    figure that moves (a throttle's wait)."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json", response["Content-Type"]
    body: dict[str, Any] = json.loads(response.content)
    if isinstance(detail, re.Pattern):
        assert detail.fullmatch(body["detail"]), body["detail"]
        detail = body["detail"]
    expected: dict[str, Any] = {
        "type": f"https://testigo.invalid/problems/{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        expected["errors"] = errors
    # A helper module gets no pytest assertion rewriting: say what differs.
    assert body == expected, f"{body!r} != {expected!r}"
    return body
