"""The emotion classifier: any transformers audio-classification checkpoint directory.

A checkpoint directory holds ``config.json`` (with ``id2label``), the weights
(``model.safetensors`` or ``pytorch_model.bin``) and optionally
``preprocessor_config.json``. Two families load the same way:

- raw-waveform classifiers (wav2vec2, HuBERT, WavLM): every analysis window goes
  through the whole network on its own;
- Whisper classifiers (``WhisperForAudioClassification``, model_type "whisper"): the
  clip is encoded once and each window pools its frames (``whisper_pooling``).

Columns of every probability array follow :attr:`EmotionModel.labels`: the app's six
emotions that the checkpoint knows, in ``EMOTIONS`` order, then any extra labels.
A config may carry ``emotrack_temperature``, the softmax temperature fitted on
validation speakers so that the probabilities are calibrated (1.0 when absent).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from emotrack.core.actor_reference import ActorReference
from emotrack.core.analysis import WindowProbabilities
from emotrack.core.emotions import EMOTIONS, canonical_labels
from emotrack.core.vad import detect_voice
from emotrack.core.voice_groups import VoiceSpace, voice_space_folder
from emotrack.core.windowing import window_starts
from emotrack.errors import ModelError, ParameterError, first_line
from emotrack.ml.device import autocast, resolve_device
from emotrack.ml.emotion.actor import load_actor_head, reference_vector
from emotrack.ml.emotion.window_mean_head import PLAIN_FOLDER, WindowMeanHead, load_window_mean_head
from emotrack.ml.emotion.whisper_pooling import WhisperWindowScorer
from emotrack.resources import checkpoint_dir, emotion_model_dir

# The app's analysis window: 0.9 s at 16 kHz, hop 0.45 s (windows overlap 2x).
DEFAULT_WINDOW = 14400
DEFAULT_HOP = 7200

_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)

ProgressCallback = Callable[[int, int], None]


def ordered_labels(raw_labels: Sequence[str]) -> tuple[list[str], list[int]]:
    """Canonical names in app order, and the checkpoint column behind each.

    The six emotions come first in ``EMOTIONS`` order, then extra labels in checkpoint
    order. Raises ValueError when two labels mean the same emotion.
    """
    names = canonical_labels(raw_labels)
    order = [names.index(e) for e in EMOTIONS if e in names]
    order += [i for i, name in enumerate(names) if name not in EMOTIONS]
    return [names[i] for i in order], order


def normalise_windows(batch: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance per window, as Wav2Vec2FeatureExtractor's ``do_normalize``."""
    mean = batch.mean(dim=-1, keepdim=True)
    var = batch.var(dim=-1, keepdim=True, unbiased=False)
    return (batch - mean) / torch.sqrt(var + 1e-7)


def cut_windows(samples: np.ndarray, starts: Sequence[int], window: int) -> np.ndarray:
    """Windows ``[len(starts), window]`` of ``samples``; a window running past either end
    is zero-padded (one may begin before the first sample)."""
    batch = np.zeros((len(starts), window), dtype=np.float32)
    for row, start in enumerate(starts):
        offset = max(0, -start)
        piece = samples[start + offset:max(0, start + window)]
        batch[row, offset:offset + len(piece)] = piece
    return batch


class EmotionModel:
    """Window-level emotion probabilities from a local audio-classification checkpoint."""

    def __init__(self, model: torch.nn.Module, sample_rate: int = 16000, normalize: bool = True,
                 device: torch.device | None = None, mel_filters: np.ndarray | None = None) -> None:
        """Wrap a loaded classifier whose ``config.id2label`` names its outputs.
        A Whisper classifier also needs its feature extractor's ``mel_filters``."""
        config = model.config
        labels, column_order = ordered_labels([config.id2label[i] for i in range(config.num_labels)])
        self.model = model
        self.labels = labels
        self.sample_rate = sample_rate
        self.normalize = normalize
        self.device = device if device is not None else next(model.parameters()).device
        # The checkpoint head's own temperature; a plain head brings its own (``temperature``).
        self.checkpoint_temperature = float(getattr(config, "emotrack_temperature", 1.0) or 1.0)
        if self.checkpoint_temperature <= 0:
            raise ValueError(f"emotrack_temperature must be positive, got {self.checkpoint_temperature}")
        self.temperature = self.checkpoint_temperature
        self.whisper: WhisperWindowScorer | None = None
        # A Whisper model folder's ``plain/`` head replaces the checkpoint's own head when
        # it has one (``window_mean_head.py``); ``temperature`` is then that head's.
        self.plain_head: WindowMeanHead | None = None
        # The actor-referenced head (``actor.py``) and the reference it reads windows
        # against; windows go through it only while a reference is set (:meth:`use_actor`).
        self.actor_head: WindowMeanHead | None = None
        self.actor_temperature = 1.0  # the actor head's own, fitted like ``temperature``
        self.actor: ActorReference | None = None
        self._actor_mean: torch.Tensor | None = None
        # Beside the actor head: where lines of one voice land together, so a batch of
        # lines can be grouped by voice and each group read against itself (voice_groups.py).
        self.voice_space: VoiceSpace | None = None
        if config.model_type == "whisper":
            if mel_filters is None:
                raise ValueError("a Whisper classifier needs its feature extractor's mel filters")
            self.whisper = WhisperWindowScorer(model, mel_filters)
        # Index into the checkpoint's logits that puts them in ``labels`` order.
        self.column_order = torch.tensor(column_order, dtype=torch.long, device=self.device)

    @classmethod
    def from_pretrained(cls, directory: str | Path | None = None,
                        device: str | torch.device | None = "auto") -> EmotionModel:
        """Load ``directory`` onto ``device``; never downloads. ``directory`` may name a
        bundled model ("accurate", "fast"); None is the default one."""
        from transformers import AutoFeatureExtractor, AutoModelForAudioClassification
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # callers report their own progress

        heads = emotion_model_dir(directory)
        if not heads.is_dir():
            raise ModelError(f"emotion model folder not found: {heads}")
        # A heads folder (the bundled fast model) reads the checkpoint of the folder it lies in.
        path = checkpoint_dir(heads)
        if not (path / "config.json").is_file():
            raise ModelError(f"emotion model folder has no config.json: {path}")
        if not any((path / name).is_file() for name in _WEIGHT_FILES):
            raise ModelError(
                f"emotion model folder has no weights (model.safetensors or pytorch_model.bin): {path}"
            )
        torch_device = resolve_device(device)
        try:
            # float32 whatever the file holds: bundled weights are stored as fp16.
            model = AutoModelForAudioClassification.from_pretrained(
                path, local_files_only=True, dtype=torch.float32)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            message = first_line(exc, None) or type(exc).__name__
            raise ModelError(f"cannot load emotion model from {path}: {message}") from exc

        sample_rate, normalize, mel_filters = 16000, True, None
        if (path / "preprocessor_config.json").is_file():
            try:
                extractor = AutoFeatureExtractor.from_pretrained(path, local_files_only=True)
            except (OSError, ValueError, KeyError) as exc:
                raise ModelError(f"unreadable preprocessor_config.json in {path}: {exc}") from exc
            sample_rate = int(getattr(extractor, "sampling_rate", sample_rate))
            normalize = bool(getattr(extractor, "do_normalize", normalize))
            mel_filters = getattr(extractor, "mel_filters", None)
        if model.config.model_type == "whisper" and mel_filters is None:
            from transformers import WhisperFeatureExtractor

            mel_filters = WhisperFeatureExtractor(feature_size=model.config.num_mel_bins).mel_filters

        model.to(torch_device).eval()
        try:
            loaded = cls(model, sample_rate, normalize, torch_device, mel_filters)
        except ValueError as exc:
            raise ModelError(f"emotion model in {path}: {exc}") from exc
        if loaded.whisper is not None:
            loaded._read_heads(heads)
        return loaded

    def with_heads(self, heads: str | Path) -> EmotionModel:
        """A view of this Whisper model that reads through the heads of ``heads``, a heads
        folder of its checkpoint (the bundled fast model's). It shares the encoder's weights
        and chunk memo: the app's face preview then extends the states that a fast analysis
        left, instead of encoding the clip again with a second copy of the encoder."""
        if self.whisper is None:
            raise ModelError("only a Whisper emotion model reads through a heads folder")
        view = copy.copy(self)
        view.use_actor(None)
        view._read_heads(Path(heads))
        return view

    def _read_heads(self, heads: Path) -> None:
        """Take the plain head, the actor head and the voice space in folder ``heads``."""
        self.plain_head = load_window_mean_head(heads / PLAIN_FOLDER, self.device, "plain emotion head")
        self.temperature = (self.plain_head.config.temperature if self.plain_head is not None
                            else self.checkpoint_temperature)
        self.actor_head = load_actor_head(heads, self.device)
        self.actor_temperature = self.actor_head.config.temperature if self.actor_head is not None else 1.0
        self.voice_space = VoiceSpace.load(voice_space_folder(heads)) if self.actor_head is not None else None

    def encoder_layers(self) -> int:
        """How many encoder layers an analysis runs: the deepest that any of the model's
        heads reads (the plain head, the actor head, the voice space). Whisper base's
        heads read layers 1–4 of 6, so analyses skip the last two; the face, which reads
        all of them, runs only those two more on the chunks an analysis left in the memo."""
        deepest = (max(self.plain_head.config.layers) if self.plain_head is not None
                   else self.whisper.layers_read())
        if self.actor_head is not None:
            deepest = max(deepest, *self.actor_head.config.layers)
        if self.voice_space is not None:
            deepest = max(deepest, *self.voice_space.layers)
        return deepest

    def with_actor(self, reference: ActorReference | None) -> EmotionModel:
        """A view of this model that reads windows relative to ``reference``; it shares
        every weight (and the encoder's chunk memo), so threads sharing one loaded model
        can each read against their own actor."""
        view = copy.copy(self)
        view.use_actor(reference)
        return view

    def use_actor(self, reference: ActorReference | None) -> None:
        """Read windows relative to ``reference`` (None: back to the plain head)."""
        if reference is None:
            self.actor, self._actor_mean = None, None
            return
        if self.actor_head is None:
            raise ParameterError("this emotion model has no actor head, so it cannot use an actor reference "
                                 "(both bundled models have one)")
        self._actor_mean = reference_vector(self, reference)
        self.actor = reference

    @torch.inference_mode()
    def predict(self, windows: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Probabilities ``[n, len(labels)]`` for equal-length windows ``[n, W]``."""
        windows = np.asarray(windows, dtype=np.float32)
        if windows.ndim != 2:
            raise ParameterError(f"windows must be a 2-D array [n, samples], got shape {windows.shape}")
        if batch_size < 1:
            raise ParameterError(f"batch_size must be at least 1, got {batch_size}")
        out = np.empty((len(windows), len(self.labels)), dtype=np.float32)
        for begin in range(0, len(windows), batch_size):
            out[begin:begin + batch_size] = self._forward(windows[begin:begin + batch_size])
        return out

    @torch.inference_mode()
    def predict_windows(self, samples: np.ndarray, starts: Sequence[int], window: int,
                        batch_size: int = 32,
                        progress: ProgressCallback | None = None) -> np.ndarray:
        """Probabilities for the windows of ``samples`` starting at ``starts``.

        Windows are cut one batch at a time, so an hour-long file never has all its
        (overlapping) windows in memory; a window running past either end is zero-padded.
        """
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1:
            raise ParameterError(f"samples must be mono (1-D), got shape {samples.shape}")
        if window < 1:
            raise ParameterError(f"window must be at least 1 sample, got {window}")
        if batch_size < 1:
            raise ParameterError(f"batch_size must be at least 1, got {batch_size}")
        total = len(starts)
        out = np.empty((total, len(self.labels)), dtype=np.float32)
        if self.whisper is not None:
            # One encoding per group of nearby windows (see WhisperWindowScorer.window_groups).
            for begin, end in self.whisper.window_groups(starts, window):
                encoding = self.whisper.encode_windows(samples, starts[begin:end], window, self.encoder_layers())
                if self.actor is None:
                    logits = self.plain_logits_from_encoding(encoding, starts[begin:end], window)
                    out[begin:end] = self._probabilities(logits)
                else:
                    logits = self.whisper.head_logits_from_encoding(encoding, starts[begin:end], window,
                                                                    self.actor_head, self._actor_mean)
                    out[begin:end] = self._probabilities(logits, self.actor_temperature)
                if progress is not None:
                    progress(end, total)
            return out
        for begin in range(0, total, batch_size):
            batch_starts = starts[begin:begin + batch_size]
            out[begin:begin + len(batch_starts)] = self._forward(cut_windows(samples, batch_starts, window))
            if progress is not None:
                progress(begin + len(batch_starts), total)
        return out

    def plain_logits_from_encoding(self, encoding, starts: Sequence[int], window: int) -> torch.Tensor:
        """Logits (checkpoint order) of a Whisper model's plain head for the windows at
        ``starts`` of an encoding: the ``plain/`` head when the folder has one, else the
        checkpoint's own."""
        if self.plain_head is not None:
            return self.whisper.head_logits_from_encoding(encoding, starts, window, self.plain_head)
        return self.whisper.logits_from_encoding(encoding, starts, window)

    def plain_window_logits(self, samples: np.ndarray, starts: Sequence[int], window: int) -> torch.Tensor:
        """:meth:`plain_logits_from_encoding` of the windows of ``samples`` at ``starts``."""
        encoding = self.whisper.encode_windows(samples, starts, window, self.encoder_layers())
        return self.plain_logits_from_encoding(encoding, starts, window)

    def classify(self, samples: np.ndarray, window: int = DEFAULT_WINDOW, hop: int = DEFAULT_HOP,
                 batch_size: int = 32, progress: ProgressCallback | None = None) -> np.ndarray:
        """Clip-level probabilities (``labels`` order): the mean over the windows that
        hold speech, as the app combines them (``WindowProbabilities.clip_vector``)."""
        starts = window_starts(len(samples), window, hop)
        if len(starts) == 0:
            raise ParameterError("there is no audio to classify (zero samples)")
        windows = WindowProbabilities(
            starts=starts, window=window, hop=hop, n_samples=len(samples),
            probabilities=self.predict_windows(samples, starts, window, batch_size, progress),
            sample_rate=self.sample_rate)
        return windows.clip_vector(detect_voice(samples, self.sample_rate))

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        if self.whisper is not None:
            # Each window encoded alone, as a separate recording.
            if self.actor is not None:
                rows = [self.whisper.head_logits(row, [0], len(row), self.actor_head, self._actor_mean)
                        for row in batch]
                return self._probabilities(torch.cat(rows), self.actor_temperature)
            return self._probabilities(torch.cat([self.plain_window_logits(row, [0], len(row)) for row in batch]))
        inputs = torch.from_numpy(batch).to(self.device)
        if self.normalize:
            inputs = normalise_windows(inputs)
        with autocast(self.device):
            logits = self.model(input_values=inputs).logits
        return self._probabilities(logits)

    def _probabilities(self, logits: torch.Tensor, temperature: float | None = None) -> np.ndarray:
        """Calibrated probabilities in ``labels`` order."""
        temperature = self.temperature if temperature is None else temperature
        probabilities = torch.softmax(logits.float() / temperature, dim=-1)[:, self.column_order]
        return probabilities.cpu().numpy()
