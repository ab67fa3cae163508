"""Audio file → emotion windows → keyframed project: the one path the CLI and GUI share.

Torch is only touched through the emotion model object, so the core stays torch-free
and the GUI imports this module without paying for torch until a model is loaded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .core.analysis import WindowProbabilities, voiced_windows, warn_no_speech
from .core.commands import apply_analysis
from .core.document import AudioInfo, Project, QualityTrack
from .core.emotions import EMOTIONS, canonical_labels
from .core.file_digest import file_sha256
from .core.settings import AnalysisSettings, HeuristicSettings
from .core.vad import detect_voice
from .core.windowing import window_starts
from .errors import EmotrackError, ParameterError, ProjectError
from .io.audio import AudioClip, RawFormat, load_audio

if TYPE_CHECKING:
    from .core.actor_reference import ActorReference
    from .ml.emotion import EmotionModel
    from .ml.face.animate import FaceAnimator
    from .ml.quality.vqscore import QualityEstimator

Progress = Callable[[int, int], None]


class AnalysisCancelled(EmotrackError):
    """The user cancelled a running analysis; nothing was changed."""


def load_emotion_model(model_dir: str | Path | None = None, device: str = "auto") -> "EmotionModel":
    from .ml.emotion import EmotionModel  # torch loads here, not at import time

    return EmotionModel.from_pretrained(model_dir, device=device)


def load_quality_estimator(model_dir: str | Path | None = None, device: str = "auto") -> "QualityEstimator":
    from .ml.quality.vqscore import QualityEstimator

    return QualityEstimator.from_pretrained(model_dir, device=device)


def score_quality(clip: AudioClip, estimator: "QualityEstimator",
                  threshold: float | None = None) -> QualityTrack:
    """VQScore of ``clip`` per frame, the estimated PESQ and STOI (when the estimator
    has the supervised model) and the problems diagnosed in it; ``threshold`` defaults
    to the model's calibrated one."""
    from .core.audio_diagnosis import diagnose

    score = estimator.score(clip.samples)
    config = estimator.model.config
    return QualityTrack(
        frame_scores=score.frame_scores,
        hop_seconds=config.hop_length / config.sample_rate,
        vqscore=score.vqscore,
        threshold=config.flag_threshold if threshold is None else threshold,
        problems=tuple(diagnose(clip.samples, clip.sample_rate)),
        estimated_pesq=score.estimated_pesq,
        estimated_stoi=score.estimated_stoi,
    )


def output_labels(model_labels: Sequence[str]) -> tuple[str, ...]:
    """Project labels for a model: the six emotions, then the model's extra labels."""
    return EMOTIONS + tuple(label for label in model_labels if label not in EMOTIONS)


def checkpoint_labels(model_dir: str | Path | None) -> tuple[str, ...]:
    """Project labels of a checkpoint folder, read from its config.json without loading
    torch, so a project can be created with the right curves before the model loads."""
    from .resources import checkpoint_dir, emotion_model_dir

    config_path = checkpoint_dir(emotion_model_dir(model_dir)) / "config.json"
    try:
        id2label = json.loads(config_path.read_text(encoding="utf-8"))["id2label"]
        names = canonical_labels(id2label[key] for key in sorted(id2label, key=int))
    except (OSError, ValueError, KeyError, TypeError):
        return EMOTIONS  # loading the model later reports what is wrong with it
    return output_labels(names)


def _to_project_columns(probabilities: np.ndarray, model_labels: Sequence[str]) -> np.ndarray:
    """Place model columns under the project labels; emotions the model lacks stay 0."""
    labels = output_labels(model_labels)
    out = np.zeros((len(probabilities), len(labels)))
    out[:, [labels.index(name) for name in model_labels]] = probabilities
    return out


def run_analysis(
    clip: AudioClip,
    settings: AnalysisSettings,
    model: "EmotionModel",
    progress: Progress | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    actor: "ActorReference | None" = None,
) -> WindowProbabilities:
    """Emotion probabilities of every window of ``clip`` (columns: ``output_labels``),
    read relative to ``actor`` when given (the model's actor head).

    Works through the windows a batch at a time, reporting ``progress(done, total)`` and
    checking ``is_cancelled()`` between batches.
    """
    if actor is not None:
        model = model.with_actor(actor)
    starts = window_starts(len(clip.samples), settings.window, settings.hop)
    total = len(starts)
    rows: list[np.ndarray] = []
    step = settings.batch_size * 4  # a progress tick every few batches
    for first in range(0, total, step):
        if is_cancelled is not None and is_cancelled():
            raise AnalysisCancelled("analysis cancelled")
        chunk = starts[first:first + step]
        rows.append(model.predict_windows(clip.samples, chunk, settings.window, settings.batch_size))
        if progress is not None:
            progress(first + len(chunk), total)
    probabilities = np.concatenate(rows) if rows else np.zeros((0, len(model.labels)))
    return WindowProbabilities(
        starts=starts, window=settings.window, hop=settings.hop,
        probabilities=_to_project_columns(probabilities, model.labels),
        n_samples=len(clip.samples), sample_rate=clip.sample_rate,
    )


def new_project(
    clip: AudioClip,
    labels: Sequence[str] | None = None,
    analysis: AnalysisSettings | None = None,
    heuristics: HeuristicSettings | None = None,
    model_dir: str | Path | None = None,
) -> Project:
    """An empty project for ``clip`` with its voice activity detected. ``labels``
    default to those of the checkpoint in ``model_dir`` (the bundled one if None)."""
    analysis = analysis or AnalysisSettings()
    labels = labels if labels is not None else checkpoint_labels(model_dir)
    # A clip recorded in the app has no file yet: it gets one when the project is saved.
    info = AudioInfo(
        path=str(Path(clip.path).resolve()) if clip.path else "",
        sha256=file_sha256(clip.path) if clip.path else "",
        duration=clip.duration, original_rate=clip.original_rate, channels=clip.channels,
    )
    project = Project(info, labels, analysis, heuristics, model=str(model_dir) if model_dir else None)
    project.voice = detect_voice(clip.samples, clip.sample_rate, min_pause=analysis.min_pause)
    return project


def analyze_file(
    path: str | Path,
    model: "EmotionModel",
    analysis: AnalysisSettings | None = None,
    heuristics: HeuristicSettings | None = None,
    channel: int | None = None,
    raw: RawFormat | None = None,
    progress: Progress | None = None,
    model_dir: str | Path | None = None,
    quality: "QualityEstimator | None" = None,
    quality_threshold: float | None = None,
    actor: "ActorReference | None" = None,
) -> Project:
    """Load, analyse and keyframe one file: what ``emotrack analyze`` does. With a
    quality estimator, keys inferred over flagged audio are marked low-confidence; with
    an actor reference, the voice is read relative to that actor's."""
    analysis = analysis or AnalysisSettings()
    clip = load_audio(path, channel=channel, raw=raw)
    project = new_project(clip, output_labels(model.labels), analysis, heuristics, model_dir)
    project.actor = actor
    if quality is not None:
        project.quality = score_quality(clip, quality, quality_threshold)
    windows = run_analysis(clip, analysis, model, progress, actor=actor)
    apply_analysis(project, windows, analysis).redo(project)
    return project


def classify_clip(clip: AudioClip, model: "EmotionModel",
                  settings: AnalysisSettings | None = None) -> dict[str, float]:
    """Clip-level probabilities: the mean of the probabilities of the speech windows
    (of all windows, with a :class:`NoSpeechWarning`, when none holds speech)."""
    settings = settings or AnalysisSettings()
    windows = run_analysis(clip, settings, model)
    voice = detect_voice(clip.samples, clip.sample_rate, min_pause=settings.min_pause)
    if not voiced_windows(windows, voice).any():
        warn_no_speech(clip.path.name if clip.path is not None else "the clip")
    labels = output_labels(model.labels)
    return dict(zip(labels, (float(p) for p in windows.clip_vector(voice))))


def build_actor_reference(model: "EmotionModel", lines: Iterable[tuple[str, AudioClip]],
                          settings: AnalysisSettings | None = None, name: str = "",
                          progress: Progress | None = None, total: int | None = None) -> "ActorReference":
    """The actor reference of ``model`` from ``(name, clip)`` lines of one actor, read one
    at a time (a session of hundreds of lines never sits in memory at once);
    ``progress(done, total)`` after each line when ``total`` is given."""
    from .ml.emotion.actor import build_reference

    settings = settings or AnalysisSettings()
    return build_reference(model, ((line, clip.samples) for line, clip in lines), settings.window, settings.hop,
                           name=name, min_pause=settings.min_pause, total=total, progress=progress)


def load_face_animator(face_dir: str | Path | None = None, device: str = "auto") -> "FaceAnimator":
    from .ml.device import resolve_device
    from .ml.face.animate import FaceAnimator  # torch loads here

    return FaceAnimator.from_pretrained(face_dir, device=str(resolve_device(device)))


def face_weights(project: Project, animator: "FaceAnimator", features, times: np.ndarray,
                 emotion: bool = True) -> np.ndarray:
    """ARKit-52 weights of ``project``'s face at ``times`` (seconds), from the clip's
    emotion-free ``features`` (:meth:`FaceAnimator.features`) and the project's emotion
    curves, or a neutral face when ``emotion`` is False (lip sync only), then the
    project's face controls (strengths, smoothing, offsets, blinks, saccades). The export
    and the app's preview both call this, so they show the same frames."""
    from .core.face_controls import apply_face_controls
    from .ml.face.animate import lip_sync_only, project_emotions

    weights = animator.weights(features, project_emotions(project) if emotion else lip_sync_only, times)
    return apply_face_controls(weights, times, project.face_controls, project.duration)


def animate_face(project: Project, fps: int, animator: "FaceAnimator",
                 clip: AudioClip | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The face for ``project``: frame times at ``fps`` and ARKit-52 weights per frame,
    from its audio (loaded from the project's path unless ``clip`` is given) and its
    emotion curves (after the animator's heuristics and edits), through the project's
    face controls (strengths, smoothing, offsets, procedural blinks and saccades)."""
    from .core.exports import sampled_curves

    times, _ = sampled_curves(project, fps)
    clip = clip or load_audio(project.audio.path)
    return times, face_weights(project, animator, animator.features(clip.samples), times)


def write_face_export(kind: str, project: Project, weights: np.ndarray, fps: int, output: str | Path,
                      mesh=None) -> None:
    """Write face ``weights`` (ARKit-52 per frame at ``fps``) as ``kind``: "arkit-csv",
    "arkit-json", "glb", "pc2" or "mouth-cues". The glb and pc2 meshes are ``mesh`` (a
    FaceRig or a retargeted Character), the bundled face when None."""
    from .core import face_exports, face_glb, mouth_cues
    from .core.face_rig import load_face_rig

    sound = project.audio.path if project.audio is not None else ""
    if kind == "arkit-csv":
        face_exports.export_arkit_csv(weights, fps, output)
    elif kind == "arkit-json":
        face_exports.export_arkit_json(weights, fps, output, track_path=Path(sound).stem)
    elif kind == "glb":
        face_glb.export_glb(mesh if mesh is not None else load_face_rig(), weights, fps, output)
    elif kind == "pc2":
        face_exports.export_pc2(mesh if mesh is not None else load_face_rig(), weights, fps, output)
    elif kind == "mouth-cues":
        mouth_cues.export_mouth_cues(weights, fps, output, sound_file=sound)
    else:
        raise ParameterError(f"unknown face export {kind!r}")


CURVE_EXPORTS = ("csv", "json", "keyframes")


def write_export(kind: str, project: Project, output: str | Path, fps: int,
                 animator: "FaceAnimator | Callable[[], FaceAnimator] | None" = None, mesh=None,
                 device: str = "auto") -> None:
    """Write one export of ``project``: the curves ("csv", "json"), the keyframes
    ("keyframes") or a face format (see :func:`write_face_export`), what ``emotrack
    export`` and ``emotrack batch`` both call. A face export animates the project with
    ``animator`` (or the one a zero-argument loader returns, so callers that export
    many lines load it once), else with the bundled face network on ``device``."""
    from .core.exports import export_curves_csv, export_curves_json, export_keyframes_json

    if kind == "csv":
        export_curves_csv(project, output, fps)
    elif kind == "json":
        export_curves_json(project, output, fps)
    elif kind == "keyframes":
        export_keyframes_json(project, output, fps)
    else:
        if project.audio is None or not project.audio.path:
            raise ProjectError("the project has no audio file, and the face is animated from the voice: open "
                               "the recording and save the project again")
        if animator is None:
            animator = load_face_animator(device=device)
        elif callable(animator) and not hasattr(animator, "weights"):
            animator = animator()
        _, weights = animate_face(project, fps, animator)
        write_face_export(kind, project, weights, fps, output, mesh)
