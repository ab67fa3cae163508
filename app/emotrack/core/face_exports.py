"""Face animation exports that need no mesh library: ARKit curves as Live Link Face CSV
and as Audio2Face JSON, and a PC2 vertex cache.

Every function takes per-frame ARKit weights ``[frames, 52]`` (Apple's order, see
:mod:`.face_arkit`) sampled at ``fps``: frame i is at time i / fps. Files are written
atomically. The glTF export is in :mod:`.face_glb`, the mouth cues in :mod:`.mouth_cues`.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from .atomic import atomic_binary_file, write_json_atomic, write_text_atomic
from .face_arkit import (
    ARKIT_INDEX, ARKIT_NAMES, LIVE_LINK_CSV_NAMES, LIVE_LINK_ROTATION_NAMES, check_fps, check_weights,
    live_link_to_arkit,
)
from .face_glb import GLTF_METRES_PER_RIG_UNIT
from .face_rig import FaceRig


# ------------------------------------------------------------------ Live Link Face CSV
def live_link_timecode(frame: int, fps: float) -> str:
    """``HH:MM:SS:FF.mmm`` as Live Link Face writes it: frames counted at the nominal
    rate (``round(fps)``), then the fraction of a frame (always .000 here)."""
    nominal = max(1, round(fps))
    seconds, frames = divmod(frame, nominal)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}.000"


def arkit_csv_text(weights, fps: float, eye_rotation=None) -> str:
    """Live Link Face CSV: ``Timecode, BlendShapeCount``, the 52 shapes in the app's
    column order, then head and eye yaw/pitch/roll.

    Head columns are 0 (Emotrack makes no head motion). ``eye_rotation`` (optional,
    ``[frames, 2, 2]`` radians, (yaw, pitch) of the left and right eye as
    :meth:`FaceRig.evaluate` takes it) fills the eye columns; otherwise they are 0 and the
    gaze is carried by the eyeLook* shapes alone.
    """
    weights = check_weights(weights)
    fps = check_fps(fps)
    frames = len(weights)
    rotations = np.zeros((frames, len(LIVE_LINK_ROTATION_NAMES)), np.float32)
    if eye_rotation is not None:
        eyes = np.asarray(eye_rotation, np.float32)
        if eyes.shape != (frames, 2, 2) or not np.isfinite(eyes).all():
            raise ParameterError(f"eye_rotation must be finite with shape [{frames}, 2, 2], got {list(eyes.shape)}")
        rotations[:, [3, 4, 6, 7]] = eyes.reshape(frames, 4)  # Left yaw, pitch; Right yaw, pitch
    columns = [ARKIT_INDEX[live_link_to_arkit(name)] for name in LIVE_LINK_CSV_NAMES]
    count = len(LIVE_LINK_CSV_NAMES) + len(LIVE_LINK_ROTATION_NAMES)  # the app writes 61
    header = ",".join(["Timecode", "BlendShapeCount", *LIVE_LINK_CSV_NAMES, *LIVE_LINK_ROTATION_NAMES])
    values = np.column_stack([weights[:, columns], rotations]).tolist()
    row_format = ",".join(["%.6f"] * (len(columns) + rotations.shape[1]))
    rows = [f"{live_link_timecode(i, fps)},{count}," + row_format % tuple(row) for i, row in enumerate(values)]
    return header + "\n" + "\n".join(rows) + "\n"


def export_arkit_csv(weights, fps: float, path: str | Path, eye_rotation=None) -> Path:
    path = Path(path)
    write_text_atomic(path, arkit_csv_text(weights, fps, eye_rotation))
    return path


# ------------------------------------------------------------- Audio2Face JSON layout
def arkit_json_document(weights, fps: float, track_path: str = "") -> dict:
    """Audio2Face's blendshape export layout: ``exportFps``, ``trackPath`` (the audio
    the curves were made from), ``numPoses``, ``numFrames``, ``facsNames`` and
    ``weightMat`` (frames x poses)."""
    weights = check_weights(weights)
    fps = check_fps(fps)
    return {
        "exportFps": int(fps) if float(fps).is_integer() else fps,
        "trackPath": str(track_path),
        "numPoses": len(ARKIT_NAMES),
        "numFrames": len(weights),
        "facsNames": list(ARKIT_NAMES),
        "weightMat": np.round(weights.astype(np.float64), 6).tolist(),
    }


def export_arkit_json(weights, fps: float, path: str | Path, track_path: str = "") -> Path:
    path = Path(path)
    write_json_atomic(path, arkit_json_document(weights, fps, track_path))
    return path


# ------------------------------------------------------------------------ PC2 cache
PC2_HEADER = struct.Struct("<12siiffi")  # signature, version, points, start frame, sample rate, samples
PC2_SIGNATURE = b"POINTCACHE2\0"
PC2_CHUNK_FRAMES = 256  # frames evaluated at a time: ~80 MB of vertices for the ICT rig


def export_pc2(rig: FaceRig, weights, fps: float, path: str | Path, eye_rotation=None,
               scale: float | None = None) -> Path:
    """A PC2 point cache (3ds Max / Blender "Mesh Cache" / Maya): one sample per frame.

    ``rig``: the bundled face rig or a :class:`~.character.Character` (only its
    ``evaluate`` and ``vertex_count`` are used). The header's sample rate is PC2's
    frame step between samples (1.0), start frame 0; ``fps`` only validates that the
    weights are per-frame (the cache itself carries no rate: set the scene to ``fps``).
    Positions are the rig's (Y up) times ``scale``, by default the factor that makes
    metres from the rig's units, so a cache lines up with the GLB export of the same rig.
    """
    weights = check_weights(weights)
    check_fps(fps)
    if scale is None:
        scale = GLTF_METRES_PER_RIG_UNIT.get(rig.units, 1.0)
    if not np.isfinite(scale) or scale <= 0:
        raise ParameterError(f"scale must be a number > 0, got {scale!r}")
    frames = len(weights)
    path = Path(path)
    with atomic_binary_file(path) as handle:
        handle.write(PC2_HEADER.pack(PC2_SIGNATURE, 1, rig.vertex_count, 0.0, 1.0, frames))
        for start in range(0, frames, PC2_CHUNK_FRAMES):
            stop = min(frames, start + PC2_CHUNK_FRAMES)
            eyes = None if eye_rotation is None else np.asarray(eye_rotation)[start:stop]
            positions = rig.evaluate(weights[start:stop], eyes) * np.float32(scale)
            handle.write(positions.astype("<f4").tobytes())
    return path


def read_pc2(path: str | Path) -> tuple[dict, np.ndarray]:
    """(header fields, positions ``[samples, points, 3]``) of a PC2 file."""
    data = Path(path).read_bytes()
    if len(data) < PC2_HEADER.size:
        raise ParameterError(f"{path} is too short for a PC2 file")
    signature, version, points, start, rate, samples = PC2_HEADER.unpack_from(data)
    if signature != PC2_SIGNATURE:
        raise ParameterError(f"{path} is not a PC2 file")
    expected = PC2_HEADER.size + samples * points * 12
    if len(data) != expected:
        raise ParameterError(f"{path} has {len(data)} bytes; its header says {expected}")
    positions = np.frombuffer(data, "<f4", offset=PC2_HEADER.size).reshape(samples, points, 3)
    header = {"version": version, "points": points, "start_frame": start, "sample_rate": rate, "samples": samples}
    return header, positions
