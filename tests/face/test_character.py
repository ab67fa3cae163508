"""Retargeting: the user's character (glTF, or OBJ + shapes) driven by ARKit weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pygltflib
import pytest

from character_files import (
    BLUE, DELTAS, NEUTRAL, OBJ_NEUTRAL, RED, TRIANGLES, character_gltf, write_character_glb, write_character_obj,
)
from blender import blender_glb_report, needs_blender
from emotrack.core.arkit_aliases import ALIAS_TABLES
from emotrack.core.character import Character, load_character
from emotrack.core.character_names import format_report, load_character_map, match_arkit_names, normalise_name
from emotrack.core.face_arkit import ARKIT_NAMES
from emotrack.core.face_exports import export_pc2, read_pc2
from emotrack.core.face_glb import export_glb
from emotrack.errors import ParameterError
from synthetic_face import arkit_weights

MATCHED = {"eyeBlinkLeft": "Eye_Blink_L", "jawOpen": "Jaw_Open", "mouthSmileRight": "Mouth_Smile_R",
           "browInnerUp": "Brow_Raise_Inner_L + Brow_Raise_Inner_R"}


@pytest.fixture
def glb(tmp_path) -> Path:
    return write_character_glb(tmp_path / "head.glb")


# --------------------------------------------------------------------- name matching
@pytest.mark.parametrize("theirs, arkit", [
    ("eyeBlinkLeft", "eyeBlinkLeft"), ("EyeBlinkLeft", "eyeBlinkLeft"), ("eyeBlinkL", "eyeBlinkLeft"),
    ("eyeBlink_L", "eyeBlinkLeft"), ("Eye_Blink_L", "eyeBlinkLeft"), ("blendShape1.eyeBlinkLeft", "eyeBlinkLeft"),
    ("BS_EyeBlinkLeft", "eyeBlinkLeft"), ("ARKit_eyeBlink_L", "eyeBlinkLeft"), ("head:eye-blink-left", "eyeBlinkLeft"),
    ("Left_eyeBlink", "eyeBlinkLeft"), ("mouthSmile_L", "mouthSmileLeft"), ("Mouth_Smile_R", "mouthSmileRight"),
    ("Jaw_Open", "jawOpen"), ("Jaw_L", "jawLeft"), ("Mouth_Funnel", "mouthFunnel"), ("Mouth_Pucker", "mouthPucker"),
    ("Tongue_Out", "tongueOut"), ("Brow_Raise_Inner_L", "browInnerUp"), ("Brow_Drop_R", "browDownRight"),
    ("Eye_L_Look_L", "eyeLookOutLeft"), ("Eye_R_Look_L", "eyeLookInRight"), ("Cheek_Raise_L", "cheekSquintLeft"),
    ("Mouth_Roll_In_Upper_L", "mouthRollUpper"), ("CTRL_expressions_mouthCornerPullR", "mouthSmileRight"),
    ("CTRL_expressions_browRaiseInL", "browInnerUp"),
])
def test_common_names_reach_their_arkit_shape(theirs, arkit):
    assert match_arkit_names([theirs]).matched == {arkit: theirs}


def test_every_arkit_name_matches_itself_and_the_tables_name_real_arkit_shapes():
    report = match_arkit_names(ARKIT_NAMES)
    assert report.matched == {n: n for n in ARKIT_NAMES} and not report.missing and not report.unmatched
    assert len({normalise_name(n) for n in ARKIT_NAMES}) == 52  # normalising never merges two ARKit names
    seen = {}
    for table in ALIAS_TABLES.values():
        for theirs, arkit in table.items():
            assert arkit in ARKIT_NAMES, theirs
            # Each entry is needed (not an ARKit name already) and agrees with the other tables.
            assert normalise_name(theirs) not in {normalise_name(n) for n in ARKIT_NAMES}, theirs
            assert seen.setdefault(normalise_name(theirs), arkit) == arkit, theirs


def test_exact_arkit_names_outrank_aliases_and_the_loser_is_reported_unused():
    report = match_arkit_names(["Brow_Raise_Inner_L", "browInnerUp", "Tail"])
    assert report.matched == {"browInnerUp": "browInnerUp"}
    assert report.unmatched == ("Brow_Raise_Inner_L", "Tail") and len(report.missing) == 51


def test_format_report_counts_and_lists():
    text = format_report(match_arkit_names(["Jaw_Open", "Tail_Wag"]))
    assert text.splitlines()[0] == "matched 1 of 52 ARKit shapes"
    assert "Tail_Wag" in text and "eyeBlinkLeft" in text and "more" in text


# ------------------------------------------------------------------------- glTF
def test_glb_character_merges_primitives_and_matches_cc4_names(glb):
    character = load_character(glb)
    assert isinstance(character, Character) and character.name == "head"
    np.testing.assert_array_equal(character.neutral, NEUTRAL)
    np.testing.assert_array_equal(character.triangles, TRIANGLES)
    np.testing.assert_array_equal(character.vertex_colors, [RED] * 4 + [BLUE] * 3)
    assert character.report.matched == MATCHED
    assert character.report.unmatched == ("Tail_Wag",)
    assert len(character.report.missing) == 48 and "jawOpen" not in character.report.missing
    assert character.driven_names == ("eyeBlinkLeft", "jawOpen", "mouthSmileRight", "browInnerUp")


def test_evaluate_adds_the_matched_deltas_and_ignores_missing_shapes(glb):
    character = load_character(glb)
    weights = arkit_weights(3, jawOpen=[0, 1, 0.5], browInnerUp=[0, 0.5, 1], tongueOut=1, mouthSmileRight=[0, 0, 1])
    positions = character.evaluate(weights)
    assert positions.shape == (3, 7, 3) and positions.dtype == np.float32
    np.testing.assert_array_equal(positions[0], NEUTRAL)  # tongueOut: the character has none
    expected = NEUTRAL + DELTAS["Jaw_Open"] + 0.5 * (DELTAS["Brow_Raise_Inner_L"] + DELTAS["Brow_Raise_Inner_R"])
    np.testing.assert_allclose(positions[1], expected, atol=1e-6)
    np.testing.assert_allclose(positions[1][[0, 3, 5, 6]], [[0, -1, 0], [1, 1.25, 0.0625], [3, -0.5, 0], [2, 1.25, 0]])
    expected = (NEUTRAL + 0.5 * DELTAS["Jaw_Open"] + DELTAS["Brow_Raise_Inner_L"] + DELTAS["Brow_Raise_Inner_R"]
                + DELTAS["Mouth_Smile_R"])
    np.testing.assert_allclose(positions[2], expected, atol=1e-6)
    with pytest.raises(ParameterError, match=r"shape \[frames, 52\]"):
        character.evaluate(weights[:, :4])
    with pytest.raises(ParameterError, match="eyeballs"):
        character.evaluate(weights, eye_rotation=np.zeros((3, 2, 2)))


def test_the_node_transform_places_the_mesh_and_scales_the_deltas(tmp_path):
    character = load_character(write_character_glb(tmp_path / "h.glb", translation=[0, 0, 1], scale=[2, 2, 2]))
    np.testing.assert_allclose(character.neutral, NEUTRAL * 2 + [0, 0, 1])
    moved = character.evaluate(arkit_weights(1, jawOpen=1))[0]
    np.testing.assert_allclose(moved - character.neutral, DELTAS["Jaw_Open"] * 2, atol=1e-6)


def test_primitive_extras_name_the_targets_when_the_mesh_does_not(tmp_path):
    gltf = character_gltf()
    names = gltf.meshes[0].extras.pop("targetNames")
    gltf.meshes[0].primitives[0].extras = {"targetNames": names}
    gltf.save_binary(str(tmp_path / "h.glb"))
    assert load_character(tmp_path / "h.glb").report.matched == MATCHED


def test_a_gltf_with_its_buffer_embedded_as_a_data_uri(tmp_path):
    gltf = character_gltf()
    gltf.convert_buffers(pygltflib.BufferFormat.DATAURI)
    gltf.save_json(str(tmp_path / "head.gltf"))
    assert load_character(tmp_path / "head.gltf").report.matched == MATCHED


# ------------------------------------------------------------------- mapping file
def test_a_mapping_file_overrides_the_built_in_names(glb, tmp_path):
    (tmp_path / "map.json").write_text(json.dumps({"Tail_Wag": "tongueOut", "Jaw_Open": "mouthClose",
                                                   "Not_In_This_File": "jawLeft"}))
    character = load_character(glb, tmp_path / "map.json")
    assert character.report.matched["tongueOut"] == "Tail_Wag"
    assert character.report.matched["mouthClose"] == "Jaw_Open"
    assert "jawOpen" in character.report.missing and not character.report.unmatched
    moved = character.evaluate(arkit_weights(1, mouthClose=1, jawOpen=1))[0]
    np.testing.assert_allclose(moved, NEUTRAL + DELTAS["Jaw_Open"], atol=1e-6)
    # A mapped name outranks an automatic match for the same ARKit shape.
    report = load_character(glb, {"Tail_Wag": "jawOpen"}).report
    assert report.matched["jawOpen"] == "Tail_Wag" and report.unmatched == ("Jaw_Open",)


@pytest.mark.parametrize("document, message", [
    ({"Tail_Wag": "jawopen"}, r"'Tail_Wag' maps to 'jawopen'.*did you mean 'jawOpen'"),
    ({"Tail_Wag": "wagTail"}, r"'Tail_Wag' maps to 'wagTail', which is not an ARKit"),
    ({"Tail_Wag": 3}, r"value of 'Tail_Wag' must be an ARKit name"),
    ({"Tail_Wag": None}, r"value of 'Tail_Wag'"),
    (["jawOpen"], "must be a JSON object"),
])
def test_a_bad_mapping_file_names_the_bad_entry(tmp_path, document, message):
    path = tmp_path / "map.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ParameterError, match=message):
        load_character_map(path)


def test_an_unreadable_mapping_file(tmp_path, glb):
    (tmp_path / "map.json").write_text("{not json")
    with pytest.raises(ParameterError, match="not readable JSON"):
        load_character(glb, tmp_path / "map.json")
    with pytest.raises(ParameterError, match="character map not found"):
        load_character(glb, tmp_path / "gone.json")


# -------------------------------------------------------------------- OBJ + shapes
def test_obj_with_a_shapes_folder(tmp_path):
    character = load_character(write_character_obj(tmp_path))
    np.testing.assert_array_equal(character.neutral, OBJ_NEUTRAL)
    np.testing.assert_array_equal(character.triangles, [[0, 1, 2], [0, 2, 3], [1, 4, 2]])  # quad split; -1 = last
    assert character.vertex_colors is None and character.units == "m"
    assert character.report.matched == {"jawOpen": "jawOpen", "mouthSmileLeft": "Mouth_Smile_L"}
    assert character.report.unmatched == ("blink_extra",)
    moved = character.evaluate(arkit_weights(1, jawOpen=1, mouthSmileLeft=0.5))[0]
    np.testing.assert_allclose(moved - OBJ_NEUTRAL, [[0, -0.5, 0], [0, 0, 0], [0.125, 0.125, 0], [0, 0, 0], [0, 0, 0]])


def test_obj_shapes_from_an_explicit_folder_and_a_shape_of_another_size(tmp_path):
    path = write_character_obj(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    (tmp_path / "head_shapes").rename(elsewhere)
    with pytest.raises(ParameterError, match="head_shapes"):
        load_character(path)
    assert load_character(path, shapes_dir=elsewhere).report.matched["jawOpen"] == "jawOpen"
    (elsewhere / "mouthClose.obj").write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\n")
    with pytest.raises(ParameterError, match=r"mouthClose\.obj has 4 vertices; the neutral head\.obj has 5"):
        load_character(path, shapes_dir=elsewhere)
    with pytest.raises(ParameterError, match="units"):
        load_character(path, shapes_dir=elsewhere, units="furlongs")


def test_obj_with_a_bad_face(tmp_path):
    (tmp_path / "head.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n")
    (tmp_path / "head_shapes").mkdir()
    with pytest.raises(ParameterError, match="line 4"):
        load_character(tmp_path / "head.obj")


# -------------------------------------------------------------------------- errors
def test_files_that_are_not_characters(tmp_path, glb):
    (tmp_path / "empty.glb").write_bytes(b"")
    (tmp_path / "junk.glb").write_bytes(b"glTF" + bytes(range(200)))
    for name in ("empty.glb", "junk.glb"):
        with pytest.raises(ParameterError, match="not a readable glTF"):
            load_character(tmp_path / name)
    character_gltf(with_targets=False).save_binary(str(tmp_path / "static.glb"))
    with pytest.raises(ParameterError, match="no mesh with morph targets"):
        load_character(tmp_path / "static.glb")
    write_character_glb(tmp_path / "odd.glb", target_names=[f"shape{k}" for k in range(6)])
    with pytest.raises(ParameterError, match=r"none of head's 6 blendshapes \(shape0, .*character map"):
        load_character(tmp_path / "odd.glb")
    broken = character_gltf()
    broken.meshes[0].primitives[0].indices = 99  # no such accessor
    broken.save_binary(str(tmp_path / "broken.glb"))
    with pytest.raises(ParameterError, match="broken.glb: accessor 99 is malformed"):
        load_character(tmp_path / "broken.glb")
    with pytest.raises(ParameterError, match="unsupported character file head.fbx"):
        load_character(tmp_path / "head.fbx")
    with pytest.raises(ParameterError, match="not found"):
        load_character(tmp_path / "gone.glb")
    with pytest.raises(ParameterError, match="shapes folder is for OBJ"):
        load_character(glb, shapes_dir=tmp_path)


# -------------------------------------------------------------------------- exports
def test_export_glb_of_a_character_animates_only_its_arkit_shapes(glb, tmp_path):
    character = load_character(glb)
    t = np.arange(12) / 11
    weights = arkit_weights(12, jawOpen=t, browInnerUp=1 - t, tongueOut=1)
    path = export_glb(character, weights, 24, tmp_path / "out.glb")

    gltf = pygltflib.GLTF2().load(str(path))
    mesh = gltf.meshes[0]
    assert mesh.name == "head" and mesh.extras["targetNames"] == list(character.driven_names)
    assert len(mesh.primitives[0].targets) == 4 and mesh.primitives[0].attributes.COLOR_0 is not None
    sampler = gltf.animations[0].samplers[0]
    assert gltf.accessors[sampler.input].count == 12 and gltf.accessors[sampler.output].count == 12 * 4

    # Read back, the export is the same character under ARKit names (glTF is metres, as the input).
    again = load_character(path)
    assert again.report.matched == {n: n for n in character.driven_names}
    np.testing.assert_allclose(again.neutral, character.neutral, atol=1e-6)
    np.testing.assert_allclose(again.evaluate(weights), character.evaluate(weights), atol=1e-6)
    np.testing.assert_allclose(again.vertex_colors, character.vertex_colors)


def test_export_pc2_of_a_character(glb, tmp_path):
    character = load_character(glb)
    weights = arkit_weights(5, jawOpen=np.linspace(0, 1, 5))
    header, positions = read_pc2(export_pc2(character, weights, 30, tmp_path / "out.pc2"))
    assert header["points"] == 7 and header["samples"] == 5
    np.testing.assert_allclose(positions, character.evaluate(weights), atol=1e-6)  # metres in, metres out


@needs_blender
def test_blender_imports_a_character_glb_and_plays_its_animation(glb, tmp_path):
    t = np.arange(48) / 24
    weights = arkit_weights(48, jawOpen=0.5 + 0.5 * np.sin(2 * np.pi * t))
    path = export_glb(load_character(glb), weights, 24, tmp_path / "character.glb")
    report = [blender_glb_report(path, "jawOpen")]
    assert '"shape_keys": 5' in report[0]  # the basis + the 4 matched ARKit shapes
