"""Keeps the 3D face on the playhead, and re-poses it the moment the animator edits.

Three costs, three places:

- Listening to the clip (Whisper encoder + the face network's analysis stage) takes
  seconds on a long clip: :class:`FaceFeaturesWorker` does it once per clip in a thread,
  with progress. In the app the encoder is the emotion analysis's own model, whose chunk
  memo already holds the clip's encoding, so a line is encoded once.
- The whole clip's ARKit weights at the project's frame rate (the emotion-conditioned
  stage + face controls) are re-made in :class:`FaceTrackWorker` after every edit, on a
  snapshot of the project, and the newest result wins.
- Until then the frame under the playhead is computed on the spot from a second of
  network frames around it (a few milliseconds), so an edit shows at once.

Both paths call :func:`emotrack.pipeline.face_weights`, the function the exports call,
so the preview shows the frames that ``emotrack export`` writes. No business logic here:
what a frame looks like is decided in core/ml; this module decides when to compute it.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Signal

from .face_view import FaceView, focus_points, mesh_colors, preview_triangles
from .worker import CancellableWorker, cached_model, model_lock

LOCAL_SECONDS = 0.5  # network frames read on each side of an edited frame
TRACK_DELAY_MS = 400  # the whole track is re-made once edits pause this long (not mid-drag:
# on 2 cores it would compete with the drag's own redraws; until then frames are computed on the spot)


def bundled_face_animator():
    """The bundled face network on the accurate emotion model's encoder (shared with the
    analysis when it uses that model)."""
    with model_lock:  # the analysis worker may be importing transformers right now
        from emotrack.ml.face.animate import FaceAnimator, default_face_model_dir
        from emotrack.ml.face.modeling import load_face_net

        encoder_model = cached_model("accurate")
        return FaceAnimator(load_face_net(default_face_model_dir(), device=str(encoder_model.device)), encoder_model)


class FaceFeaturesWorker(CancellableWorker):
    """Loads the face network (once per loader) and listens to one clip."""

    progress = Signal(int, int)
    succeeded = Signal(object, object)  # animator, features
    failed = Signal(str)

    def __init__(self, samples: np.ndarray, loader: Callable[[], object], parent=None) -> None:
        super().__init__(parent)
        self.samples, self.loader = samples, loader

    def run(self) -> None:  # worker thread
        from emotrack.errors import EmotrackError

        try:
            animator = self.loader()
            features = animator.features(self.samples, progress=lambda done, total: self.progress.emit(done, total))
        except EmotrackError as error:
            self.failed.emit(f"The face preview is unavailable: {error}")
        except Exception as error:  # noqa: BLE001 - a crash in the worker must reach the user
            self.failed.emit(f"The face preview failed: {type(error).__name__}: {error}")
        else:
            if not self.is_cancelled:
                self.succeeded.emit(animator, features)


class FaceTrackWorker(QThread):
    """The whole clip's face weights for one snapshot of the project."""

    done = Signal(int, object)  # generation, weights [frames, 52]
    failed = Signal(str)

    def __init__(self, generation: int, snapshot, animator, features, times: np.ndarray,
                 emotion: bool, parent=None) -> None:
        super().__init__(parent)
        self.generation, self.snapshot, self.animator = generation, snapshot, animator
        self.features, self.times, self.emotion = features, times, emotion

    def run(self) -> None:  # worker thread
        from emotrack.pipeline import face_weights

        try:
            weights = face_weights(self.snapshot, self.animator, self.features, self.times, self.emotion)
        except Exception as error:  # noqa: BLE001 - reported, the preview keeps its last frames
            self.failed.emit(f"The face could not be updated: {type(error).__name__}: {error}")
        else:
            self.done.emit(self.generation, weights)


class FacePreview(QObject):
    """Drives a :class:`FaceView` from the open project, its clip and the playhead."""

    status = Signal(str)  # one line for the status bar
    progress = Signal(int, int)  # listening to the clip: done, total (frames)

    def __init__(self, view: FaceView, loader: Callable[[], object] = bundled_face_animator,
                 parent=None) -> None:
        super().__init__(parent)
        self.view, self.loader = view, loader
        self.mesh = None  # what is posed: the ICT rig by default, or a loaded character
        self.project = None
        self.animator = None
        self.features = None
        self.track: np.ndarray | None = None  # [frames, 52] at the project's fps, or None when stale
        self.time = 0.0
        self.time_shown = 0.0  # the time of the frame posed last (the playhead, to the frame)
        self._shown = None  # (frame, generation, from the track, mesh) of the pose on screen
        self.emotion = True  # False: lip sync only, to see what the emotion adds
        self.generation = 0  # bumped by every edit; older track results are dropped
        self.last_weights = np.zeros(52, np.float32)
        self.last_latency_ms = 0.0  # edit -> face re-posed, for the preview benchmark
        self.features_worker: FaceFeaturesWorker | None = None
        self.track_worker: FaceTrackWorker | None = None
        self._stale_workers: list[QThread] = []
        self._track_timer = QTimer(self)
        self._track_timer.setSingleShot(True)
        self._track_timer.setInterval(TRACK_DELAY_MS)
        self._track_timer.timeout.connect(self._start_track)

    # ------------------------------------------------------------------ inputs
    def set_mesh(self, mesh) -> None:
        """Pose ``mesh`` from now on: anything with ``neutral``, ``triangles`` and
        ``evaluate(weights [F, 52]) -> [F, V, 3]`` (a FaceRig or a Character)."""
        self.mesh = mesh
        self.view.set_mesh(mesh.neutral, preview_triangles(mesh), mesh_colors(mesh), focus_points(mesh))
        self._pose(self.last_weights)

    def set_document(self, project, clip) -> None:
        self._retire_workers()
        if self.project is not None:
            self._connect(self.project, False)
        self.project, self.animator, self.features, self.track = project, None, None, None
        self.generation += 1
        self.time = 0.0
        self.last_weights = np.zeros(52, np.float32)
        if self.mesh is not None:
            self._pose(self.last_weights)
        if project is None or clip is None:
            return
        self._connect(project, True)
        worker = FaceFeaturesWorker(clip.samples, self.loader, self)
        worker.progress.connect(self.progress)
        worker.succeeded.connect(self._on_features)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_worker_finished)
        self.features_worker = worker
        self.status.emit("Face: listening to the clip…")
        worker.start()

    def set_time(self, seconds: float) -> None:
        self.time = max(0.0, float(seconds))
        self.render()

    def set_emotion(self, on: bool) -> None:
        if on != self.emotion:
            self.emotion = on
            self.edited()

    @property
    def ready(self) -> bool:
        return self.features is not None

    # ------------------------------------------------------------------ work
    def edited(self, *_) -> None:
        """Something that shapes the face changed: re-pose now, re-make the track soon."""
        self.generation += 1
        self.track = None
        if not self.ready:
            return
        started = time.perf_counter()
        self.render()
        self.last_latency_ms = (time.perf_counter() - started) * 1e3
        self._track_timer.start()

    def render(self) -> None:
        """Pose the face for the frame under the playhead."""
        if not self.ready or self.mesh is None:
            return
        frame = self._frame_index(self.time)
        shown = (frame, self.generation, self.track is not None, id(self.mesh))
        if shown == self._shown:
            return  # the playhead moved within the frame on screen (timer ticks outpace the fps)
        self._pose(self._weights_of_frame(frame))
        self._shown = shown
        self.time_shown = frame / self.project.fps

    def frame_weights(self, seconds: float) -> np.ndarray:
        """The 52 weights the preview shows at ``seconds`` (the track's, or computed)."""
        return self._weights_of_frame(self._frame_index(seconds))

    def _weights_of_frame(self, frame: int) -> np.ndarray:
        if self.track is not None:
            return self.track[min(frame, len(self.track) - 1)]
        return self._local_weights(frame)

    def _frame_index(self, seconds: float) -> int:
        return max(0, int(round(seconds * self.project.fps)))

    def _frame_times(self) -> np.ndarray:
        from emotrack.core.exports import project_frame_times

        return project_frame_times(self.project, self.project.fps)

    def _local_weights(self, frame: int) -> np.ndarray:
        from emotrack.pipeline import face_weights

        fps = self.project.fps
        reach = int(np.ceil(LOCAL_SECONDS * fps))
        last = len(self._frame_times()) - 1
        frame = min(frame, last)
        first, stop = max(0, frame - reach), min(last, frame + reach) + 1
        times = np.arange(first, stop) / fps
        return face_weights(self.project, self.animator, self.features, times, self.emotion)[frame - first]

    def _pose(self, weights: np.ndarray) -> None:
        self._shown = None
        self.last_weights = np.asarray(weights, np.float32)
        if self.mesh is not None:
            self.view.show_pose(self.mesh.evaluate(self.last_weights[None])[0])

    def _start_track(self) -> None:
        if not self.ready:
            return
        if self.track_worker is not None:
            self._track_timer.start()  # one at a time: try again when this one is done
            return
        worker = FaceTrackWorker(self.generation, copy.copy(self.project), self.animator, self.features,
                                 self._frame_times(), self.emotion, self)
        worker.done.connect(self._on_track)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_worker_finished)
        self.track_worker = worker
        worker.start()

    # ------------------------------------------------------------------ results
    def _on_features(self, animator, features) -> None:
        if self.sender() is not self.features_worker or self.project is None:
            return  # a clip that has been closed since
        self.animator, self.features = animator, features
        self.status.emit("Face ready")
        self.edited()

    def _on_track(self, generation: int, weights: np.ndarray) -> None:
        if generation == self.generation:
            self.track = weights
            self.render()

    def _on_worker_finished(self) -> None:
        worker = self.sender()
        if worker is self.track_worker:
            self.track_worker = None
        if worker is self.features_worker:
            self.features_worker = None
        if worker in self._stale_workers:
            self._stale_workers.remove(worker)
        worker.deleteLater()

    def _on_failed(self, message: str) -> None:
        self.status.emit(message)

    # ------------------------------------------------------------------ plumbing
    def _connect(self, project, on: bool) -> None:
        events = project.events
        # What the face reads: the curves (heuristic changes arrive as re-blended keys),
        # the face controls and the frame rate.
        signals = [events.keyframes, events.fps, events.face_controls]
        for signal in signals:
            (signal.connect if on else signal.disconnect)(self.edited)

    def _retire_workers(self) -> None:
        """Let running workers finish on their own; their results are ignored."""
        self._track_timer.stop()
        for worker in (self.features_worker, self.track_worker):
            if worker is not None:
                if isinstance(worker, CancellableWorker):
                    worker.cancel()
                self._stale_workers.append(worker)
        self.features_worker = self.track_worker = None

    def shutdown(self) -> None:
        """Wait for every worker (the window is closing)."""
        self._retire_workers()
        for worker in list(self._stale_workers):
            worker.wait()
