"""Property tests for the project loader: whatever happens to a saved ``.emotrack`` file
(keys deleted, values replaced by anything JSON can hold, NaN and huge numbers, bytes
flipped, the file cut short), loading either succeeds with a sane project or raises an
:class:`EmotrackError` with a one-line message: never another exception, never a hang.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emotrack.core.project_file import MAX_DURATION_SECONDS, TIME_TOLERANCE, load_project, save_project
from emotrack.errors import EmotrackError

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fuzz_project_file.py"
# EMOTRACK_FUZZ_EXAMPLES=5000 runs a longer search than the suite's few seconds.
FUZZ = settings(max_examples=int(os.environ.get("EMOTRACK_FUZZ_EXAMPLES", "200")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small but complete saved project (audio, windows, voice, quality, keyframes), the
    one ``scripts/fuzz_project_file.py`` mutates: (path of a scratch file to write mutants
    to, the saved text, its JSON)."""
    folder = tmp_path_factory.mktemp("fuzz")
    text = fuzz_script().valid_project_text(folder)
    return folder / "mutant.emotrack", text, json.loads(text)


def fuzz_script():
    """``scripts/fuzz_project_file.py`` as a module (scripts are not a package)."""
    spec = importlib.util.spec_from_file_location("fuzz_project_file", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _paths(value, prefix=()):
    """Every location in a JSON document, as key/index tuples."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*prefix, i))


def _parent(data, path):
    for step in path[:-1]:
        data = data[step]
    return data


def _assert_loads_sanely_or_refuses(path, content: str | bytes) -> None:
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    try:
        project = load_project(path)
    except EmotrackError as error:
        message = str(error)
        assert message and "\n" not in message and len(message) < 400, message
        return
    end = project.duration + TIME_TOLERANCE if project.audio is not None else MAX_DURATION_SECONDS
    for key in project.keyframes:
        assert 0 <= key.time <= end
        assert all(math.isfinite(v) and 0 <= v <= 1 for v in key.values) and sum(key.values) > 0
    if project.windows is not None:
        probabilities = project.windows.probabilities
        assert probabilities.shape[1] == len(project.labels) and np.isfinite(probabilities).all()
    save_project(project, path)  # what loaded can be saved again (strict JSON)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


@FUZZ
@given(data=st.data())
def test_a_deleted_key_or_replaced_value_never_crashes(saved, data):
    path, _, document = saved
    mutant = json.loads(json.dumps(document))
    locations = [p for p in _paths(mutant) if p]
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        where = data.draw(st.sampled_from(locations), label="where")
        try:
            parent = _parent(mutant, where)
            if data.draw(st.booleans(), label="delete"):
                del parent[where[-1]]
            else:
                parent[where[-1]] = data.draw(JSON_VALUES, label="value")
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this location
    _assert_loads_sanely_or_refuses(path, json.dumps(mutant))


NUMBER_TOKENS = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e308", "-1e308", "1e400", "1" * 30,
                                 "-0", "0.0", "1e-320", "4294967296", "-1"])


@FUZZ
@given(data=st.data())
def test_a_number_replaced_by_an_odd_literal_never_crashes(saved, data):
    path, text, _ = saved
    numbers = [m.span() for m in re.finditer(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", text)]
    pieces, last = [], 0
    for start, end in sorted(data.draw(st.sets(st.sampled_from(numbers), min_size=1, max_size=4))):
        pieces += [text[last:start], data.draw(NUMBER_TOKENS)]
        last = end
    _assert_loads_sanely_or_refuses(path, "".join(pieces) + text[last:])


@FUZZ
@given(data=st.data())
def test_a_truncated_file_never_crashes(saved, data):
    path, text, _ = saved
    raw = text.encode()
    _assert_loads_sanely_or_refuses(path, raw[: data.draw(st.integers(0, len(raw) - 1))])


@FUZZ
@given(data=st.data())
def test_flipped_or_inserted_bytes_never_crash(saved, data):
    path, text, _ = saved
    raw = bytearray(text.encode())
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(raw) - 1))
        if data.draw(st.booleans()):
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
        else:
            raw[at:at] = data.draw(st.sampled_from([b"\x00", b"\xef\xbb\xbf", b"[", b"{", b"}", b"]", b",",
                                                   b'"', b"\\", b"\xff", b"\n"]))
    _assert_loads_sanely_or_refuses(path, bytes(raw))


KEYFRAME_LIKE = st.fixed_dictionaries(
    {"time": JSON_VALUES | st.floats(0, 100_000), "values": st.dictionaries(st.sampled_from(["anger", "joy", "x"]),
                                                                      JSON_VALUES | st.floats(-1, 2), max_size=3)},
    optional={"inferred": JSON_VALUES, "locked": JSON_VALUES, "source": st.sampled_from(["inferred", "edited", "x"]),
              "low_confidence": JSON_VALUES | st.booleans(), "other": JSON_VALUES},
)


@FUZZ
@given(item=KEYFRAME_LIKE)
def test_the_quick_keyframe_check_never_passes_what_the_schema_refuses(item):
    from emotrack.core import project_file
    if project_file._plain_keyframe(item):  # noqa: SLF001 - the fast path must agree with the schema
        schema = project_file.SCHEMA["properties"]["keyframes"]["items"]
        assert not list(jsonschema.Draft202012Validator(schema).iter_errors(item))


def test_the_long_fuzz_script_runs_and_reports(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, str(root / "scripts" / "fuzz_project_file.py"), "--per-family", "30", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(root / "app")})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "total: 150 inputs, 0 failures" in result.stdout
