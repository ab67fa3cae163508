"""Read a character from Wavefront OBJ: the neutral ``head.obj`` plus a folder of shape
OBJs, one per blendshape, each named by its target (``head_shapes/jawOpen.obj``).

Every shape must have the neutral's vertex count and order (what Maya, Blender and ZBrush
write when the shapes are exported from one mesh); only its ``v`` lines are read.
Faces (``f``, with ``v``, ``v/vt``, ``v//vn`` or ``v/vt/vn`` corners, negative indices
counting back) are triangulated as fans, so quads and convex n-gons are fine. OBJ has no
units: positions are taken as the ``units`` the caller says (metres by default).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ParameterError
from .character_mesh import LoadedMesh, fan_triangles, sparse_target


def default_shapes_dir(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(f"{path.stem}_shapes")


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as error:
        raise ParameterError(f"cannot read {path}: {error}") from None


def _parse_obj(path: Path, with_faces: bool) -> tuple[np.ndarray, np.ndarray]:
    vertices, polygons = [], []
    for number, line in enumerate(_read_lines(path), 1):
        words = line.split()
        if not words:
            continue
        if words[0] == "v":
            try:
                vertices.append([float(x) for x in words[1:4]])
            except ValueError:
                vertices.append([])
            if len(vertices[-1]) != 3:
                raise ParameterError(f"{path} line {number}: a vertex that is not three numbers")
        elif words[0] == "f" and with_faces:
            try:
                polygons.append((number, len(vertices), [int(corner.split("/")[0]) for corner in words[1:]]))
            except ValueError:
                raise ParameterError(f"{path} line {number}: a face corner that is not a vertex index") from None
    triangles = []
    for number, defined, corners in polygons:
        # 1-based; a negative index counts back from the last vertex defined before the face
        polygon = [c - 1 if c > 0 else defined + c for c in corners]
        if len(polygon) < 3 or 0 in corners or min(polygon) < 0 or max(polygon) >= len(vertices):
            raise ParameterError(f"{path} line {number}: a face needs 3 or more vertices that exist")
        triangles.extend(fan_triangles(polygon))
    return np.array(vertices, np.float32).reshape(-1, 3), np.array(triangles, np.int64).reshape(-1, 3)


def read_obj_vertices(path: Path) -> np.ndarray:
    """The ``v`` positions of an OBJ, float32 ``[V, 3]``."""
    return _parse_obj(path, with_faces=False)[0]


def read_obj_mesh(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(positions ``[V, 3]``, triangles ``[T, 3]``) of an OBJ."""
    return _parse_obj(path, with_faces=True)


def read_obj_character(path: str | Path, shapes_dir: str | Path | None = None, units: str = "m") -> LoadedMesh:
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"character file not found: {path}")
    neutral, triangles = read_obj_mesh(path)
    if len(neutral) == 0 or len(triangles) == 0:
        raise ParameterError(f"{path} has no vertices or no faces")
    folder = Path(shapes_dir) if shapes_dir is not None else default_shapes_dir(path)
    if not folder.is_dir():
        raise ParameterError(f"no blendshape folder for {path.name}: expected the shape OBJs in {folder}")
    files = sorted(f for f in folder.iterdir() if f.suffix.lower() == ".obj" and f.is_file())
    if not files:
        raise ParameterError(f"{folder} has no shape .obj files (one per blendshape, named by the shape)")
    shapes = {}
    for file in files:
        moved = read_obj_vertices(file)
        if len(moved) != len(neutral):
            raise ParameterError(f"shape {file} has {len(moved)} vertices; the neutral {path.name} has {len(neutral)}")
        shapes[file.stem] = sparse_target(moved - neutral)
    return LoadedMesh(name=path.stem, neutral=neutral, triangles=triangles, shapes=shapes, units=units)
