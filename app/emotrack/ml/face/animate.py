"""Voice + emotion curves -> ARKit-52 weights per animation frame, with the bundled face
network on the bundled Whisper encoder.

The face network was trained on the frozen Whisper base encoder inside the accurate
emotion model (``resources/models/emotion``), so that is the encoder it listens with.
:meth:`FaceAnimator.features` is the expensive, emotion-free part (encoder + analysis
stage); :meth:`FaceAnimator.weights` re-runs only the emotion-conditioned stage, which
is what an edit of the emotion keyframes needs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from emotrack.core.emotions import EMOTIONS
from emotrack.errors import ModelError, ParameterError
from emotrack.ml.face.modeling import FaceNet, load_face_net
from emotrack.ml.whisper.encoder import FRAME_SAMPLES
from emotrack.resources import resource_path

SPAN_SECONDS = 60.0  # encoder + analysis work on spans of this length, so memory stays bounded


def default_face_model_dir() -> Path:
    return resource_path("models", "face")


class FaceAnimator:
    def __init__(self, face_net: FaceNet, encoder_model) -> None:
        """``encoder_model``: an EmotionModel whose Whisper encoder the face was trained on."""
        if encoder_model.whisper is None:
            raise ModelError("the face network needs a Whisper-based encoder model")
        self.net = face_net.eval()
        self.encoder_model = encoder_model
        self.encoder = encoder_model.whisper
        self.frame_rate = face_net.config.input_fps

    @classmethod
    def from_pretrained(cls, face_dir: str | Path | None = None, encoder: str | Path | None = "accurate",
                        device: str = "cpu") -> FaceAnimator:
        from emotrack.ml.emotion.modeling import EmotionModel

        net = load_face_net(face_dir or default_face_model_dir(), device=device)
        return cls(net, EmotionModel.from_pretrained(encoder, device=device))

    @torch.inference_mode()
    def features(self, samples: np.ndarray, progress=None) -> torch.Tensor:
        """Emotion-free per-frame features ``[frames, d]`` of a 16 kHz clip at 50 Hz.

        Spans of the clip are encoded and analysed with half a second of context on
        each side (the analysis stage's reach), then trimmed and joined;
        ``progress(done_frames, total_frames)`` is called after each span.
        """
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1 or len(samples) == 0:
            raise ParameterError("the face needs mono audio with at least one sample")
        total = -(-len(samples) // FRAME_SAMPLES)
        span, margin = int(SPAN_SECONDS * self.frame_rate), int(self.frame_rate // 2)
        pieces = []
        for first in range(0, total, span):
            last = min(total, first + span)
            lo, hi = max(0, first - margin), min(total, last + margin)
            encoding = self.encoder.encode(samples, lo * FRAME_SAMPLES, hi * FRAME_SAMPLES)
            hidden = encoding.hidden_states.float()
            offset = encoding.first_frame
            features = self.net.analysis(hidden)
            pieces.append(features[first - offset:last - offset])
            if progress is not None:
                progress(last, total)
        return torch.cat(pieces)

    @torch.inference_mode()
    def weights(self, features: torch.Tensor, emotion_at, times: np.ndarray) -> np.ndarray:
        """ARKit weights ``[len(times), 52]`` at ``times`` (seconds); ``emotion_at(t)`` gives
        the six emotions (``EMOTIONS`` order) at the network's frame times ``t``.

        Only the frames that ``times`` need (plus the articulation stage's reach) are run,
        so the weights of one animation frame cost a few network frames, and equal, to
        float rounding, what a whole-clip evaluation gives at that frame: the app's
        preview redraws an edited frame at once and still shows what the export writes.
        """
        times = np.asarray(times, dtype=np.float64)
        if times.ndim != 1:
            raise ParameterError(f"times must be one-dimensional, got shape {list(times.shape)}")
        if len(times) == 0:
            return np.zeros((0, self.net.config.n_outputs), np.float32)
        reach = self.net.config.articulation_reach + 1  # +1: interpolation between frames
        first = max(0, int(np.floor(times.min() * self.frame_rate)) - reach)
        stop = min(len(features), int(np.ceil(times.max() * self.frame_rate)) + 1 + reach)
        first = min(first, max(0, stop - 1))
        frame_times = np.arange(first, stop) / self.frame_rate
        emotions = np.asarray(emotion_at(frame_times), dtype=np.float32)
        per_frame = self.net.articulate(features[first:stop], torch.from_numpy(emotions), self.frame_rate).numpy()
        return np.stack([np.interp(times, frame_times, column) for column in per_frame.T], axis=1)


def lip_sync_only(times: np.ndarray) -> np.ndarray:
    """``emotion_at`` of a neutral face: what the voice alone does, without emotion."""
    return np.tile(np.eye(len(EMOTIONS), dtype=np.float32)[EMOTIONS.index("neutral")], (len(times), 1))


def project_emotions(project):
    """``emotion_at(times)`` from a project's curves: its six emotion columns, renormalised."""
    columns = [list(project.labels).index(name) for name in EMOTIONS]

    def emotion_at(times: np.ndarray) -> np.ndarray:
        values = project.curves_at(times)[:, columns]
        total = values.sum(axis=1, keepdims=True)
        neutral = np.eye(len(EMOTIONS))[EMOTIONS.index("neutral")]
        return np.where(total > 0, values / np.where(total > 0, total, 1), neutral)

    return emotion_at
