"""Mutation fuzzing of every sanitizer parser on the shared samples. Prints figures; no
pass/fail (the bounded version of this runs in tests/hostile/test_sanitizer_properties.py).

Usage: .venv/bin/python bench/fuzz_sanitize.py [--seconds 60] [--seed 1]

For each family with a stripper in intake/sanitize/, random mutations (bit flips,
truncations, insertions, zeroed and duplicated runs) of each shared sample of that family
go through sanitize_stream(). Counted: clean, rejected (by reason), uncaught exceptions
(each one is a bug: the first few are printed with the input saved under var/fuzz/), clean
outputs the verifier would flag (also bugs), and executions per second.
"""

from __future__ import annotations

import argparse
import collections
import importlib
import importlib.util
import io
import random
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intake.sanitize import sanitize_stream  # noqa: E402
from intake.sanitize.families import FAMILIES, verify  # noqa: E402
from intake.sanitize.sniff import HEAD_SIZE, sniff  # noqa: E402

# The mutations by file, not through the tests.factories package: that package's other
# modules need Django set up, and this bench runs the pure sanitizer alone.
_spec = importlib.util.spec_from_file_location(
    "fuzz_mutations", ROOT / "tests" / "factories" / "mutations.py"
)
assert _spec is not None and _spec.loader is not None
_mutations = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mutations)
KINDS = _mutations.KINDS
mutate_at = _mutations.mutate_at

SAMPLES = ROOT.parent / "shared" / "media-samples" / "files"
CRASHES = ROOT / "var" / "fuzz"


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        if not out:
            break
        kind = rng.choice(KINDS)
        # Bias towards the head, where container structure lives.
        at = min(int(len(out) * rng.random() ** 3), len(out) - 1)
        mutate_at(out, kind, at, rng.randint(1, 64), rng.randint(0, 255))
    return bytes(out)


def samples_by_family() -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = collections.defaultdict(list)
    paths = [*SAMPLES.iterdir(), *(SAMPLES / "real").iterdir()]
    for path in sorted(p for p in paths if p.is_file() and p.stat().st_size < 5_000_000):
        data = path.read_bytes()
        family = sniff(data[:HEAD_SIZE])
        if family:
            found[family].append(data)
    return found


def has_stripper(family: str) -> bool:
    name = f"intake.sanitize.{family}"
    return importlib.util.find_spec(name) is not None and hasattr(
        importlib.import_module(name), "strip"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    corpus = samples_by_family()
    families = [f for f in FAMILIES if has_stripper(f) and corpus.get(f)]
    missing = [f for f in FAMILIES if f not in families]
    print(f"families fuzzed: {', '.join(families)}")
    print(f"not fuzzed (no stripper in this tree, or no sample): {', '.join(missing)}")
    budget = args.seconds / max(len(families), 1)
    CRASHES.mkdir(parents=True, exist_ok=True)
    print(f"\n{'family':10} {'execs':>7} {'exec/s':>7} {'clean':>6} {'rejected':>8} "
          f"{'crashes':>7} {'unverified':>10}  top reasons")  # fmt: skip
    total_crashes = 0
    for family in families:
        counts: collections.Counter[str] = collections.Counter()
        reasons: collections.Counter[str] = collections.Counter()
        started = time.monotonic()
        while time.monotonic() - started < budget:
            data = mutate(rng.choice(corpus[family]), rng)
            out = io.BytesIO()
            counts["execs"] += 1
            try:
                manifest = sanitize_stream(io.BytesIO(data), out)
            except Exception:
                counts["crashes"] += 1
                if counts["crashes"] <= 3:
                    path = CRASHES / f"{family}-{counts['execs']}.bin"
                    path.write_bytes(data)
                    print(f"  crash in {family}, input {path}:\n{traceback.format_exc(limit=3)}")
                continue
            if manifest.status == "clean":
                counts["clean"] += 1
                out.seek(0)
                if verify(family, out):
                    counts["unverified"] += 1
            else:
                counts["rejected"] += 1
                reasons[manifest.reason] += 1
        elapsed = time.monotonic() - started
        total_crashes += counts["crashes"]
        top = ", ".join(f"{r} {n}" for r, n in reasons.most_common(3))
        print(f"{family:10} {counts['execs']:7d} {counts['execs'] / elapsed:7.0f} "
              f"{counts['clean']:6d} {counts['rejected']:8d} {counts['crashes']:7d} "
              f"{counts['unverified']:10d}  {top}")  # fmt: skip
    print(f"\nuncaught exceptions: {total_crashes}")


if __name__ == "__main__":
    main()
