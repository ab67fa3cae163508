"""The 3D face preview: a shaded, deforming mesh in an orbitable OpenGL view.

The view knows nothing of audio, emotions or networks: it is given a mesh once
(:meth:`FaceView.set_mesh`) and vertex positions per frame (:meth:`FaceView.show_pose`).
Positions go straight into the GPU buffers of one mesh item; normals are computed with
:class:`~emotrack.core.mesh_normals.VertexNormals` (pyqtgraph's ``MeshData`` recomputes
them in a Python loop over vertices, 100x too slow for a 26k-vertex face at 60 fps).

Mouse: left-drag orbits, right-drag or wheel zooms, middle-drag (or Ctrl + left) pans,
as in pyqtgraph's ``GLViewWidget``. The rig is Y-up and faces +Z; the item is turned so
that it stands upright in pyqtgraph's Z-up world.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph.opengl as gl
from OpenGL import GL
from pyqtgraph.opengl import shaders
from pyqtgraph.opengl.items.GLMeshItem import DirtyFlag
import shiboken6
from PySide6.QtGui import QColor, QImage, QOpenGLContext, QVector3D
from PySide6.QtOpenGL import QOpenGLBuffer

from emotrack.core.mesh_normals import VertexNormals

# Camera presets: (azimuth, elevation) in degrees about the face's centre. The face looks
# down pyqtgraph's -Y after the item's turn, so azimuth -90 is straight in front.
CAMERA_PRESETS = {"front": (-90.0, 4.0), "three-quarter": (-55.0, 10.0), "profile": (0.0, 4.0)}
BACKGROUND = QColor(46, 48, 54)
FIELD_OF_VIEW = 30.0  # degrees: a portrait lens, little perspective distortion

# Three-point lighting in eye space (the camera looks down -Z): a warm key from the upper
# left, a cool fill from the right, a rim from behind and above, a little Blinn-Phong
# sheen, and enough ambient light that the inside of the mouth is never black.
_VERTEX_SHADER = """
        uniform mat4 u_mvp;
        uniform mat3 u_normal;
        attribute vec4 a_position;
        attribute vec3 a_normal;
        attribute vec4 a_color;
        varying vec4 v_color;
        varying vec3 v_normal;
        void main() {
            v_normal = normalize(u_normal * a_normal);
            v_color = a_color;
            gl_Position = u_mvp * a_position;
        }
    """
_FRAGMENT_SHADER = """
        #ifdef GL_ES
        precision mediump float;
        #endif
        varying vec4 v_color;
        varying vec3 v_normal;
        void main() {
            vec3 n = normalize(v_normal);
            vec3 key = normalize(vec3(-0.5, 0.6, 0.8));
            vec3 fill = normalize(vec3(0.7, 0.1, 0.6));
            vec3 rim = normalize(vec3(0.0, 0.5, -0.9));
            float diffuse = 0.75 * max(dot(n, key), 0.0) + 0.3 * max(dot(n, fill), 0.0)
                          + 0.25 * max(dot(n, rim), 0.0);
            vec3 half_vector = normalize(key + vec3(0.0, 0.0, 1.0));
            float sheen = 0.18 * pow(max(dot(n, half_vector), 0.0), 24.0);
            vec3 warm = vec3(1.0, 0.96, 0.9);
            vec3 rgb = v_color.rgb * (0.28 + diffuse) * warm + vec3(sheen);
            gl_FragColor = vec4(min(rgb, vec3(1.0)), v_color.a);
        }
    """


def face_shader() -> shaders.ShaderProgram:
    """A fresh program: GL programs belong to one context (every window's view has its
    own, and a floated dock gets a new one), while pyqtgraph caches one per name."""
    return shaders.ShaderProgram(None, [shaders.VertexShader(_VERTEX_SHADER), shaders.FragmentShader(_FRAGMENT_SHADER)])


# Colours of the ICT rig's parts (linear-ish RGB, before lighting).
PART_COLORS = {
    "face": (0.86, 0.66, 0.55), "head_neck": (0.84, 0.64, 0.53),
    "mouth_socket": (0.45, 0.16, 0.17), "eye_socket_L": (0.62, 0.40, 0.36), "eye_socket_R": (0.62, 0.40, 0.36),
    "gums_tongue": (0.78, 0.36, 0.40), "teeth": (0.93, 0.91, 0.84),
    "eyeball_L": (0.95, 0.94, 0.92), "eyeball_R": (0.95, 0.94, 0.92), "eyelashes": (0.30, 0.22, 0.19),
}
IRIS, PUPIL = (0.30, 0.42, 0.52), (0.04, 0.04, 0.05)
SKIN = PART_COLORS["face"]


def rig_colors(rig) -> np.ndarray:
    """``[V, 4]`` per-vertex colours of a :class:`~emotrack.core.face_rig.FaceRig`: skin,
    mouth, teeth, tongue, and eyes with an iris and pupil around each eyeball's +Z axis."""
    colors = np.tile(np.array([*SKIN, 1.0], np.float32), (rig.vertex_count, 1))
    for name, (start, stop) in zip(rig.part_names, rig.part_ranges):
        colors[start:stop, :3] = PART_COLORS.get(name, SKIN)
    if rig.eye_centres is not None:
        for eye, part in enumerate(("eyeball_L", "eyeball_R")):
            if part not in rig.part_names:
                continue
            start, stop = rig.part_range(part)
            offsets = rig.neutral[start:stop] - rig.eye_centres[eye]
            facing = offsets[:, 2] / np.maximum(np.linalg.norm(offsets, axis=1), 1e-9)  # cos from gaze
            colors[start:stop, :3][facing > 0.92] = IRIS
            colors[start:stop, :3][facing > 0.975] = PUPIL
    return colors


def preview_triangles(mesh) -> np.ndarray:
    """The triangles to draw: the ICT eyelashes are shells made for an alpha texture and
    look like heavy eyeliner when opaque, so the preview leaves them out."""
    if "eyelashes" not in getattr(mesh, "part_names", ()):
        return mesh.triangles
    start, stop = mesh.part_range("eyelashes")
    return mesh.triangles[~((mesh.triangles >= start) & (mesh.triangles < stop)).any(axis=1)]


def focus_points(mesh) -> np.ndarray:
    """What the camera frames: a portrait box around a rig's eyes (brows to chin, in
    interocular distances, as a portrait photographer frames), or a whole character."""
    centres = getattr(mesh, "eye_centres", None)
    if centres is None or not getattr(mesh, "part_names", ()):
        return mesh.neutral
    centres = np.asarray(centres, np.float32)
    between, spacing = centres.mean(axis=0), float(np.linalg.norm(centres[0] - centres[1]))
    low = between + spacing * np.array([-1.2, -2.0, -0.5], np.float32)
    high = between + spacing * np.array([1.2, 0.8, 0.5], np.float32)
    return np.array([low, high])


def mesh_colors(mesh) -> np.ndarray:
    """Per-vertex colours of anything posable: the rig's part colours, a character's own
    material colours, or plain skin."""
    if getattr(mesh, "part_names", None):
        return rig_colors(mesh)
    given = getattr(mesh, "vertex_colors", None)
    if given is not None:
        return np.asarray(given, np.float32)
    return np.tile(np.array([*SKIN, 1.0], np.float32), (len(mesh.neutral), 1))


# Opaque, and back faces culled: a closed head hides half its triangles, which halves
# the rasteriser's work under software GL (Mesa llvmpipe on a machine without a GPU).
_GL_OPTIONS = {GL.GL_DEPTH_TEST: True, GL.GL_BLEND: False, GL.GL_CULL_FACE: True}


class DeformingMeshItem(gl.GLMeshItem):
    """A ``GLMeshItem`` whose topology and colours are set once and whose positions and
    normals are replaced per frame, uploaded into the existing vertex buffers."""

    def __init__(self, triangles: np.ndarray, colors: np.ndarray, positions: np.ndarray) -> None:
        super().__init__(smooth=True, computeNormals=False, glOptions=_GL_OPTIONS)
        self._normals = VertexNormals(triangles, len(positions))
        self._pending = DirtyFlag(0)
        self._context_address = None  # the GL context our program and buffers live in
        self.faces = np.ascontiguousarray(triangles, dtype=np.uint32)
        self.colors = np.ascontiguousarray(colors, dtype=np.float32)
        self._pending |= DirtyFlag.FACES | DirtyFlag.COLOR
        self.set_positions(positions)

    def meshDataChanged(self) -> None:  # noqa: N802 - pyqtgraph's name
        # The base class would drop our arrays here (it owns them only for MeshData).
        self.update()

    def set_positions(self, positions: np.ndarray) -> None:
        self.vertexes = np.ascontiguousarray(positions, dtype=np.float32)
        self.normals = self._normals(self.vertexes)
        self._pending |= DirtyFlag.POSITION | DirtyFlag.NORMAL
        self.update()

    def paint(self) -> None:
        address = shiboken6.getCppPointer(QOpenGLContext.currentContext())[0]
        if address != self._context_address:  # first paint, or the view got a new context
            self._context_address = address
            self.setShader(face_shader())
            buffer = QOpenGLBuffer.Type
            self.m_vbo_position, self.m_vbo_normal, self.m_vbo_color = (
                QOpenGLBuffer(buffer.VertexBuffer) for _ in range(3))
            self.m_ibo_faces = QOpenGLBuffer(buffer.IndexBuffer)
            self._pending |= DirtyFlag.POSITION | DirtyFlag.NORMAL | DirtyFlag.COLOR | DirtyFlag.FACES
        super().paint()

    def parseMeshData(self) -> DirtyFlag:  # noqa: N802 - pyqtgraph's name
        pending, self._pending = self._pending, DirtyFlag(0)
        return pending


class FaceView(gl.GLViewWidget):
    """Shows one mesh, posed frame by frame, with camera presets."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackgroundColor(BACKGROUND)
        self.setMinimumSize(240, 240)
        self.mesh_item: DeformingMeshItem | None = None
        self._centre = np.zeros(3, np.float32)
        self._extent = np.ones(3, np.float32)
        self._preset: str | None = None  # the preset in use, None once the user moves the camera
        self.frames_shown = 0  # counts show_pose() calls; the preview benchmark reads it

    def set_mesh(self, neutral: np.ndarray, triangles: np.ndarray, colors: np.ndarray,
                 focus: np.ndarray | None = None, preset: str = "front") -> None:
        """Replace the mesh (rig units, Y up, facing +Z) and frame the camera on ``focus``
        (the points to keep in view, default: the whole mesh)."""
        if self.mesh_item is not None:
            self.removeItem(self.mesh_item)
        neutral = np.asarray(neutral, np.float32)
        self.mesh_item = DeformingMeshItem(triangles, colors, neutral)
        self.mesh_item.rotate(90, 1, 0, 0)  # rig Y-up -> pyqtgraph Z-up; rig +Z -> -Y
        self.addItem(self.mesh_item)
        focus = neutral if focus is None or len(focus) == 0 else np.asarray(focus, np.float32)
        low, high = focus.min(axis=0), focus.max(axis=0)
        centre = (low + high) / 2
        self._centre = np.array([centre[0], -centre[2], centre[1]], np.float32)  # after the turn
        self._extent = np.maximum(high - low, 1e-6)  # rig axes: width, height, depth
        self.set_camera(preset)

    def set_camera(self, preset: str) -> None:
        """Look from ``preset`` at the focus, far enough that it just fills the view."""
        azimuth, elevation = CAMERA_PRESETS[preset]
        half_fov = np.radians(FIELD_OF_VIEW / 2)  # pyqtgraph's fov is the horizontal one
        aspect = max(self.height(), 1) / max(self.width(), 1)
        width, height, depth = self._extent
        across = max(width, depth) if preset != "front" else width
        distance = max(across / 2 / np.tan(half_fov), height / 2 / (np.tan(half_fov) * aspect)) / 0.95
        self.opts["fov"] = FIELD_OF_VIEW
        self.setCameraPosition(pos=QVector3D(*map(float, self._centre)), distance=float(distance + depth / 2),
                               azimuth=azimuth, elevation=elevation)
        self._preset = preset

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if self._preset is not None:
            self.set_camera(self._preset)  # keep the preset framed until the user moves the camera

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._preset = None  # the user takes the camera
        super().mousePressEvent(event)

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._preset = None
        super().wheelEvent(event)

    def show_pose(self, positions: np.ndarray) -> None:
        if self.mesh_item is None:
            return
        self.mesh_item.set_positions(positions)
        self.frames_shown += 1

    def render_image(self) -> QImage:
        """The view as drawn now (renders first if a frame is pending)."""
        return self.grabFramebuffer()
