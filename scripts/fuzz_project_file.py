"""Fuzz the project loader: mutate a valid saved project many ways and load each result.

    PYTHONPATH=app python scripts/fuzz_project_file.py --per-family 2000 [--seed 0] [--out runs/fuzz_project]

Each input must either load into a sane project or raise an ``EmotrackError`` with a
one-line message, within ``--timeout`` seconds and under ``--max-memory-gb``. Anything
else (another exception, a hang, a blown memory limit, a multi-line message) is a
failure; its input is written under ``--out`` for a regression test. Prints one line per
mutation family (inputs tried, loaded, refused, failures) and exits 1 if any failed.
The test suite runs the same idea for seconds (tests/core/test_project_file_fuzz.py);
this runs it for as long as you like, reproducibly from ``--seed``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import resource
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from emotrack.core import commands as C
from emotrack.core.analysis import WindowProbabilities
from emotrack.core.document import AudioInfo, Project, QualityTrack
from emotrack.core.project_file import MAX_DURATION_SECONDS, TIME_TOLERANCE, load_project, save_project
from emotrack.core.settings import AnalysisSettings
from emotrack.core.vad import VoiceActivity
from emotrack.core.windowing import window_starts
from emotrack.errors import EmotrackError

SR = 16_000
ODD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e308", "-1e308", "1e400", "1" * 400, "-0", "1e-320",
               "4294967296", "-1", "0.5", "true", "null", '"7"', "[]", "{}"]
ODD_BYTES = [b"\x00", b"\xef\xbb\xbf", b"[", b"{", b"}", b"]", b",", b'"', b"\\", b"\xff", b"\n", b"[" * 5000]


def valid_project_text(folder: Path) -> str:
    n = 3 * SR
    starts = window_starts(n, 14_400, 7_200)
    probs = np.random.default_rng(0).dirichlet(np.ones(6), len(starts))
    p = Project(AudioInfo(str(folder / "voice.wav"), "0" * 64, 3.0, 44_100, 1))
    p.voice = VoiceActivity(np.r_[np.zeros(20, bool), np.ones(200, bool), np.zeros(80, bool)])
    C.apply_analysis(p, WindowProbabilities(starts, 14_400, 7_200, probs, n, SR), AnalysisSettings()).redo(p)
    C.set_quality(p, QualityTrack(np.linspace(-0.2, 0.9, 50), 0.06, 0.4, 0.3)).redo(p)
    return save_project(p, folder / "source.emotrack").read_text()


def _locations(value, prefix=()):
    yield prefix
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield from _locations(item, (*prefix, key))


def _random_json(rng: np.random.Generator, depth: int = 0):
    """Any JSON value (and Python's NaN/Infinity, which json.dumps writes as literals)."""
    kind = int(rng.integers(9 if depth < 2 else 6))
    if kind == 0:
        return None
    if kind == 1:
        return bool(rng.integers(2))
    if kind == 2:
        return int(rng.integers(-10**9, 10**9)) * 10 ** int(rng.integers(0, 25))
    if kind == 3:
        return float(rng.choice([math.nan, math.inf, -math.inf, 1e308, -0.0, rng.normal() * 10.0 ** rng.integers(-5, 10)]))
    if kind == 4:
        return "".join(chr(int(c)) for c in rng.integers(0, 0x2FF, rng.integers(0, 12)))
    if kind == 5:
        return ""
    if kind == 6:
        return [_random_json(rng, depth + 1) for _ in range(rng.integers(0, 4))]
    if kind == 7:
        return {str(rng.integers(100)): _random_json(rng, depth + 1) for _ in range(rng.integers(0, 4))}
    return [[0.5] * int(rng.integers(0, 9))] * int(rng.integers(0, 5))  # probability-row shaped


def mutate_structure(text: str, rng: np.random.Generator) -> bytes:
    data = json.loads(text)
    for _ in range(rng.integers(1, 4)):
        places = [p for p in _locations(data) if p]
        where = places[rng.integers(len(places))]
        parent = data
        for step in where[:-1]:
            parent = parent[step]
        if rng.integers(2):
            del parent[where[-1]]
        else:
            parent[where[-1]] = _random_json(rng)
    return json.dumps(data).encode()


def mutate_numbers(text: str, rng: np.random.Generator) -> bytes:
    spans = [m.span() for m in re.finditer(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", text)]
    chosen = sorted({spans[i] for i in rng.integers(0, len(spans), rng.integers(1, 5))})
    pieces, last = [], 0
    for start, end in chosen:
        pieces += [text[last:start], ODD_NUMBERS[rng.integers(len(ODD_NUMBERS))]]
        last = end
    return ("".join(pieces) + text[last:]).encode()


def truncate(text: str, rng: np.random.Generator) -> bytes:
    raw = text.encode()
    return raw[: rng.integers(0, len(raw))]


def flip_bytes(text: str, rng: np.random.Generator) -> bytes:
    raw = bytearray(text.encode())
    for _ in range(rng.integers(1, 9)):
        raw[rng.integers(len(raw))] ^= 1 << int(rng.integers(8))
    return bytes(raw)


def insert_bytes(text: str, rng: np.random.Generator) -> bytes:
    raw = bytearray(text.encode())
    for _ in range(rng.integers(1, 5)):
        at = int(rng.integers(len(raw) + 1))
        raw[at:at] = ODD_BYTES[rng.integers(len(ODD_BYTES))]
    return bytes(raw)


FAMILIES: dict[str, Callable[[str, np.random.Generator], bytes]] = {
    "keys deleted or values replaced": mutate_structure,
    "odd number literals": mutate_numbers,
    "truncated": truncate,
    "bits flipped": flip_bytes,
    "bytes inserted": insert_bytes,
}


class Timeout(Exception):
    pass


def check(path: Path) -> str:
    """"loaded" or "refused" when loading behaved; else what went wrong."""
    try:
        project = load_project(path)
    except EmotrackError as error:
        return "refused" if "\n" not in str(error) and str(error) else f"bad message: {str(error)!r}"
    end = project.duration + TIME_TOLERANCE if project.audio is not None else MAX_DURATION_SECONDS
    if any(not 0 <= k.time <= end or not all(0 <= v <= 1 for v in k.values) for k in project.keyframes):
        return "loaded a keyframe outside the limits"
    if project.windows is not None and not np.isfinite(project.windows.probabilities).all():
        return "loaded non-finite window probabilities"
    return "loaded"


def run_one(path: Path, content: bytes, timeout: float) -> str:
    path.write_bytes(content)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return check(path)
    except Timeout:
        return f"no answer within {timeout:g} s"
    except MemoryError:
        return "memory limit exceeded"
    except Exception as error:  # noqa: BLE001 - exactly what the fuzzer is looking for
        return f"{type(error).__name__}: {str(error)[:200]}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=2000, help="inputs per mutation family")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds one load may take")
    parser.add_argument("--max-memory-gb", type=float, default=4.0, help="address-space limit of this process")
    parser.add_argument("--out", type=Path, default=Path("runs/fuzz_project"), help="where failing inputs go")
    args = parser.parse_args()
    limit = int(args.max_memory_gb * 1024**3)
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))

    def on_alarm(signum, frame):
        raise Timeout

    signal.signal(signal.SIGALRM, on_alarm)
    rng = np.random.default_rng(args.seed)
    failures = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        text = valid_project_text(folder)
        target = folder / "mutant.emotrack"
        for family, mutate in FAMILIES.items():
            found = loaded = 0
            for i in range(args.per_family):
                content = mutate(text, rng)
                problem = run_one(target, content, args.timeout)
                loaded += problem == "loaded"
                if problem not in ("loaded", "refused"):
                    found += 1
                    args.out.mkdir(parents=True, exist_ok=True)
                    name = f"{family.split()[0]}-{i}.emotrack"
                    (args.out / name).write_bytes(content)
                    print(f"  FAIL {family} #{i} ({args.out / name}): {problem}", file=sys.stderr)
            failures += found
            print(f"{family}: {args.per_family} inputs ({loaded} loaded, "
                  f"{args.per_family - loaded - found} refused), {found} failures")
    total = args.per_family * len(FAMILIES)
    print(f"total: {total} inputs, {failures} failures, {time.perf_counter() - started:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
