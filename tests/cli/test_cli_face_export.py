"""`emotrack export --format arkit-csv|arkit-json|glb|pc2|mouth-cues`: the bundled face
network on the bundled Whisper encoder, driven by a project's audio and emotion curves."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotrack.cli.main import main
from emotrack.core.face_arkit import ARKIT_NAMES
from emotrack.core.face_exports import read_pc2
from emotrack.core.project_file import load_project
from signals import speech_like

FPS = 30
SECONDS = 1.5


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_emotion_model_dir) -> Path:
    folder = tmp_path_factory.mktemp("face_export")
    sf.write(folder / "line.wav", speech_like(SECONDS), 16000)
    path = folder / "line.emotrack"
    assert main(["analyze", str(folder / "line.wav"), "-o", str(path), "--model", str(tiny_emotion_model_dir)]) == 0
    return path


def export(project: Path, kind: str, output: Path) -> Path:
    assert main(["export", str(project), "--format", kind, "--fps", str(FPS), "-o", str(output), "--device", "cpu"]) == 0
    return output


def frame_count(project: Path) -> int:
    loaded = load_project(project)
    return int(np.floor(max(loaded.duration, loaded.keyframes[-1].time) * FPS + 1e-9)) + 1


def test_arkit_csv_and_json_have_a_row_per_frame_and_every_arkit_curve(project, tmp_path):
    rows = list(csv.reader(export(project, "arkit-csv", tmp_path / "face.csv").open()))
    assert len(rows) - 1 == frame_count(project)
    assert rows[0][:3] == ["Timecode", "BlendShapeCount", "EyeBlinkLeft"]
    weights = np.array([[float(x) for x in row[2:54]] for row in rows[1:]])
    assert np.all((weights >= 0) & (weights <= 1)) and weights.std(axis=0).max() > 0.01  # the face moves

    document = json.loads(export(project, "arkit-json", tmp_path / "face.json").read_text())
    assert document["facsNames"] == list(ARKIT_NAMES)
    assert document["numFrames"] == frame_count(project) == len(document["weightMat"])
    assert document["exportFps"] == FPS


def test_glb_pc2_and_mouth_cues_round_trip(project, tmp_path):
    pygltflib = pytest.importorskip("pygltflib")
    gltf = pygltflib.GLTF2().load(str(export(project, "glb", tmp_path / "face.glb")))
    assert gltf.meshes[0].extras["targetNames"] == list(ARKIT_NAMES)
    sampler = gltf.animations[0].samplers[0]
    assert gltf.accessors[sampler.input].count == frame_count(project)

    header, positions = read_pc2(export(project, "pc2", tmp_path / "face.pc2"))
    assert positions.shape[0] == frame_count(project) and np.isfinite(positions).all()

    cues = export(project, "mouth-cues", tmp_path / "face.tsv").read_text().splitlines()
    assert cues and all(line.split("\t")[1] in "ABCDEFGHX" for line in cues)
    rhubarb = json.loads(export(project, "mouth-cues", tmp_path / "face.json").read_text())
    assert rhubarb["mouthCues"][0]["start"] == 0


def test_face_export_without_the_audio_says_so_in_one_line(project, tmp_path, capsys):
    moved = tmp_path / "moved.emotrack"
    document = json.loads(project.read_text())
    document["audio"]["path"] = "gone.wav"
    moved.write_text(json.dumps(document))
    assert main(["export", str(moved), "--format", "glb", "-o", str(tmp_path / "x.glb")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "gone.wav" in error[0]


def test_face_export_of_a_project_with_no_audio_at_all_says_so(project, tmp_path, capsys):
    """Found by scripts/fuzz_cli.py (seed 5): a project file without "audio" crashed the face
    export with an internal error; the curves export of it still works."""
    bare = tmp_path / "bare.emotrack"
    document = json.loads(project.read_text())
    del document["audio"]
    bare.write_text(json.dumps(document))
    assert main(["export", str(bare), "--format", "arkit-json", "-o", str(tmp_path / "x.json")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "the project has no audio file" in error[0] and not (tmp_path / "x.json").exists()
    assert main(["export", str(bare), "--format", "csv", "-o", str(tmp_path / "curves.csv")]) == 0


def with_face_controls(project: Path, folder: Path, name: str, **controls) -> Path:
    """A copy of ``project`` in ``folder`` with ``controls`` saved as its face controls."""
    document = json.loads(project.read_text())
    document["audio"]["path"] = str(project.parent / document["audio"]["path"])
    document["face"] = controls
    path = folder / f"{name}.emotrack"
    path.write_text(json.dumps(document))
    return path


def test_exports_carry_the_projects_face_controls(project, tmp_path):
    def curves(name: str, **controls) -> dict[str, np.ndarray]:
        variant = with_face_controls(project, tmp_path, name, blink_rate=60.0, **controls)
        rows = list(csv.reader(export(variant, "arkit-csv", tmp_path / f"{name}.csv").open()))
        values = np.array([[float(x) for x in row[2:54]] for row in rows[1:]])
        return dict(zip(rows[0][2:54], values.T))

    still, blinking = curves("still", blink_strength=0.0), curves("blinking", blink_strength=2.0)
    # At 60 a minute the first blink starts within the first second of the 1.5 s line.
    assert blinking["EyeBlinkLeft"].max() == 1.0 and still["EyeBlinkLeft"].max() < 1.0
    assert np.all(blinking["EyeBlinkLeft"] >= still["EyeBlinkLeft"])
    np.testing.assert_array_equal(blinking["EyeBlinkLeft"] == 1.0, blinking["EyeBlinkRight"] == 1.0)  # both eyes
    np.testing.assert_array_equal(blinking["JawOpen"], still["JawOpen"])  # the mouth is not the eyes' business


# ------------------------------------------------------------------- --character
@pytest.fixture
def quick_face(monkeypatch, project):
    """The face network replaced by fixed curves (the jaw opens and closes): the
    character tests check the retargeting, not the network; calls are counted."""
    import emotrack.pipeline as pipeline

    calls = []
    frames = frame_count(project)

    def animate_face(project, fps, animator, clip=None):
        calls.append(fps)
        t = np.arange(frames) / fps
        weights = np.zeros((frames, len(ARKIT_NAMES)), np.float32)
        weights[:, ARKIT_NAMES.index("jawOpen")] = 0.5 - 0.5 * np.cos(2 * np.pi * t)
        return t, weights

    monkeypatch.setattr(pipeline, "load_face_animator", lambda face_dir=None, device="auto": None)
    monkeypatch.setattr(pipeline, "animate_face", animate_face)
    return calls


def test_glb_of_a_character_prints_the_retarget_report(project, quick_face, tmp_path, capsys):
    from character_files import write_character_glb

    pygltflib = pytest.importorskip("pygltflib")
    character = write_character_glb(tmp_path / "head.glb")
    output = tmp_path / "out.glb"
    assert main(["export", str(project), "--format", "glb", "--fps", str(FPS), "-o", str(output),
                 "--character", str(character)]) == 0
    error = capsys.readouterr().err
    assert "character head: matched 4 of 52 ARKit shapes" in error and "Tail_Wag" in error
    gltf = pygltflib.GLTF2().load(str(output))
    assert gltf.meshes[0].extras["targetNames"] == ["eyeBlinkLeft", "jawOpen", "mouthSmileRight", "browInnerUp"]
    assert gltf.accessors[gltf.animations[0].samplers[0].input].count == frame_count(project)


def test_pc2_of_an_obj_character_with_a_shapes_folder_and_a_map(project, quick_face, tmp_path, capsys):
    from character_files import OBJ_NEUTRAL, write_character_obj

    head = write_character_obj(tmp_path)
    shapes = tmp_path / "shapes"
    (tmp_path / "head_shapes").rename(shapes)
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"blink_extra": "eyeBlinkLeft"}))
    output = tmp_path / "out.pc2"
    assert main(["export", str(project), "--format", "pc2", "--fps", str(FPS), "-o", str(output),
                 "--character", str(head), "--character-shapes", str(shapes), "--character-map", str(mapping)]) == 0
    assert "matched 3 of 52" in capsys.readouterr().err
    header, positions = read_pc2(output)
    assert positions.shape == (frame_count(project), len(OBJ_NEUTRAL), 3)
    assert positions[:, 0, 1].min() < -0.2 and np.allclose(positions[0], OBJ_NEUTRAL)  # the jaw vertex moves


@pytest.mark.parametrize("arguments, message", [
    (["--format", "arkit-csv", "--character", "head.glb"], "--format arkit-csv has none"),
    (["--format", "glb", "--character-map", "map.json"], "need --character FILE"),
    (["--format", "glb", "--character", "head.fbx"], "unsupported character file head.fbx"),
    (["--format", "glb", "--character", "gone.glb"], "character file not found"),
])
def test_character_options_that_cannot_work_fail_before_any_face_work(project, quick_face, tmp_path, capsys,
                                                                      arguments, message):
    assert main(["export", str(project), "-o", str(tmp_path / "out.x"), *arguments]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and message in error[0]
    assert not quick_face and not list(tmp_path.iterdir())


def test_a_bad_character_map_names_the_entry(project, quick_face, tmp_path, capsys):
    from character_files import write_character_glb

    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"Jaw_Open": "jaw_open"}))
    character = write_character_glb(tmp_path / "head.glb")
    assert main(["export", str(project), "--format", "glb", "-o", str(tmp_path / "out.glb"),
                 "--character", str(character), "--character-map", str(mapping)]) == 2
    assert "'Jaw_Open' maps to 'jaw_open'" in capsys.readouterr().err and not quick_face
