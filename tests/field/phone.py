"""A witness's phone on a slow or broken uplink, in real Chromium, for the field tests and
bench/slow_network.py.

The link is shaped through the DevTools protocol (``Network.emulateNetworkConditions``):
it throttles request bodies as well as answers, adds latency to every request, and
"offline" fails the requests in flight at once, as a lost signal does. ``TusLog`` records
what the page's tus client did, with the browser's own timings, so goodput and the bytes
a drop cost are measured from the outside, not from the client's word.
"""

from __future__ import annotations

import io
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

SEGMENT = 256 * 1024  # what a cut may cost at most: the server keeps every full segment


@dataclass(frozen=True)
class Uplink:
    name: str
    up: int  # bytes per second
    down: int  # bytes per second
    latency_ms: int

    @property
    def kbit(self) -> float:
        return self.up * 8 / 1000


# Chrome DevTools' "Slow 3G": 400 kbit/s each way, 400 ms.
SLOW_3G = Uplink("400 kbit/s (Slow 3G)", up=50_000, down=50_000, latency_ms=400)
EDGE = Uplink("64 kbit/s (2G)", up=8_000, down=30_000, latency_ms=600)
FAST_3G = Uplink("1.5 Mbit/s (3G)", up=187_500, down=200_000, latency_ms=150)
LTE = Uplink("10 Mbit/s (4G)", up=1_250_000, down=2_500_000, latency_ms=60)


class Link:
    """The page's network, shaped and cut on demand."""

    def __init__(self, context: Any, page: Any, uplink: Uplink) -> None:
        self.cdp = context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.uplink = uplink
        self.set(uplink)

    def set(self, uplink: Uplink, *, offline: bool = False) -> None:
        self.uplink = uplink
        self.cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": offline,
                "latency": uplink.latency_ms,
                "downloadThroughput": uplink.down,
                "uploadThroughput": uplink.up,
            },
        )

    def cut(self) -> None:
        self.set(self.uplink, offline=True)

    def restore(self) -> None:
        self.set(self.uplink)


@dataclass
class Exchange:
    method: str
    url: str
    offset: int | None  # Upload-Offset sent with a PATCH
    started: float  # epoch seconds, browser clock
    ended: float | None = None
    status: int | None = None  # None: failed, no answer
    answered_offset: int | None = None


class TusLog:
    """Every tus request the page made, in order, with the browser's timings."""

    def __init__(self, page: Any) -> None:
        self.exchanges: list[Exchange] = []
        self._open: dict[int, Exchange] = {}
        page.on("request", self._request)
        page.on("requestfinished", self._finished)
        page.on("requestfailed", self._failed)

    def _request(self, request: Any) -> None:
        if "/tus/" not in request.url:
            return
        offset = request.headers.get("upload-offset")
        exchange = Exchange(
            method=request.method,
            url=request.url,
            offset=int(offset) if offset is not None else None,
            started=time.time(),
        )
        self._open[id(request)] = exchange
        self.exchanges.append(exchange)

    def _finished(self, request: Any) -> None:
        exchange = self._open.pop(id(request), None)
        if exchange is None:
            return
        timing = request.timing
        if timing.get("startTime", -1) > 0:
            exchange.started = timing["startTime"] / 1000
            if timing.get("responseEnd", -1) >= 0:
                exchange.ended = exchange.started + timing["responseEnd"] / 1000
        exchange.ended = exchange.ended or time.time()
        response = request.response()
        if response is not None:
            exchange.status = response.status
            answered = response.headers.get("upload-offset")
            exchange.answered_offset = int(answered) if answered is not None else None

    def _failed(self, request: Any) -> None:
        exchange = self._open.pop(id(request), None)
        if exchange is not None:
            exchange.ended = time.time()

    def patches(self, url: str | None = None) -> list[Exchange]:
        return [e for e in self.exchanges if e.method == "PATCH" and url in (None, e.url)]

    def heads(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.method == "HEAD" and e.status == 200]

    def sending_time(self) -> float:
        """From the first PATCH leaving to the last one answered, everything between
        (creations, HEADs, waits) included."""
        patches = [p for p in self.patches() if p.ended is not None]
        return max(p.ended or 0 for p in patches) - min(p.started for p in patches)


def noise_jpeg(path: Path, size: int) -> Path:
    """A real JPEG of about ``size`` bytes: noise does not compress, like a photo's detail."""
    pixels = max(64 * 64, int(size / 0.76))
    width = int((pixels * 4 / 3) ** 0.5)
    height = max(64, pixels // width)
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    path.write_bytes(out.getvalue())
    return path


def noise_video(path: Path, size: int, ffmpeg: str = "ffmpeg") -> Path:
    """A real H.264 MP4 of about ``size`` bytes (six seconds of moving noise)."""
    seconds = 6
    kbit = size * 8 // 1000 // seconds
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi",
         "-i", "color=c=gray:s=320x240:r=25,noise=alls=60:allf=t+u", "-t", str(seconds),
         "-c:v", "libx264", "-preset", "ultrafast", "-b:v", f"{kbit}k", "-maxrate", f"{kbit}k",
         "-bufsize", f"{kbit // 2}k", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)],
        check=True,
    )  # fmt: skip
    return path


def mp4_like(path: Path, size: int) -> Path:
    """An ISO-BMFF header and random bytes: a video by its first bytes, quick to make at
    any size (the worker refuses it later; the upload is what is measured)."""
    ftyp = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    with path.open("wb") as out:
        out.write(ftyp)
        out.write((size - len(ftyp)).to_bytes(4, "big") + b"mdat")
        left = size - len(ftyp) - 8
        while left:
            step = min(left, 4 * 1024 * 1024)
            out.write(os.urandom(step))
            left -= step
    return path


# Every state each row takes, as it happens (a poll would miss short ones).
WATCH_STATES = """() => {
  window.testigoStates = [];
  new MutationObserver(records => records.forEach(r => {
    if (r.attributeName === "data-state") {
      window.testigoStates.push([r.target.querySelector(".upload-name").textContent,
                                 r.target.getAttribute("data-state")]);
    }
  })).observe(document.body, {subtree: true, attributes: true, attributeFilter: ["data-state"]});
}"""


# A stand-in Screen Wake Lock that records what the page asks of it (headless Chromium
# refuses the real one: there is no screen).
RECORD_WAKE_LOCK = """
window.testigoWake = [];
Object.defineProperty(navigator, "wakeLock", {configurable: true, value: {request: type => {
  window.testigoWake.push("request " + type);
  const listeners = [];
  const lock = {addEventListener: (name, f) => listeners.push(f), release: () => {
    window.testigoWake.push("release");
    listeners.forEach(f => f());
    return Promise.resolve();
  }};
  return Promise.resolve(lock);
}}});
"""


def send_report(page: Any, base_url: str, files: list[Path], text: str) -> None:
    """Fill the English form and send it; the page then sends the files itself."""
    page.goto(base_url + "/")
    page.evaluate(WATCH_STATES)
    page.get_by_label("What happened?").fill(text)
    page.get_by_label("Photos, videos or audio").set_input_files([str(f) for f in files])
    page.get_by_role("button", name="Send report").click()


def upload_rows(page: Any) -> list[dict[str, str]]:
    """What each upload row shows: state, figures, and the client's own counters."""
    return list(
        page.evaluate(
            """() => Array.from(document.querySelectorAll("li.upload")).map(li => ({
                name: li.querySelector(".upload-name").textContent,
                state: li.getAttribute("data-state") || "",
                said: li.querySelector(".upload-state").textContent,
                progress: li.querySelector(".upload-progress").textContent,
                sent: li.getAttribute("data-sent") || "0",
                left: li.getAttribute("data-left") || "",
            }))"""
        )
    )


def kept_files(page: Any) -> int | None:
    """How many files the page keeps in IndexedDB; None when there is no database."""
    result = page.evaluate(
        """async () => {
          const names = (await indexedDB.databases()).map(d => d.name);
          if (!names.includes("testigo")) return null;
          return await new Promise((resolve, reject) => {
            const open = indexedDB.open("testigo");
            open.onsuccess = () => {
              const db = open.result;
              if (!db.objectStoreNames.contains("uploads")) { db.close(); resolve(0); return; }
              const count = db.transaction("uploads").objectStore("uploads").count();
              count.onsuccess = () => { db.close(); resolve(count.result); };
              count.onerror = () => reject(count.error);
            };
            open.onerror = () => reject(open.error);
          });
        }"""
    )
    return None if result is None else int(result)
