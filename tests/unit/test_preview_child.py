"""The long-lived preview child (intake/preview_child.py serving intake/preview.py): the same
previews and hashes as a child per file, one bad file costs only that file, and the child
is replaced after its quota of files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from intake.preview_child import PreviewChild
from intake.sanitize import sanitize
from tests.factories import jpeg_with_gps
from tests.factories.tools import require_shared_samples
from tests.unit.test_preview import _png_bomb

ROOT = Path(__file__).resolve().parents[2]
MAX_PIXELS = 64_000_000


def _child(**limits: int) -> PreviewChild:
    defaults = {"memory_mb": 1024, "cpu_s": 30, "files_per_child": 200}
    return PreviewChild(**{**defaults, **limits}, cwd=ROOT)


@pytest.fixture
def child() -> Iterator[PreviewChild]:
    made = _child()
    yield made
    made.close()


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    path.write_bytes(jpeg_with_gps(size=(1200, 900)))
    return path


def waited_for_exit(pid: int) -> None:
    """Until ``pid`` has ended (a zombie, until its parent reaps it)."""
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def _one_shot(src: Path, dst: Path) -> str:
    """What preview_make ran before: a child per file."""
    done = subprocess.run(
        [sys.executable, "-m", "intake.preview", "image", str(src), str(dst), str(MAX_PIXELS)],
        capture_output=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return str(json.loads(done.stdout)["dhash"])


def test_preview_child_gives_the_one_shot_preview_and_hash(
    child: PreviewChild, tmp_path: Path
) -> None:
    phone = tmp_path / "phone.jpg"
    sample = require_shared_samples() / "files" / "jpeg_phone_full_4032x3024.jpg"
    assert sanitize(sample, phone).status == "clean"
    png = tmp_path / "photo.png"
    png.write_bytes(_png_rgb(300, 200))

    for source in (phone, png):
        one_shot_hash = _one_shot(source, tmp_path / "one-shot.jpg")
        answer = child.make(kind="image", src=source, dst=tmp_path / "served.jpg",
                            max_pixels=MAX_PIXELS)  # fmt: skip

        assert answer == {"dhash": one_shot_hash}
        assert (tmp_path / "served.jpg").read_bytes() == (tmp_path / "one-shot.jpg").read_bytes()


def _png_rgb(width: int, height: int) -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.effect_mandelbrot((width, height), (-2, -1.5, 1, 1.5), 50).convert("RGB").save(out, "PNG")
    return out.getvalue()


def test_preview_child_serves_many_files_from_one_process(
    child: PreviewChild, photo: Path, tmp_path: Path
) -> None:
    pids = set()
    for n in range(3):
        answer = child.make(kind="image", src=photo, dst=tmp_path / f"p{n}.jpg",
                            max_pixels=MAX_PIXELS)  # fmt: skip
        assert len(answer["dhash"]) == 16
        pids.add(child.pid)
    assert len(pids) == 1


def test_preview_child_refuses_too_many_pixels_and_serves_the_next(
    child: PreviewChild, photo: Path, tmp_path: Path
) -> None:
    bomb = tmp_path / "bomb.png"
    # Over the cap, under twice the cap (past which Pillow's own check refuses it first).
    bomb.write_bytes(_png_bomb(10000, 10000))
    first = child.make(kind="image", src=photo, dst=tmp_path / "a.jpg", max_pixels=MAX_PIXELS)
    pid = child.pid

    refused = child.make(kind="image", src=bomb, dst=tmp_path / "b.jpg", max_pixels=MAX_PIXELS)
    after = child.make(kind="image", src=photo, dst=tmp_path / "c.jpg", max_pixels=MAX_PIXELS)

    assert refused == {"error": "too_many_pixels"}
    assert after == first
    assert child.pid == pid  # refused before decoding: nothing to restart


def test_preview_child_memory_bomb_costs_that_file_only(photo: Path, tmp_path: Path) -> None:
    child = _child(memory_mb=300)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_bomb(20000, 20000))  # 1.2 GB of RGB once decoded
    try:
        first = child.make(kind="image", src=photo, dst=tmp_path / "a.jpg", max_pixels=10**9)
        pid = child.pid

        bombed = child.make(kind="image", src=bomb, dst=tmp_path / "b.jpg", max_pixels=10**9)
        after = child.make(kind="image", src=photo, dst=tmp_path / "c.jpg", max_pixels=10**9)
        after_pid = child.pid
    finally:
        child.close()

    assert bombed in ({"error": "MemoryError"}, {"error": "died"})
    assert after == first
    assert after_pid not in (None, pid)


def test_preview_child_crash_costs_that_file_only(
    child: PreviewChild, photo: Path, tmp_path: Path
) -> None:
    first = child.make(kind="image", src=photo, dst=tmp_path / "a.jpg", max_pixels=MAX_PIXELS)
    crashed = child.pid
    assert crashed is not None
    os.kill(crashed, signal.SIGSEGV)  # as a decoder bug would end it
    waited_for_exit(crashed)

    after = child.make(kind="image", src=photo, dst=tmp_path / "b.jpg", max_pixels=MAX_PIXELS)

    assert after == first
    assert child.pid not in (None, crashed)


def test_preview_child_stuck_on_a_file_is_killed_and_replaced(photo: Path, tmp_path: Path) -> None:
    child = _child(cpu_s=1)  # wall-time limit: 2 s a file
    stuck = tmp_path / "stuck.jpg"
    os.mkfifo(stuck)  # opening it blocks forever: no writer
    try:
        first = child.make(kind="image", src=photo, dst=tmp_path / "a.jpg", max_pixels=MAX_PIXELS)
        pid = child.pid
        assert pid is not None

        timed_out = child.make(kind="image", src=stuck, dst=tmp_path / "b.jpg",
                               max_pixels=MAX_PIXELS)  # fmt: skip
        assert child.pid is None
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        after = child.make(kind="image", src=photo, dst=tmp_path / "c.jpg", max_pixels=MAX_PIXELS)
    finally:
        child.close()

    assert timed_out == {"error": "timeout"}
    assert after == first


def test_preview_child_is_replaced_after_its_quota_of_files(photo: Path, tmp_path: Path) -> None:
    child = _child(files_per_child=2)
    pids = []
    try:
        for n in range(5):
            answer = child.make(kind="image", src=photo, dst=tmp_path / f"p{n}.jpg",
                                max_pixels=MAX_PIXELS)  # fmt: skip
            assert len(answer["dhash"]) == 16
            pids.append(child.pid)
    finally:
        child.close()
    # After the second file of each child it is let go (None until the next file starts one).
    assert pids[1] is None and pids[3] is None
    assert len({pids[0], pids[2], pids[4]}) == 3


def test_preview_child_cpu_cap_is_per_file_not_for_its_life(tmp_path: Path) -> None:
    child = _child(cpu_s=1)
    sample = require_shared_samples() / "files" / "jpeg_phone_full_4032x3024.jpg"
    phone = tmp_path / "phone.jpg"
    assert sanitize(sample, phone).status == "clean"
    answers = []
    try:
        for n in range(40):  # far more than 1 s of CPU in all
            answers.append(child.make(kind="image", src=phone, dst=tmp_path / f"{n}.jpg",
                                      max_pixels=MAX_PIXELS))  # fmt: skip
        pid = child.pid
        assert pid is not None
        used = sum(map(float, Path(f"/proc/{pid}/stat").read_text().split()[13:15])) / (
            os.sysconf("SC_CLK_TCK")
        )
    finally:
        child.close()
    assert used > 1, used  # else this test proves nothing
    assert [len(a.get("dhash", "")) for a in answers] == [16] * 40


def test_preview_child_killed_while_idle_costs_no_file(
    child: PreviewChild, photo: Path, tmp_path: Path
) -> None:
    first = child.make(kind="image", src=photo, dst=tmp_path / "a.jpg", max_pixels=MAX_PIXELS)
    idle = child.pid
    assert idle is not None
    os.kill(idle, signal.SIGKILL)  # no wait: the next file may reach it before it is gone

    after = child.make(kind="image", src=photo, dst=tmp_path / "b.jpg", max_pixels=MAX_PIXELS)

    assert after == first
    assert child.pid not in (None, idle)


def test_preview_child_left_without_its_answer_never_gives_it_to_the_next_file(
    child: PreviewChild, photo: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.jpg"
    other.write_bytes(jpeg_with_gps(size=(300, 300)))
    expected = child.make(kind="image", src=other, dst=tmp_path / "o.jpg", max_pixels=MAX_PIXELS)
    with child.begin(kind="image", src=photo, dst=tmp_path / "a.jpg", max_pixels=MAX_PIXELS):
        abandoned = child.pid  # as when the ExifTool check raises meanwhile

    answer = child.make(kind="image", src=other, dst=tmp_path / "b.jpg", max_pixels=MAX_PIXELS)

    assert answer == expected
    assert child.pid not in (None, abandoned)
