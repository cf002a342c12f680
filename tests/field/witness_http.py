"""A witness's phone over HTTP, for the field tests: a browser without JavaScript (form
pages, their CSRF token and cookies, multipart posts paced like a slow uplink) and a tus
client (create, PATCH at a pace, HEAD), plus what the server then stored."""

from __future__ import annotations

import base64
import http.client
import json
import re
import time
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

from django.core.files.storage import storages

from intake.quarantine import plaintext_size
from intake.resumable import upload_key_hash
from reports.models import MediaItem, MediaStatus
from tests.factories.processes import multipart
from tests.field.clients import Exchange, paced_request, request

TUS = {"Tus-Resumable": "1.0.0"}
TUS_UPLINK = 48_000  # bytes/s: a tus client on a slow uplink


def eventually(predicate: Callable[[], Any], timeout: float = 180) -> bool:
    """Whether ``predicate`` comes true within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def _cookies(response: http.client.HTTPResponse) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def _page(address: str, path: str, cookies: dict[str, str]) -> tuple[str, dict[str, str]]:
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = connection.getresponse()
    html = response.read().decode()
    connection.close()
    return html, {**cookies, **_cookies(response)}


def receipt_page(address: str, answer: Exchange, cookies: dict[str, str]) -> str:
    """The page a browser reads after the form's redirect (post/redirect/get), with the
    session cookie the post's answer set."""
    jar: SimpleCookie = SimpleCookie()
    jar.load(answer.headers.get("set-cookie", ""))
    cookies = {**cookies, **{name: morsel.value for name, morsel in jar.items()}}
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request(
        "GET",
        answer.headers["location"],
        headers={
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            "Accept-Language": "es",
        },
    )
    html = connection.getresponse().read().decode()
    connection.close()
    return html


def _csrf(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def browser_form(address: str, path: str) -> tuple[str, dict[str, str]]:
    """What a browser holds after loading a form page: its CSRF token and cookies."""
    html, cookies = _page(address, path, {})
    return _csrf(html), cookies


def followup_session(address: str, code: str) -> tuple[str, dict[str, str]]:
    token, cookies = browser_form(address, "/follow-up/")
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request(
        "POST",
        "/follow-up/",
        body=f"csrfmiddlewaretoken={token}&code={code}",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        },
    )
    response = connection.getresponse()
    response.read()
    assert response.status == 302, response.status
    cookies = {**cookies, **_cookies(response)}
    html, cookies = _page(address, "/follow-up/", cookies)
    return _csrf(html), cookies


def form_post(
    address: str,
    path: str,
    fields: dict[str, str],
    data: bytes,
    *,
    token: str,
    cookies: dict[str, str],
    source: str,
    **pace: Any,
) -> Exchange:
    body, content_type = multipart(
        {"csrfmiddlewaretoken": token, **fields}, [("attachments", "IMG_0001.jpg", data)]
    )
    headers = {
        "Content-Type": content_type,
        "Accept-Language": "es",
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
    }
    return paced_request(address, "POST", path, headers, body, source=source, **pace)


def api_report(address: str, description: str) -> str:
    body, content_type = multipart({"description": description}, [])
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("POST", "/api/v1/intake/reports/", body, {"Content-Type": content_type})
    answer = connection.getresponse()
    data = answer.read()
    connection.close()
    assert answer.status == 201, data
    code: str = json.loads(data)["receipt_code"]
    return code


def tus_create(address: str, code: str, length: int) -> str:
    metadata = "receipt " + base64.b64encode(code.encode()).decode()
    response = request(
        address,
        "POST",
        "/tus/",
        {**TUS, "Upload-Length": str(length), "Upload-Metadata": metadata},
    )
    assert response.status == 201, response.status
    location = response.getheader("Location") or ""
    return re.sub(r"^https?://[^/]+", "", location)


def tus_patch(address: str, path: str, offset: int, data: bytes, **pace: Any) -> Exchange:
    headers = {
        **TUS,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
    }
    return paced_request(address, "PATCH", path, headers, data, **pace)


def head_offset(address: str, path: str) -> int:
    response = request(address, "HEAD", path, TUS)
    assert response.status == 200, response.status
    return int(response.getheader("Upload-Offset") or -1)


def settled_offset(address: str, path: str) -> int:
    """HEAD once the request that was cut has finished storing what it got."""
    previous = -1
    while True:
        time.sleep(1.5)
        offset = head_offset(address, path)
        if offset == previous:
            return offset
        previous = offset


def stored_bytes(item: MediaItem, below: int | None = None) -> int:
    """Plaintext bytes in the upload's stored parts (those starting below ``below``)."""
    quarantine = storages["quarantine"]
    return sum(
        plaintext_size(quarantine.size(name))
        for name in item.quarantine_parts
        if below is None or int(name.rsplit("/", 1)[1][:13]) < below
    )


def item_for(path: str) -> MediaItem:
    return MediaItem.objects.get(upload_key_hash=upload_key_hash(path.rstrip("/").split("/")[-1]))


def media_clean(item_id: Any) -> bool:
    return MediaItem.objects.filter(id=item_id, status=MediaStatus.CLEAN).exists()
