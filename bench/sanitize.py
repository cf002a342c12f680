"""Sanitizer throughput against other tools and two floors. Prints figures; no pass/fail.

Usage: .venv/bin/python bench/sanitize.py [--jpegs 100] [--video-mb 600] [--jobs N]
       [--repeat 3] [--video-only] [--no-samples] [--no-pyc-cache]
       [--hash-thread auto|on|off]

Each tool runs over the whole batch (its fastest honest mode), one process unless said:
  testigo   intake.sanitize.sanitize() over every file (hash in and out, verify)
  jobs      manage.py sanitize_media --jobs N (N worker processes; JPEG batch only)
  exiftool  exiftool -all= -o OUT/ FILES...
  mat2      mat2 over copies, default mode (when installed: apt-get install mat2)
  cp        cp FILES OUT/ (read and write the same bytes)
  floor     read, write, SHA-256 of input and output: work no correct tool can skip
Python children get a bytecode cache under var/bench/pycache unless --no-pyc-cache (this
machine's shells set PYTHONDONTWRITEBYTECODE). Every tool runs --repeat times, the tools
taking turns so a change in the machine's load falls on all of them; the best run of each
counts. The goal ratios are printed at the end with the load average at start and end
(the machine is shared).
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
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = (
    Path(os.environ.get("TESTIGO_SHARED_SAMPLES", ROOT.parent / "shared" / "media-samples"))
    / "files"
)
CACHE = ROOT / "var" / "bench"
PHONE_JPEG = SAMPLES / "jpeg_phone_full_4032x3024.jpg"

TESTIGO = """
import sys
from pathlib import Path
from intake.sanitize import _io, sanitize
_io.background_hashing = {"auto": None, "on": True, "off": False}[sys.argv[2]]
out = Path(sys.argv[1])
bad = 0
for src in sys.argv[3:]:
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


# --hash-thread, for the testigo child: auto (a thread when a core is idle), on, off.
HASH_THREAD = ["auto"]
# Environment of the measured children; main() sets the bytecode cache (see --no-pyc-cache).
CHILD_ENV = dict(os.environ)


def run(command: list[str]) -> tuple[float, int, int]:
    """Wall time, exit code and peak RSS (KiB) of one child process."""
    # Write back what the previous tool left dirty first, so that no run pays for another's
    # writes (the floor, which writes and re-reads, moved by 42-54 % between runs without
    # it, and within 7 % with it: docs/sanitizer.md).
    os.sync()
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=CHILD_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - start, os.waitstatus_to_exitcode(status), usage.ru_maxrss


def tools(files: list[Path], out: Path, jobs: int) -> dict[str, list[str]]:
    names = [str(f) for f in files]
    commands = {
        "testigo": [sys.executable, "-c", TESTIGO, str(out), HASH_THREAD[0], *names],
        "jobs": [
            *(sys.executable, "manage.py", "sanitize_media", "--jobs", str(jobs)),
            *("--out", str(out), *names),
        ],
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


class Result(NamedTuple):
    seconds: float
    files_s: float
    mb_s: float
    peak_mb: float
    exit: int


def bench(
    label: str, files: list[Path], names: tuple[str, ...], jobs: int, repeat: int
) -> dict[str, Result]:
    total_mb = sum(f.stat().st_size for f in files) / 1e6
    print(f"\n== {label}: {len(files)} files, {total_mb:.1f} MB, best of {repeat}")
    best: dict[str, tuple[float, int, int]] = {}
    for _ in range(repeat):
        for name in names:
            with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
                command = tools(files, Path(tmp), jobs).get(name)
                if command is None:
                    continue
                seconds, code, peak_kib = run(command)
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, code, max(peak_kib, best.get(name, (0, 0, 0))[2]))
    print(f"{'tool':10} {'seconds':>8} {'files/s':>9} {'MB/s':>8} {'peak MB':>8} {'exit':>5}")
    results: dict[str, Result] = {}
    for name in names:
        if name not in best:
            print(f"{name:10} not installed")
            continue
        seconds, code, peak_kib = best[name]
        results[name] = Result(
            seconds, len(files) / seconds, total_mb / seconds, peak_kib / 1024, code
        )
        print(f"{name:10} {seconds:8.2f} {len(files) / seconds:9.1f} {total_mb / seconds:8.1f} "
              f"{peak_kib / 1024:8.1f} {code:5d}")  # fmt: skip
    if "testigo" in results:
        for name, result in results.items():
            if name != "testigo":
                # Same inputs, so the ratio of times is the ratio of files/s and of MB/s.
                ratio = result.seconds / results["testigo"].seconds
                print(f"testigo speed / {name} speed = {ratio:.2f}")
    return results


def startup(repeat: int) -> float:
    """Best wall time of `manage.py sanitize_media --help`: Django's start-up, which every
    `sanitize_media --jobs` run pays before its first file."""
    return min(
        run([sys.executable, "manage.py", "sanitize_media", "--help"])[0] for _ in range(repeat)
    )


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def goals(
    jpeg: dict[str, Result], video: dict[str, Result], jobs: int, start_s: float | None
) -> None:
    print("\n== goals (ratios of speeds measured above, same run)")
    if jpeg:
        t, f = jpeg["testigo"], jpeg["floor"]
        print(
            f"1. JPEG batch, one process: testigo {t.files_s:.1f} files/s, floor "
            f"{f.files_s:.1f} files/s, ratio {t.files_s / f.files_s:.2f} (goal >= 0.8)"
        )
        j, e = jpeg["jobs"], jpeg["exiftool"]
        if j.exit != 0:
            print(f"3. JPEG batch, sanitize_media --jobs {jobs}: failed (exit {j.exit})")
        else:
            print(
                f"3. JPEG batch, sanitize_media --jobs {jobs}: {j.files_s:.1f} files/s, "
                f"exiftool batch {e.files_s:.1f} files/s, ratio {j.files_s / e.files_s:.2f} "
                "(goal >= 1.0)"
            )
            if start_s is not None:
                print(f"   of its {j.seconds:.2f} s, {start_s:.2f} s is Django's start-up "
                      "(manage.py sanitize_media --help, best run)")  # fmt: skip
    t, f = video["testigo"], video["floor"]
    print(f"2. video, one process: testigo {t.mb_s:.0f} MB/s, floor {f.mb_s:.0f} MB/s, ratio "
          f"{t.mb_s / f.mb_s:.2f} (goal >= 0.9); testigo peak RSS {t.peak_mb:.1f} MB "
          "(goal < 100)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jpegs", type=int, default=100)
    parser.add_argument("--video-mb", type=int, default=600)
    parser.add_argument("--video-only", action="store_true")
    parser.add_argument("--no-samples", action="store_true", help="skip the shared samples")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--no-pyc-cache",
        action="store_true",
        help="run Python children as this shell does (PYTHONDONTWRITEBYTECODE: every start "
        "compiles every module; Django's start-up then takes seconds)",
    )
    parser.add_argument(
        "--hash-thread",
        choices=("auto", "on", "off"),
        default="auto",
        help="testigo: hash on a second thread when a core is idle (auto), always, never",
    )
    args = parser.parse_args()
    HASH_THREAD[0] = args.hash_thread
    print(f"testigo hash thread: {args.hash_thread}")
    if not args.no_pyc_cache:
        # As an installed program runs: bytecode compiled once (kept under var/bench, not in
        # the source tree). The first of the --repeat runs writes it.
        CHILD_ENV.pop("PYTHONDONTWRITEBYTECODE", None)
        CHILD_ENV["PYTHONPYCACHEPREFIX"] = str(CACHE / "pycache")
    print("Python children " + ("compile every start" if args.no_pyc_cache else
          f"use a bytecode cache ({CACHE / 'pycache'})"))  # fmt: skip
    CACHE.mkdir(parents=True, exist_ok=True)
    jpegs = [] if args.video_only else make_jpegs(args.jpegs)
    video = make_video(args.video_mb)
    start_load = load()
    print(f"load average at start: {start_load} ({os.cpu_count()} CPUs)")
    tools_all = ("testigo", "exiftool", "mat2", "cp", "floor")
    jpeg: dict[str, Result] = {}
    if not args.video_only:
        if not args.no_samples:
            samples = sorted(
                p for p in SAMPLES.rglob("*") if p.is_file() and p.name != "MANIFEST.json"
            )
            bench("shared samples", samples, tools_all, args.jobs, args.repeat)
        jpeg = bench(
            "12 MP phone JPEGs", jpegs, ("testigo", "jobs", *tools_all[1:]), args.jobs, args.repeat
        )
    start_s = None if args.video_only else startup(args.repeat)
    results = bench("video", [video], tools_all, args.jobs, args.repeat)
    goals(jpeg, results, args.jobs, start_s)
    print(f"load average at start: {start_load}, at end: {load()}")


if __name__ == "__main__":
    main()
