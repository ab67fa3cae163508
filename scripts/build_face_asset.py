"""Build resources/face/ict_face_arkit.npz from ICT-FaceKit's expression shapes.

    python scripts/build_face_asset.py ../shared/data/face/ict_facekit/ict_expressions_float32.npz

Reads the shared ICT-FaceKit arrays (never copied into the repository) and writes the
runtime rig (see app/emotrack/core/face_rig.py for the file layout) plus ICT-FaceKit's
LICENSE beside it. What it does to the source, and why, is in resources/face/README.md:

- drops the lacrimal-fluid, eye-blend and eye-occlusion meshes (Unreal shader overlays
  that an opaque preview draws as grey shells over the eyes); keeps the eyelashes;
- maps the 52 ARKit names onto the rig's shapes (``_L``/``_R`` suffixes; browInnerUp and
  cheekPuff summed from their halves);
- builds tongueOut, which ICT lacks, from the tongue vertices of the gums+tongue part;
- adds eyeball rotations to eyeLookIn/Out/Up/Down (ICT's move only the lids);
- stores each shape's deltas sparsely (vertices moving >= 10 um) in float16.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

from emotrack.core.face_arkit import ARKIT_NAMES  # noqa: E402
from emotrack.core.face_rig import FaceRig, SparseTarget, gaze_rotation, save_face_asset  # noqa: E402

# Deltas below this (cm) are dropped: 10 um is far below what a preview can show, and
# it removes the long tail of near-zero deltas that ICT's scans leave over the head.
DELTA_THRESHOLD_CM = 1e-3
# ICT's last part bundles Unreal's eye overlay meshes with the lashes (README table).
EYE_OVERLAYS = (24591, 25351)  # lacrimal fluid, eye blend, eye occlusion (L and R)
EYELASHES = (25351, 26719)
# Eyeball turn at weight 1, degrees. ARKit does not define one; these sit within the
# range a human eye reaches comfortably (about 30-35 deg sideways, 25 up, 30 down).
EYE_LOOK_DEGREES = {"In": 30.0, "Out": 30.0, "Up": 25.0, "Down": 25.0}
SCLERA_VERTICES = 770  # first vertices of each eyeball part (README "Eyeball Details")
# The tongue: the jaw-driven vertices of the block at the end of gums+tongue (found by
# inspecting the mesh: z 3.3..9.8 cm, |x| <= 2 cm, tip behind the lower incisors).
TONGUE_BLOCK = (16306, 17039)
# tongueOut at weight 1: the tip moves 3 cm forward (past the lips) and 0.8 cm up (over
# the lower incisors); the move fades to zero along the tongue's back half.
TONGUE_TIP_MOVE_CM = np.array([0.0, 0.8, 3.0], np.float32)
TONGUE_ROOT_Z_CM = 5.0


def rig_shape_name(arkit_name: str, rig_names: list[str]) -> str | None:
    """ICT's name for an ARKit shape ("eyeBlinkLeft" -> "eyeBlink_L"), or None."""
    for side, suffix in (("Left", "_L"), ("Right", "_R")):
        if arkit_name.endswith(side) and arkit_name[: -len(side)] + suffix in rig_names:
            return arkit_name[: -len(side)] + suffix
    return arkit_name if arkit_name in rig_names else None


def sphere_centre(points: np.ndarray) -> np.ndarray:
    """Least-squares sphere centre: |p|^2 = 2 c.p + (r^2 - |c|^2) is linear in c."""
    a = np.column_stack([2 * points, np.ones(len(points))])
    b = (points ** 2).sum(axis=1)
    solution, *_ = np.linalg.lstsq(a.astype(np.float64), b.astype(np.float64), rcond=None)
    return solution[:3].astype(np.float32)


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def tongue_out_delta(neutral: np.ndarray, jaw_open: np.ndarray) -> np.ndarray:
    delta = np.zeros_like(neutral)
    block = np.arange(*TONGUE_BLOCK)
    tongue = block[np.abs(jaw_open[block, 1]) > 0.05]  # the tongue rides on the jaw; the pharynx does not
    z = neutral[tongue, 2]
    weight = smoothstep((z - TONGUE_ROOT_Z_CM) / (z.max() - TONGUE_ROOT_Z_CM))
    delta[tongue] = weight[:, None] * TONGUE_TIP_MOVE_CM
    return delta


def eye_look_delta(neutral: np.ndarray, part: tuple[int, int], centre: np.ndarray,
                   yaw_deg: float, pitch_deg: float) -> np.ndarray:
    delta = np.zeros_like(neutral)
    start, stop = part
    rotation = gaze_rotation(np.radians(yaw_deg), np.radians(pitch_deg))[0]
    local = neutral[start:stop] - centre
    delta[start:stop] = local @ rotation.T + centre - neutral[start:stop]
    return delta


def arkit_deltas(source) -> tuple[np.ndarray, np.ndarray]:
    """(``[52, V, 3]`` ARKit deltas on the full ICT mesh, eye centres ``[2, 3]``)."""
    names = [str(n) for n in source["names"]]
    neutral, deltas = source["neutral"], source["deltas"]
    parts = {str(n): tuple(int(x) for x in r) for n, r in zip(source["part_names"], source["part_ranges"])}
    eyes = {"Left": parts["eyeball_L"], "Right": parts["eyeball_R"]}
    centres = {side: sphere_centre(neutral[a:a + SCLERA_VERTICES]) for side, (a, _) in eyes.items()}
    # ICT's _L is the face's own left, at +X (the camera's right): check before relying on it.
    assert centres["Left"][0] > 0 > centres["Right"][0], centres
    blink_l = deltas[names.index("eyeBlink_L")]
    assert (np.abs(blink_l).sum(axis=1) * neutral[:, 0]).sum() > 0, "eyeBlink_L should move the +X eye"

    result = np.zeros((len(ARKIT_NAMES), *neutral.shape), np.float32)
    for k, name in enumerate(ARKIT_NAMES):
        if name in ("browInnerUp", "cheekPuff"):
            result[k] = deltas[names.index(name + "_L")] + deltas[names.index(name + "_R")]
        elif name == "tongueOut":
            result[k] = tongue_out_delta(neutral, deltas[names.index("jawOpen")])
        else:
            rig_name = rig_shape_name(name, names)
            if rig_name is None:
                raise SystemExit(f"no ICT shape for ARKit {name}")
            result[k] = deltas[names.index(rig_name)]
        if name.startswith("eyeLook"):
            side = "Left" if name.endswith("Left") else "Right"
            direction = name[len("eyeLook"):-len(side)]
            degrees = EYE_LOOK_DEGREES[direction]
            # Towards the nose ("In") is -X for the left eye (at +X) and +X for the right.
            outward = 1.0 if side == "Left" else -1.0
            yaw = {"In": -outward, "Out": outward}.get(direction, 0.0) * degrees
            pitch = {"Up": 1.0, "Down": -1.0}.get(direction, 0.0) * degrees
            result[k] += eye_look_delta(neutral, eyes[side], centres[side], yaw, pitch)
    return result, np.stack([centres["Left"], centres["Right"]])


def build(source_path: Path, out_path: Path) -> FaceRig:
    source = np.load(source_path)
    neutral = source["neutral"]
    deltas, eye_centres = arkit_deltas(source)

    keep = np.ones(len(neutral), bool)
    keep[slice(*EYE_OVERLAYS)] = False
    new_index = np.full(len(neutral), -1, np.int64)
    new_index[keep] = np.arange(keep.sum())
    triangles = source["triangles"]
    triangles = new_index[triangles[keep[triangles].all(axis=1)]]

    part_names, part_ranges = [], []
    for name, (start, stop) in zip(source["part_names"], source["part_ranges"]):
        if str(name) == "lacrimal_blend_occlusion_lashes":
            name, (start, stop) = "eyelashes", EYELASHES
        part_names.append(str(name))
        part_ranges.append((new_index[start], new_index[stop - 1] + 1))

    targets = []
    for delta in deltas:
        moving = np.flatnonzero(keep & (np.linalg.norm(delta, axis=1) >= DELTA_THRESHOLD_CM))
        targets.append(SparseTarget(new_index[moving], delta[moving]))
    rig = FaceRig(neutral[keep], triangles, ARKIT_NAMES, targets, part_names, part_ranges,
                  eye_centres=eye_centres, units="cm")
    save_face_asset(out_path, rig, source=f"ICT-FaceKit Face Model Light, built by scripts/build_face_asset.py "
                                          f"from {source_path.name}")
    return rig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="ict_expressions_float32.npz (ICT-FaceKit arrays)")
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "resources" / "face" / "ict_face_arkit.npz")
    args = parser.parse_args(argv)
    rig = build(args.source, args.out)
    licence = args.source.parent / "LICENSE"
    if licence.is_file():
        shutil.copyfile(licence, args.out.parent / "LICENSE")
    nnz = sum(len(t.vertices) for t in rig.targets)
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.2f} MB, {rig.vertex_count} vertices, "
          f"{len(rig.triangles)} triangles, {nnz} sparse deltas ({len(rig.moving_vertices)} vertices move)")
    for name, target in zip(rig.names, rig.targets):
        print(f"  {name:20s} {len(target.vertices):6d} vertices, max {np.abs(target.deltas).max():.2f} {rig.units}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
