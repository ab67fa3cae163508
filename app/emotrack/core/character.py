"""The user's own character, driven by Emotrack's ARKit-52 weights (retargeting).

A :class:`Character` is a :class:`~.face_rig.FaceRig` whose mesh and blendshapes come
from the user's file, with each of the 52 ARKit shapes mapped to the character's
shape(s) of that meaning (:mod:`.character_names`); ARKit shapes it lacks move nothing.
So the preview and the exports take a Character wherever they take the bundled rig:
``neutral``, ``triangles``, ``vertex_count`` and ``evaluate(weights)`` mean the same.

Files: glTF 2.0 (``.glb``/``.gltf``, :mod:`.character_gltf`) and OBJ plus a folder of
shape OBJs (:mod:`.character_obj`). Convert FBX or Maya scenes to glTF in Blender
(File > Export > glTF 2.0 with "Shape Keys" on).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from .character_mesh import LoadedMesh, add_targets
from .character_names import RetargetReport, format_report, load_character_map, match_arkit_names
from .face_arkit import ARKIT_INDEX, ARKIT_NAMES
from .face_glb import GLTF_METRES_PER_RIG_UNIT
from .face_rig import FaceRig, SparseTarget

__all__ = ["CHARACTER_SUFFIXES", "Character", "RetargetReport", "character_from_mesh", "format_report",
           "load_character", "match_arkit_names"]  # the names matching lives in .character_names

CHARACTER_SUFFIXES = (".glb", ".gltf", ".obj")
_NO_MOTION = SparseTarget(np.zeros(0, np.int64), np.zeros((0, 3), np.float32))


class Character(FaceRig):
    """A character's mesh + its shapes that match ARKit names -> vertices.

    ``shapes``: the character's target name -> its delta on the mesh; ``report``
    says which of them drive which ARKit shape. ``vertex_colors`` (``[V, 4]`` RGBA,
    from the glTF materials' base colours; None for OBJ) lets a preview shade it.
    """

    def __init__(self, name: str, neutral, triangles, shapes: Mapping[str, SparseTarget], report: RetargetReport,
                 vertex_colors=None, units: str = "m"):
        unknown = [n for names in report.sources.values() for n in names if n not in shapes]
        if unknown:
            raise ParameterError(f"the retarget report names shapes the character lacks: {', '.join(unknown)}")
        targets = [add_targets([shapes[n] for n in report.sources[arkit]]) if arkit in report.sources
                   else _NO_MOTION for arkit in ARKIT_NAMES]
        super().__init__(neutral, triangles, ARKIT_NAMES, targets, units=units)
        self.name = str(name)
        self.report = report
        self.vertex_colors = None
        if vertex_colors is not None:
            self.vertex_colors = np.asarray(vertex_colors, np.float32)
            if self.vertex_colors.shape != (self.vertex_count, 4):
                raise ParameterError(f"vertex_colors must have shape [{self.vertex_count}, 4], "
                                     f"got {list(self.vertex_colors.shape)}")

    @property
    def driven_names(self) -> tuple[str, ...]:
        """The ARKit shapes this character has (ARKit order): the exports animate only these."""
        return self.report.matched_names

    @property
    def deltas(self) -> dict[str, SparseTarget]:
        """ARKit name -> the (summed) delta that weight drives, for the matched names."""
        return {name: self.targets[ARKIT_INDEX[name]] for name in self.driven_names}

    def evaluate(self, weights, eye_rotation=None) -> np.ndarray:
        """Vertex positions ``[frames, V, 3]`` for ARKit weights ``[frames, 52]``, as
        :meth:`FaceRig.evaluate`; the weights of missing shapes are ignored."""
        if eye_rotation is not None:
            raise ParameterError("a character has no separate eyeballs to rotate; its eyeLook* shapes turn the gaze")
        return super().evaluate(weights)


def character_from_mesh(mesh: LoadedMesh, mapping: Mapping[str, str] | None = None) -> Character:
    report = match_arkit_names(mesh.shapes, mapping)
    if not report.sources:
        names = list(mesh.shapes)
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        raise ParameterError(f"none of {mesh.name}'s {len(names)} blendshapes ({shown}) match an ARKit name; "
                             f"give a character map {{\"their name\": \"arkitName\"}}")
    return Character(mesh.name, mesh.neutral, mesh.triangles, mesh.shapes, report,
                     vertex_colors=mesh.vertex_colors, units=mesh.units)


def load_character(path: str | Path, mapping: Mapping[str, str] | str | Path | None = None,
                   shapes_dir: str | Path | None = None, units: str = "m") -> Character:
    """Read a character and match its blendshapes to ARKit names.

    ``mapping``: a ``{"their name": "arkitName"}`` dict or the path of such a JSON file;
    it overrides the built-in name tables. ``shapes_dir`` (OBJ only): the folder of
    shape OBJs, default ``<stem>_shapes`` beside the OBJ. ``units`` (OBJ only; glTF is
    metres): what the OBJ's numbers are, "m", "cm" or "mm".
    """
    from .character_gltf import read_gltf_character
    from .character_obj import read_obj_character

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CHARACTER_SUFFIXES:
        raise ParameterError(f"unsupported character file {path.name}: use {', '.join(CHARACTER_SUFFIXES)} "
                             f"(Blender exports FBX and other scenes as glTF with their shape keys)")
    if units not in GLTF_METRES_PER_RIG_UNIT:
        raise ParameterError(f"units must be one of {', '.join(GLTF_METRES_PER_RIG_UNIT)}, got {units!r}")
    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = load_character_map(mapping)
    if suffix == ".obj":
        mesh = read_obj_character(path, shapes_dir, units=units)
    else:
        if shapes_dir is not None:
            raise ParameterError("a shapes folder is for OBJ characters; a glTF character carries its own shapes")
        mesh = read_gltf_character(path)
    return character_from_mesh(mesh, mapping)
