"""The face network (patent FIG. 3): speech encoder states + emotion track -> ARKit-52 weights.

Three stages, split so that the app re-runs only what an edit invalidates:

* :meth:`FaceNet.analysis` (once per clip): a learned softmax mix of the Whisper
  encoder's hidden-state layers, a projection to ``d_model``, then residual dilated
  1-D convolutions whose receptive field covers ~0.5 s around each 50 Hz frame (as
  Audio2Face's analysis window does). Its output does not depend on the emotions, so
  it is cached per clip.
* :meth:`FaceNet.articulate` (again on every keyframe edit): the per-frame emotion
  vector modulates the features at the stage's start (FiLM) and is concatenated again at
  its end, so emotion reaches both the articulation and the output directly; then the
  output layer (sigmoid -> [0, 1] ARKit weights) and a linear resampling from the
  encoder's 50 Hz to the requested fps.

Shapes: hidden states ``[layers, frames, width]`` or batched ``[batch, layers, frames,
width]``; emotions ``[frames, 6]`` / ``[6]`` (or batched), in ``EMOTIONS`` order, at the
encoder's frame rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from emotrack.core.emotions import EMOTIONS
from emotrack.core.face_arkit import ARKIT_NAMES
from emotrack.errors import ParameterError
from emotrack.ml.checkpoint import DataclassConfig

ENCODER_FPS = 50.0  # Whisper encoder frames per second (20 ms hop)


@dataclass
class FaceNetConfig(DataclassConfig):
    n_layers_in: int = 7  # hidden states the encoder hands over (embeddings + 6 blocks)
    width_in: int = 512  # the encoder's d_model
    d_model: int = 128
    kernel: int = 5
    dilations: tuple = (1, 2, 3)  # receptive field 1 + (kernel-1)*sum = 25 frames = 0.5 s
    articulation_layers: int = 2
    articulation_kernel: int = 3
    n_emotions: int = len(EMOTIONS)
    n_outputs: int = len(ARKIT_NAMES)
    dropout: float = 0.1
    input_fps: float = ENCODER_FPS

    @property
    def receptive_frames(self) -> int:
        return 1 + (self.kernel - 1) * sum(self.dilations)

    @property
    def articulation_reach(self) -> int:
        """Frames on each side that one output frame of the articulation stage reads."""
        return self.articulation_layers * (self.articulation_kernel - 1) // 2


class _ResidualConv(nn.Module):
    """Pre-norm residual 1-D convolution over time ("same" padding keeps the length)."""

    def __init__(self, d: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.conv = nn.Conv1d(d, d, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, T, d]
        y = self.conv(self.norm(x).transpose(1, 2)).transpose(1, 2)
        return x + self.drop(F.gelu(y))


def resample_frames(values: torch.Tensor, source_fps: float, fps: float) -> torch.Tensor:
    """``[B, T, C]`` at ``source_fps`` -> ``[B, round(T * fps / source_fps), C]`` at ``fps``,
    linear interpolation between the two nearest source frames (frame i sits at i / fps)."""
    if fps == source_fps:
        return values
    frames = values.shape[1]
    n_out = max(1, round(frames * fps / source_fps))
    position = torch.arange(n_out, dtype=values.dtype, device=values.device) * (source_fps / fps)
    position = position.clamp(max=frames - 1)
    low = position.floor().long()
    high = (low + 1).clamp(max=frames - 1)
    share = (position - low.to(values.dtype))[None, :, None]
    return values[:, low] * (1 - share) + values[:, high] * share


class FaceNet(nn.Module):
    def __init__(self, config: FaceNetConfig | None = None):
        super().__init__()
        self.config = config = config or FaceNetConfig()
        if config.kernel % 2 == 0 or config.articulation_kernel % 2 == 0:
            raise ParameterError("FaceNet kernels must be odd so that frames stay centred")
        d = config.d_model
        # Analysis
        self.layer_logits = nn.Parameter(torch.zeros(config.n_layers_in))
        self.project = nn.Linear(config.width_in, d)
        self.analysis_blocks = nn.ModuleList(
            _ResidualConv(d, config.kernel, dilation, config.dropout) for dilation in config.dilations)
        self.analysis_norm = nn.LayerNorm(d)
        # Articulation: FiLM at its start, concatenation at its end.
        self.film = nn.Linear(config.n_emotions, 2 * d)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)  # starts as identity: (1 + 0) * x + 0
        self.articulation_blocks = nn.ModuleList(
            _ResidualConv(d, config.articulation_kernel, 1, config.dropout)
            for _ in range(config.articulation_layers))
        self.articulation_norm = nn.LayerNorm(d)
        # Output
        self.output = nn.Linear(d + config.n_emotions, config.n_outputs)
        nn.init.constant_(self.output.bias, -3.0)  # most shapes rest near 0 (sigmoid(-3) ~ 0.05)

    # ------------------------------------------------------------------ stages
    def analysis(self, hidden: torch.Tensor) -> torch.Tensor:
        """Encoder states ``[(B,) L, T, W]`` -> features ``[(B,) T, d_model]`` (emotion-free)."""
        hidden, batched = self._batched(hidden, 4, "hidden states")
        config = self.config
        if hidden.shape[1] != config.n_layers_in or hidden.shape[3] != config.width_in:
            raise ParameterError(f"hidden states must have {config.n_layers_in} layers of width "
                                 f"{config.width_in}, got shape {list(hidden.shape)}")
        mix = torch.softmax(self.layer_logits, 0).to(hidden.dtype)
        x = self.project(torch.einsum("l,bltw->btw", mix, hidden).to(self.project.weight.dtype))
        for block in self.analysis_blocks:
            x = block(x)
        x = self.analysis_norm(x)
        return x if batched else x[0]

    def articulate(self, features: torch.Tensor, emotions, fps: float = 30.0) -> torch.Tensor:
        """Features ``[(B,) T, d]`` + emotions ``[(B,) T, 6]`` or ``[6]`` -> ARKit weights
        ``[(B,) T', 52]`` in [0, 1] at ``fps`` (``T' = round(T * fps / 50)``)."""
        features, batched = self._batched(features, 3, "features")
        emotions = self._emotions(emotions, features)
        gamma, beta = self.film(emotions).chunk(2, dim=-1)
        x = features * (1 + gamma) + beta
        for block in self.articulation_blocks:
            x = block(x)
        x = self.articulation_norm(x)
        weights = torch.sigmoid(self.output(torch.cat([x, emotions], dim=-1)))
        if not (fps > 0 and fps == fps and fps != float("inf")):
            raise ParameterError(f"fps must be a positive number, got {fps}")
        weights = resample_frames(weights, self.config.input_fps, float(fps))
        return weights if batched else weights[0]

    def forward(self, hidden: torch.Tensor, emotions, fps: float = 30.0) -> torch.Tensor:
        return self.articulate(self.analysis(hidden), emotions, fps)

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def _batched(tensor: torch.Tensor, ndim: int, what: str) -> tuple[torch.Tensor, bool]:
        if not isinstance(tensor, torch.Tensor):
            tensor = torch.as_tensor(tensor)
        if tensor.ndim == ndim - 1:
            return tensor[None], False
        if tensor.ndim != ndim:
            raise ParameterError(f"{what} must have {ndim - 1} or {ndim} dimensions, got shape {list(tensor.shape)}")
        return tensor, True

    def _emotions(self, emotions, features: torch.Tensor) -> torch.Tensor:
        """Emotions as ``[B, T, 6]`` in the features' dtype (a ``[6]`` vector holds throughout)."""
        emotions = torch.as_tensor(emotions, dtype=features.dtype, device=features.device)
        batch, frames = features.shape[:2]
        n = self.config.n_emotions
        if emotions.ndim == 1:
            emotions = emotions.expand(batch, frames, -1)
        elif emotions.ndim == 2:
            emotions = emotions.expand(batch, -1, -1)
        if emotions.shape != (batch, frames, n):
            raise ParameterError(f"emotions must have shape [{frames}, {n}] or [{n}] for {frames} frames, "
                                 f"got {list(emotions.shape)}")
        if not torch.isfinite(emotions).all():
            raise ParameterError("emotions must be finite")
        return emotions


def build_face_net(config: dict) -> FaceNet:
    """The model for a checkpoint's ``config.json`` (see :func:`load_face_net`)."""
    return FaceNet(FaceNetConfig.from_dict(config))


def load_face_net(directory, device: str = "cpu") -> FaceNet:
    """A saved face network (fp16 weights on disk, float32 in memory); ModelError if unusable."""
    from emotrack.ml.checkpoint import load_checkpoint

    return load_checkpoint(build_face_net, directory, "face network", device).float()


def save_face_net(model: FaceNet, directory) -> None:
    """``config.json`` + fp16 ``model.safetensors`` (half the size; the weights are small)."""
    from emotrack.ml.checkpoint import save_checkpoint

    half = FaceNet(model.config)
    half.load_state_dict(model.state_dict())
    save_checkpoint(half.half(), model.config.to_dict(), directory)
