"""The witness form's first screen in each language at 390 x 844, in real Chromium: saves
docs/img/witness-first-screen-<language>.png and prints where the camera button, the file
chooser, the words and Send are (CSS pixels from the top left of the screen), on the
issue's three screens. Prints figures; it does not pass or fail.

    bin/serve &            # or any running instance
    .venv/bin/python bench/witness_screens.py [http://127.0.0.1:8000/]
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import ViewportSize, sync_playwright

URL = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/"
IMAGES = Path(__file__).resolve().parent.parent / "docs" / "img"
LANGUAGES = ["en", "es", "pt-BR", "ht"]
SCREENS: dict[str, ViewportSize] = {
    "320x640": {"width": 320, "height": 640},
    "390x844": {"width": 390, "height": 844},
    "390x844 at 200%": {"width": 195, "height": 422},
}
FIRST_SCREEN = {
    "camera": "label[for=id_camera]",
    "files": "label[for=id_attachments]",
    "words": "#id_description",
    "send": "#send-report",
}


def main() -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        for screen, viewport in SCREENS.items():
            for language in LANGUAGES:
                context = browser.new_context(
                    viewport=viewport, is_mobile=True, has_touch=True, locale=language
                )
                page = context.new_page()
                page.goto(URL, wait_until="load")
                where = []
                for name, selector in FIRST_SCREEN.items():
                    box = page.locator(selector).bounding_box()
                    assert box is not None, f"{selector} is not shown"
                    top, bottom = round(box["y"]), round(box["y"] + box["height"])
                    fits = "on screen" if bottom <= viewport["height"] else "below"
                    where.append(f"{name} x={round(box['x'])} y={top}..{bottom} ({fits})")
                print(f"{screen} {language}: " + "; ".join(where))
                if screen == "390x844":
                    page.screenshot(path=str(IMAGES / f"witness-first-screen-{language}.png"))
                context.close()
        browser.close()


if __name__ == "__main__":
    main()
