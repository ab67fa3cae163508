"""A corrupt, half-written or hostile ``.emotrack`` file gives one ProjectError sentence
that says what is wrong and where (JSON location, or line and column): never a
traceback, a hang or a gigabyte allocation."""

import json
import os
import re

import numpy as np
import pytest

from analysed_project import analysed_project
from emotrack.core import project_file
from emotrack.core.document import Project
from emotrack.core.project_file import load_project, save_project
from emotrack.errors import ProjectError


@pytest.fixture
def saved(tmp_path):
    """A valid saved project with windows, voice and keyframes: (path, its text)."""
    path = save_project(analysed_project(tmp_path / "voice.wav"), tmp_path / "shot.emotrack")
    return path, path.read_text()


def _load_mutated(saved, mutate):
    path, text = saved
    data = json.loads(text)
    mutate(data)
    path.write_text(json.dumps(data))  # json.dumps writes NaN/Infinity literals, as a buggy writer would
    return load_project(path)


def _set(where, **fields):
    return lambda d: where(d).update(fields)


@pytest.mark.parametrize("mutate, words", [
    # Numbers that are not finite, wherever they are.
    (_set(lambda d: d["keyframes"][1], time=float("nan")), r"keyframes/1/time: NaN is not a usable number"),
    (_set(lambda d: d["audio"], duration=float("inf")), r"audio/duration: Infinity is not a usable"),
    (_set(lambda d: d["keyframes"][0]["values"], anger=float("-inf")), r"keyframes/0/values/anger: -Infinity"),
    (_set(lambda d: d["analysis"], switch_margin=float("nan")), r"analysis/switch_margin: NaN"),
    (lambda d: d["windows"]["probabilities"][0].__setitem__(2, float("nan")), r"windows/probabilities/0/2: NaN"),
    (lambda d: d.update(quality={"frame_scores": [0.1, float("nan")], "hop_seconds": 0.016, "vqscore": 0.2,
                                 "threshold": 0.3}), r"quality/frame_scores/1: NaN"),
    # Finite but absurd numbers.
    (_set(lambda d: d["keyframes"][1], time=1e308), r"keyframes/1/time: must be <= 86400"),
    (_set(lambda d: d["audio"], duration=1e308), r"audio/duration: must be <= 86400"),
    (lambda d: d["windows"]["starts"].__setitem__(0, 1e308), r"windows/starts/0: must be <="),
    (_set(lambda d: d["windows"], sample_rate=10**12), r"windows/sample_rate: must be <= 384000"),
    # Keyframes outside the clip or with values out of range.
    (_set(lambda d: d["keyframes"][1], time=7.0), r"keyframes/1/time: 7 s is past the end of the audio \(5 s\)"),
    (_set(lambda d: d["keyframes"][1], time=-0.5), r"keyframes/1/time: must be >= 0"),
    (_set(lambda d: d["keyframes"][1]["values"], anger=1000), r"keyframes/1/values/anger: must be <= 1, got 1000"),
    (_set(lambda d: d["keyframes"][1]["values"], anger=-0.1), r"keyframes/1/values/anger: must be >= 0"),
    (_set(lambda d: d["keyframes"][1], values={}), r"keyframes/1/values: every emotion is 0"),
    (_set(lambda d: d["keyframes"][1], values={e: 0 for e in ("anger", "neutral")}), r"keyframes/1/values: every emotion is 0"),
    (_set(lambda d: d["keyframes"][1], inferred={"anger": "high"}), r"keyframes/1/inferred/anger: must be a number"),
    # Mis-shaped windows.
    (lambda d: d["windows"]["probabilities"][2].pop(), r"windows/probabilities/2: 5 values, but the project has 6"),
    (lambda d: d["windows"]["probabilities"][1].append(0.1), r"windows/probabilities/1: 7 values"),
    (lambda d: d["windows"]["probabilities"].__setitem__(0, 0.5), r"windows/probabilities/0: must be a list"),
    (lambda d: d["windows"]["probabilities"].pop(), r"windows: \d+ starts but \d+ probability rows"),
    (lambda d: d["windows"]["starts"].__setitem__(0, 10**7), r"windows/starts/0: starts after the clip's end"),
    (lambda d: d["labels"].append("boredom"), r"windows/probabilities/0: 6 values, but the project has 7 labels"),
    (lambda d: d["labels"].append("anger"), r"labels: has duplicate entries"),
    (lambda d: d["labels"].pop(), r"labels: has 5 entries; at least 6 are needed"),
    # Other fields.
    (_set(lambda d: d["audio"], colour="red"), r"audio: unknown key\(s\) colour"),
    (_set(lambda d: d["heuristics"], strengths={"anger": "abc"}), r"heuristics/strengths/anger: must be a number"),
    (_set(lambda d: d["heuristics"], strengths=[1, 1, None]), r"heuristics/strengths/2: must be a number, got None"),
    (_set(lambda d: d["heuristics"], strengths=[1, 1]), r"heuristics: strengths needs 6 values, got 2"),
    (_set(lambda d: d["audio"], path="voice\0.wav"), r"audio/path: contains a NUL character"),
    (lambda d: d.update(voiced=[[3.0, 1.0]]), r"voiced/0: a span must run forward within the clip"),
    (lambda d: d.update(voiced=[[0.0, 1e6]]), r"voiced/0/1: must be <= 86400"),
    (lambda d: d["keyframes"].__setitem__(0, "abc"), r"keyframes/0: must be an object, got 'abc'"),
    (lambda d: d["keyframes"][0].pop("time"), r"keyframes/0: missing required key\(s\) time"),
])
def test_bad_content_names_the_json_location(saved, mutate, words):
    with pytest.raises(ProjectError, match=r"^shot\.emotrack: " + words):
        _load_mutated(saved, mutate)


def test_messages_quote_no_whole_values_and_no_doubled_paths(saved):
    with pytest.raises(ProjectError) as caught:
        _load_mutated(saved, _set(lambda d: d["keyframes"][0]["values"], **{"x" * 500: 0.5}))
    assert len(str(caught.value)) < 150
    assert str(caught.value).count("keyframes/0") == 1
    with pytest.raises(ProjectError) as caught:
        _load_mutated(saved, lambda d: d["keyframes"][0].update(time=list(range(10_000))))
    assert len(str(caught.value)) < 150 and "a list of 10,000" in str(caught.value)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "1" * 400])
def test_non_finite_and_huge_number_literals_are_refused(saved, literal):
    path, text = saved
    path.write_text(text.replace('"duration": 5.0', f'"duration": {literal}'))
    shown = re.escape(literal if len(literal) < 24 else "111111111111...(400 digits)")
    with pytest.raises(ProjectError, match=rf"audio/duration: {shown} is not a usable number"):
        load_project(path)


def test_too_many_keyframes_is_refused_with_the_limit(saved, monkeypatch):
    monkeypatch.setitem(project_file.SCHEMA["properties"]["keyframes"], "maxItems", 3)
    with pytest.raises(ProjectError, match=r"keyframes: has \d+ entries; at most 3 are allowed"):
        _load_mutated(saved, lambda d: None)
    assert project_file.MAX_KEYFRAMES == 1_000_000 and project_file.MAX_WINDOWS == 1_000_000


def test_deeply_nested_json_is_a_clear_error(saved):
    path, _ = saved
    path.write_text('{"format": "emotrack-project", "labels": ' + "[" * 100_000)
    with pytest.raises(ProjectError, match="nested too deeply"):
        load_project(path)
    path.write_text('{"format": "emotrack-project", "schema_version": 1, "labels": '
                    + "[" * 900 + "]" * 900 + "}")
    with pytest.raises(ProjectError, match="shot.emotrack: "):
        load_project(path)


def test_a_byte_order_mark_is_accepted(saved):
    path, text = saved
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert len(load_project(path).keyframes) > 0


def test_text_that_is_not_utf8_says_so_with_the_offset(saved):
    path, text = saved
    path.write_bytes(text.replace("anger", "\u00e4nger").encode("latin-1"))
    with pytest.raises(ProjectError, match=r"shot\.emotrack is not UTF-8 text \(byte 0xe4 at offset \d+\)"):
        load_project(path)


@pytest.mark.parametrize("content", [b"", b"   \n"])
def test_an_empty_file_is_called_empty(saved, content):
    path, _ = saved
    path.write_bytes(content)
    with pytest.raises(ProjectError, match=r"shot\.emotrack is empty"):
        load_project(path)


@pytest.mark.parametrize("keep", [1, 40, 300, -2])
def test_a_truncated_file_says_where_it_ends(saved, keep):
    path, text = saved
    path.write_text(text[:keep])
    with pytest.raises(ProjectError, match=r"the file ends early \(truncated\?\) at line \d+, column \d+"):
        load_project(path)


def test_other_bad_json_gives_line_and_column(saved):
    path, text = saved
    path.write_text(text + "x")
    with pytest.raises(ProjectError, match=r"is not valid JSON \(line \d+, column \d+: Extra data\)"):
        load_project(path)


def test_a_folder_a_pipe_and_a_missing_file(tmp_path):
    (tmp_path / "dir.emotrack").mkdir()
    with pytest.raises(ProjectError, match="is a folder, not a project file"):
        load_project(tmp_path / "dir.emotrack")
    os.mkfifo(tmp_path / "pipe.emotrack")
    with pytest.raises(ProjectError, match="not a regular file"):
        load_project(tmp_path / "pipe.emotrack")  # must not block
    with pytest.raises(ProjectError, match="no such project file"):
        load_project(tmp_path / "missing.emotrack")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(ProjectError, match="cannot open project file"):
        load_project(tmp_path / "loop")


def test_a_huge_file_is_refused_before_it_is_read(saved, monkeypatch):
    path, _ = saved
    monkeypatch.setattr(project_file, "MAX_PROJECT_BYTES", 1000)
    monkeypatch.setattr(type(path), "read_bytes", lambda self: pytest.fail("read a file over the limit"))
    with pytest.raises(ProjectError, match=r"a project file is at most 0 MB"):
        load_project(path)


def test_a_project_without_audio_still_bounds_times(tmp_path):
    p = Project()
    path = save_project(p, tmp_path / "empty.emotrack")
    data = json.loads(path.read_text())
    data["keyframes"] = [{"time": 90_000.0, "values": {"neutral": 1.0}}]
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectError, match=r"keyframes/0/time: must be <= 86400"):
        load_project(path)
    data["keyframes"] = [{"time": 3.0, "values": {"neutral": 1.0}}]
    path.write_text(json.dumps(data))
    assert load_project(path).keyframes[0].time == 3.0


def _many_keys(saved, n):
    path, text = saved
    data = json.loads(text)
    data["audio"]["duration"] = float(n)
    data["keyframes"] = [{"time": float(i), "values": {"anger": 0.25, "neutral": 0.75}} for i in range(n)]
    return path, data


def test_plain_keyframes_skip_the_slow_per_item_schema_check(saved, monkeypatch):
    path, data = _many_keys(saved, 2_000)
    path.write_text(json.dumps(data))
    built = []
    real = project_file.jsonschema.Draft202012Validator
    monkeypatch.setattr(project_file.jsonschema, "Draft202012Validator", lambda schema: built.append(1) or real(schema))
    assert len(load_project(path).keyframes) == 2_000
    assert len(built) == 1  # the document without its big arrays, once


@pytest.mark.parametrize("bad, words", [
    ({"time": 5.0, "values": {"anger": True}}, r"keyframes/1999/values/anger: must be a number, got True"),
    ({"time": 5.0, "values": {"anger": 0.5}, "locked": "yes"}, r"keyframes/1999/locked: must be true or false"),
    ({"time": 5.0, "values": {"anger": 0.5}, "source": "guess"}, r"keyframes/1999/source: must be one of"),
])
def test_a_bad_keyframe_among_many_is_still_named(saved, bad, words):
    path, data = _many_keys(saved, 2_000)
    data["keyframes"][1999] = bad
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectError, match=words):
        load_project(path)


def test_items_the_quick_check_doubts_but_the_schema_accepts_still_load(saved):
    path, text = saved
    data = json.loads(text)
    data["windows"]["starts"] = [float(s) for s in data["windows"]["starts"]]  # 7200.0 is an integer to JSON
    data["keyframes"][0]["extra"] = "kept for a newer Emotrack"
    path.write_text(json.dumps(data))
    assert load_project(path).windows.starts.dtype == np.int64
    data["windows"]["starts"][-1] = 7200.5
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectError, match=rf"windows/starts/{len(data['windows']['starts']) - 1}: must be a whole"):
        load_project(path)


def test_a_huge_key_in_an_error_path_is_cut_short(tmp_path):
    """Regression (fuzz_cli face-project): a key of 5,000 '[' characters filled the
    one-line message with the key instead of the problem."""
    import json

    from emotrack.core.document import Project
    from emotrack.core.project_file import load_project, save_project
    from emotrack.errors import ProjectError

    path = save_project(Project(), tmp_path / "shot.emotrack")
    data = json.loads(path.read_text())
    data["face"] = {"upper" + "[" * 5000: 1}
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectError) as caught:
        load_project(path)
    message = str(caught.value)
    assert "\n" not in message and "[" * 40 not in message and "not a face control" in message, message
