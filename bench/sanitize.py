"""Sanitizer throughput against other tools and two floors. Prints figures; no pass/fail.

Usage: .venv/bin/python bench/sanitize.py [--video-mb 600] [--jpegs 100]

Each tool runs as one process over the whole batch (its fastest honest mode):
  testigo   intake.sanitize.sanitize() over every file (hash in and out, verify)
  exiftool  exiftool -all= -o OUT/ FILES...
  mat2      mat2 over copies, default mode (when installed: apt-get install mat2)
  cp        cp FILES OUT/ (read and write the same bytes)
  floor     read, write, SHA-256 of input and output: work no correct tool can skip
Inputs (cached under var/bench/): the shared samples; N copies of a 12-megapixel phone
JPEG with full EXIF; one H.264 video of at least --video-mb MB made with ffmpeg.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "media-samples" / "files"
CACHE = ROOT / "var" / "bench"
PHONE_JPEG = SAMPLES / "jpeg_phone_full_4032x3024.jpg"

TESTIGO = """
import sys
from pathlib import Path
from intake.sanitize import sanitize
out = Path(sys.argv[1])
bad = 0
for src in sys.argv[2:]:
    if sanitize(src, out / Path(src).name).status != "clean":
        bad += 1
sys.exit(1 if bad else 0)
"""

FLOOR = """
import hashlib, sys
from pathlib import Path
out = Path(sys.argv[1])
for src in sys.argv[2:]:
    h_in, h_out = hashlib.sha256(), hashlib.sha256()
    with open(src, "rb") as f, open(out / Path(src).name, "wb") as g:
        while block := f.read(1 << 20):
            h_in.update(block)
            g.write(block)
    with open(out / Path(src).name, "rb") as g:
        while block := g.read(1 << 20):
            h_out.update(block)
"""


def make_jpegs(count: int) -> list[Path]:
    folder = CACHE / f"jpegs{count}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"IMG_{i:04d}.jpg" for i in range(count)]
    for path in paths:
        if not path.exists():
            shutil.copyfile(PHONE_JPEG, path)
    return paths


def make_video(min_mb: int) -> Path:
    path = CACHE / f"video_{min_mb}mb.mp4"
    if path.exists() and path.stat().st_size >= min_mb * 1_000_000:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    # Lossless H.264 of a noisy test pattern: about 2.5 MB a frame, so the file is large
    # without a long encode (a phone's 4K HEVC is similar in bytes per second).
    seconds = max(4, min_mb // 60)
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-vf", "noise=alls=40:allf=t+u",
         "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-c:a", "aac",
         "-metadata", "location=+42.2626-071.8023/", "-movflags", "+faststart", str(path)],
        check=True,
    )  # fmt: skip
    return path


def run(command: list[str]) -> tuple[float, int, int]:
    """Wall time, exit code and peak RSS (KiB) of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - start, os.waitstatus_to_exitcode(status), usage.ru_maxrss


def tools(files: list[Path], out: Path) -> dict[str, list[str]]:
    names = [str(f) for f in files]
    commands = {
        "testigo": [sys.executable, "-c", TESTIGO, str(out), *names],
        "exiftool": ["exiftool", "-q", "-q", "-m", "-all=", "-o", str(out) + "/", *names],
        "cp": ["cp", *names, str(out)],
        "floor": [sys.executable, "-c", FLOOR, str(out), *names],
    }
    if shutil.which("mat2"):
        # mat2 writes NAME.cleaned.EXT beside its input; give it copies in OUT.
        commands["mat2"] = [
            "sh",
            "-c",
            'cp "$@" "$0" && cd "$0" && exec mat2 * >/dev/null',
            str(out),
            *names,
        ]
    return commands


def bench(label: str, files: list[Path]) -> None:
    total_mb = sum(f.stat().st_size for f in files) / 1e6
    print(f"\n== {label}: {len(files)} files, {total_mb:.1f} MB")
    print(f"{'tool':10} {'seconds':>8} {'files/s':>9} {'MB/s':>8} {'peak MB':>8} {'exit':>5}")
    results: dict[str, float] = {}
    for name in ("testigo", "exiftool", "mat2", "cp", "floor"):
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            command = tools(files, Path(tmp)).get(name)
            if command is None:
                print(f"{name:10} not installed")
                continue
            seconds, code, peak_kib = run(command)
        results[name] = seconds
        print(f"{name:10} {seconds:8.2f} {len(files) / seconds:9.1f} {total_mb / seconds:8.1f} "
              f"{peak_kib / 1024:8.1f} {code:5d}")  # fmt: skip
    if "testigo" in results:
        for name, seconds in results.items():
            if name != "testigo":
                # Same inputs, so the ratio of times is the ratio of files/s and of MB/s.
                print(f"testigo speed / {name} speed = {seconds / results['testigo']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jpegs", type=int, default=100)
    parser.add_argument("--video-mb", type=int, default=600)
    parser.add_argument("--video-only", action="store_true")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    samples = sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.name != "MANIFEST.json")
    if not args.video_only:
        bench("shared samples", samples)
        bench("12 MP phone JPEGs", make_jpegs(args.jpegs))
    bench("video", [make_video(args.video_mb)])


if __name__ == "__main__":
    main()
