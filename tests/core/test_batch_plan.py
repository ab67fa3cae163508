"""Batch planning without models: inputs, manifests, names, fingerprints, the ledger and
the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emotrack.core.batch_ledger import Ledger
from emotrack.core.batch_plan import collect_lines, line_fingerprint, model_identity
from emotrack.core.batch_report import character_distributions, report_html
from emotrack.core.emotions import EMOTIONS
from emotrack.errors import ParameterError


def touch(path: Path, content: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_folder_scan_recurses_names_characters_and_resolves_clashes(tmp_path):
    for rel in ["bob/line01.wav", "alice/line01.flac", "alice/deep/take.mp3", "narrator.ogg",
                "notes.txt", ".hidden/x.wav", "bob/.x.wav"]:
        touch(tmp_path / rel)
    lines = collect_lines([tmp_path])
    by_name = {line.name: line for line in lines}
    assert set(by_name) == {"alice_line01", "bob_line01", "take", "narrator"}
    assert by_name["take"].character == "alice" and by_name["narrator"].character == ""
    assert collect_lines([tmp_path]) == lines  # the same files always get the same names


def test_csv_manifest_fields_and_relative_paths(tmp_path):
    touch(tmp_path / "a.wav")
    manifest = tmp_path / "lines.csv"
    manifest.write_text("Path,prior,prior_strength,character,name,notes\n"
                        "a.wav,joy,0.9,Bob,bob_greeting,hello\n\n"
                        f"{tmp_path / 'a.wav'},,,,\n", encoding="utf-8")
    first, second = collect_lines([manifest])
    assert (first.audio, first.prior, first.prior_strength, first.character, first.name) == (
        tmp_path / "a.wav", "joy", 0.9, "Bob", "bob_greeting")
    assert second.prior is None and second.name == "a"


def test_json_lines_manifest(tmp_path):
    manifest = tmp_path / "lines.jsonl"
    manifest.write_text('{"path": "x/a.wav", "prior": "anger"}\n\n{"path": "b.wav", "name": "B"}\n')
    lines = collect_lines([manifest])
    assert [(line.name, line.prior) for line in lines] == [("a", "anger"), ("B", None)]
    assert lines[0].audio == tmp_path / "x" / "a.wav"


@pytest.mark.parametrize("suffix, text, where, words", [
    (".csv", "path,prior\na.wav,happy\n", 2, ["prior", "happy", "anger"]),
    (".csv", "path,prior,prior_strength\na.wav,joy,2\n", 2, ["prior_strength", "0..1"]),
    (".csv", "path,prior_strength\na.wav,0.5\n", 2, ["needs a prior"]),
    (".csv", "file,prior\na.wav,joy\n", 1, ["path"]),
    (".csv", "path,name\na.wav,x\nb.wav,x\n", 3, ["'x'", ":2"]),
    (".csv", "path,name\na.wav,../escape\n", 2, ["plain file name"]),
    (".jsonl", '{"path": "a.wav"}\n{"path": \n', 2, ["not valid JSON"]),
    (".jsonl", '["a.wav"]\n', 1, ["JSON object"]),
    (".jsonl", '{"prior": "joy"}\n', 1, ["path"]),
])
def test_manifest_errors_name_the_file_and_line(tmp_path, suffix, text, where, words):
    manifest = tmp_path / f"lines{suffix}"
    manifest.write_text(text)
    with pytest.raises(ParameterError) as error:
        collect_lines([manifest])
    message = str(error.value)
    assert f"lines{suffix}:{where}:" in message and "\n" not in message
    for word in words:
        assert word in message


def test_nothing_to_do_and_missing_inputs_are_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParameterError, match="nothing to do"):
        collect_lines([tmp_path / "empty"])
    with pytest.raises(ParameterError, match="no such file"):
        collect_lines([tmp_path / "gone"])


def test_fingerprint_follows_audio_model_and_settings(tmp_path):
    model = tmp_path / "model"
    touch(model / "config.json", b"{}")
    touch(model / "model.safetensors", b"weights")
    identity = model_identity(str(model), model)
    base = line_fingerprint("aa", identity, {"fps": 30})
    assert base == line_fingerprint("aa", identity, {"fps": 30})
    assert base != line_fingerprint("ab", identity, {"fps": 30})
    assert base != line_fingerprint("aa", identity, {"fps": 24})
    touch(model / "model.safetensors", b"retrained")
    assert model_identity(str(model), model) != identity


def test_model_identity_follows_the_heads_and_a_heads_folder_its_checkpoint(tmp_path):
    model = tmp_path / "model"
    touch(model / "config.json", b"{}")
    touch(model / "model.safetensors", b"weights")
    touch(model / "plain" / "model.safetensors", b"head")
    fast = model / "fast"  # another reading of the same checkpoint, as the bundled fast model
    touch(fast / "plain" / "model.safetensors", b"fast head")
    identity, fast_identity = model_identity("m", model), model_identity("m", fast)
    assert identity != fast_identity
    touch(model / "plain" / "model.safetensors", b"retrained head")
    assert model_identity("m", model) != identity
    assert model_identity("m", fast) == fast_identity
    touch(model / "model.safetensors", b"retrained")
    assert model_identity("m", fast) != fast_identity


def test_ledger_ignores_a_torn_last_line_and_appends_after_it(tmp_path):
    path = tmp_path / "ledger.jsonl"
    path.write_text(json.dumps({"name": "a", "status": "ok", "fingerprint": "f"}) + '\n{"name": "b", "sta')
    ledger = Ledger(path)
    assert set(ledger.records) == {"a"}
    out = touch(tmp_path / "a.emotrack")
    assert ledger.is_done("a", "f", [out]) and not ledger.is_done("a", "g", [out])
    assert not ledger.is_done("a", "f", [out, tmp_path / "missing.csv"])
    ledger.append({"name": "b", "status": "ok", "fingerprint": "h"})
    assert set(Ledger(path).records) == {"a", "b"}
    ledger.compact()
    assert len(path.read_text().splitlines()) == 2


def test_report_is_self_contained_with_distributions_quality_and_failures():
    def row(name, character, dominant, **extra):
        shares = {e: (0.7 if e == dominant else 0.06) for e in EMOTIONS}
        return {"name": name, "character": character, "status": "ok", "duration_s": 2.0,
                "keyframes": 2, "emotions": shares, "dominant": dominant, **extra}

    rows = [row("a", "Bob", "joy", vqscore=0.8, flagged_seconds=0.5, flagged_regions=[[0.1, 0.6]],
                low_confidence_keys=1, problems={"noise": 1, "clipping": 3}),
            row("b", "Bob", "anger"), row("c", "Ann", "joy"),
            {"name": "d<x>", "status": "failed", "error": "cannot read d.wav: <bad>", "audio": "d.wav"}]
    dist = character_distributions(rows)
    assert list(dist) == ["Ann", "Bob"] and dist["Bob"]["lines"] == 2
    assert dist["Bob"]["dominant"]["joy"] == 1 and dist["Bob"]["shares"]["joy"] == pytest.approx(0.38)
    page = report_html(rows, "t")
    assert "<script" not in page and "http" not in page
    assert "Bob" in page and "0.800" in page and "0.10–0.60 s" in page
    assert "noise, clipping ×3" in page
    assert "d&lt;x&gt;" in page and "cannot read d.wav: &lt;bad&gt;" in page
