"""Form page on first load: transfer size (HTML + CSS + JS, gzip) and load time under
Chromium's "Slow 3G" emulation. Prints figures; goals: <= 60 KB and < 3 s.

    bin/serve &            # or any running instance
    .venv/bin/python bench/form_page.py [http://127.0.0.1:8000/]
"""

from __future__ import annotations

import gzip
import sys
import time
import urllib.request

from playwright.sync_api import sync_playwright

URL = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/"
# Chrome DevTools' "Slow 3G" preset: 400 ms latency, 400 kbit/s down and up (bytes/s).
SLOW_3G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 50_000,
    "uploadThroughput": 50_000,
}


def main() -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        page = context.new_page()
        urls: list[str] = []
        page.on("response", lambda r: urls.append(r.url))
        first = page.goto(URL, wait_until="load")
        if first is None or first.status != 200:
            # A throttled or failing page's size is not the form's.
            raise SystemExit(f"{URL} answered {first and first.status}: no figure")
        total_raw = total_gzip = 0
        for url in urls:
            with urllib.request.urlopen(url) as response:
                body = response.read()
            packed = len(gzip.compress(body, 9))
            total_raw += len(body)
            total_gzip += packed
            print(f"{url}: {len(body)} B, gzip {packed} B")
        raw_kb, gzip_kb = total_raw / 1024, total_gzip / 1024
        print(f"first load: {raw_kb:.1f} KB raw, {gzip_kb:.1f} KB gzip (goal <= 60 KB)")

        slow = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        slow_page = slow.new_page()
        cdp = slow.new_cdp_session(slow_page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        start = time.monotonic()
        again = slow_page.goto(URL, wait_until="load")
        if again is None or again.status != 200:
            raise SystemExit(f"{URL} answered {again and again.status} under Slow 3G: no figure")
        print(f"load under Slow 3G: {time.monotonic() - start:.2f} s (goal < 3 s)")
        browser.close()


if __name__ == "__main__":
    main()
