"""The supervised speech-quality estimator: PESQ-wb and STOI predicted without a reference.

VQScore (``vqscore.py``) knows only clean speech and judges how far a frame is from it;
this network was shown degraded speech with the scores that PESQ-wb and STOI give it
against the clean original (``mos_corpus.py``), and learned to predict those scores from
the degraded signal alone. It is the product's quality estimate; VQScore stays
available as a named score.

Input: a log-mel spectrogram (64 bands, 16 ms hop, the same frames as VQScore) in dB
relative to the clip's own speech level (the 95th percentile of frame energies), so a
quiet recording and a loud one of the same quality look alike while the noise floor,
the spectral shape (band limits, codecs) and reverberant tails stay visible; plus one
channel with the share of each frame's samples stuck at the clip's peak (hard clipping
leaves flat tops that a spectrogram hides in harmonics).

Network: dilated residual 1-D convolutions over time (receptive field about 1.1 s, long
enough to see a reverberant tail); the clip's PESQ and STOI come from an MLP on the mean
and standard deviation of every channel over the clip (``pooling="statistics"``: the
contrast between speech and pauses, wherever they are), or from attention over
per-frame scores (``"attention"``, measured worse; see the model card). A per-frame head
(PESQ, STOI) is trained towards the clip's scores, so its curve is a local estimate the
quality lane can draw.

Self-contained in the transformers manner: ``MOSConfig`` holds every hyperparameter and
``MOSNet.save_pretrained`` / ``from_pretrained`` round-trip a folder holding
``config.json`` + ``model.safetensors``; ``MOSEstimator`` wraps it for numpy in,
numbers out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emotrack.errors import AudioError, ModelError
from emotrack.ml.checkpoint import DataclassConfig, load_checkpoint, save_checkpoint
from emotrack.ml.device import resolve_device

ENSEMBLE_FILE = "ensemble.json"
PESQ_RANGE = (1.04, 4.64)  # PESQ-wb's (MOS-LQO) output range
FLOOR_DB = -80.0  # features below the speech level by more than this are clamped


@dataclass
class MOSConfig(DataclassConfig):
    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 256
    n_mels: int = 64
    hidden_channels: int = 64
    kernel_size: int = 5
    dilations: tuple[int, ...] = (1, 2, 4, 8, 1)
    dropout: float = 0.1
    # How frames become the clip's scores: "statistics" (an MLP on the mean and standard
    # deviation of every hidden channel over time: the whole clip's contrast between
    # speech and pauses at once) or "attention" (a learned weighting of the frame scores).
    pooling: str = "statistics"
    # Smoothed frame PESQ below which the app flags a region (see the model card).
    flag_threshold: float = 2.0
    model_type: str = "mos-estimator"

    @property
    def in_channels(self) -> int:
        return self.n_mels + 1


class MOSFeatures(nn.Module):
    """Samples ``[batch, samples]`` -> features ``[batch, n_mels + 1, frames]``."""

    def __init__(self, config: MOSConfig):
        super().__init__()
        from transformers.audio_utils import mel_filter_bank

        self.config = config
        filters = mel_filter_bank(num_frequency_bins=config.n_fft // 2 + 1, num_mel_filters=config.n_mels,
                                  min_frequency=0.0, max_frequency=config.sample_rate / 2,
                                  sampling_rate=config.sample_rate, norm="slaney", mel_scale="slaney")
        self.register_buffer("mel_filters", torch.from_numpy(filters.T.astype(np.float32)), persistent=False)
        self.register_buffer("window", torch.hann_window(config.n_fft), persistent=False)

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        config = self.config
        spectrum = torch.stft(waveform, config.n_fft, config.hop_length, window=self.window, center=True,
                              return_complex=True).abs() ** 2
        mel_db = 10.0 * torch.log10(self.mel_filters @ spectrum + 1e-10)
        frame_db = 10.0 * torch.log10(spectrum.sum(dim=1) + 1e-10)
        valid = frame_mask(lengths, waveform.shape[0], mel_db.shape[-1], config.hop_length, waveform.device)
        reference = torch.stack([torch.quantile(frame_db[b][valid[b]], 0.95) for b in range(waveform.shape[0])])
        mel = (mel_db - reference[:, None, None]).clamp(min=FLOOR_DB) / 20.0
        return torch.cat([mel, self._peak_share(waveform)[:, None, : mel.shape[-1]]], dim=1)

    def _peak_share(self, waveform: torch.Tensor) -> torch.Tensor:
        """Per frame, the share of samples within 0.1 % of the clip's absolute peak (x 10,
        so a frame with a tenth of its samples clipped reads 1). Zero padding never
        reaches the peak."""
        magnitude = waveform.abs()
        peak = magnitude.amax(dim=1, keepdim=True).clamp(min=1e-8)
        at_peak = (magnitude >= 0.999 * peak).float()
        hop = self.config.hop_length
        padded = F.pad(at_peak[:, None], (hop // 2, hop))[:, 0]
        frames = (padded.shape[1] - hop) // hop + 1
        return padded[:, : frames * hop].reshape(padded.shape[0], frames, hop).mean(dim=2) * 10.0


def frame_mask(lengths: torch.Tensor | None, batch: int, frames: int, hop: int, device: torch.device
               ) -> torch.Tensor:
    """``[batch, frames]``: True where a frame's centre lies inside its clip (all True
    without ``lengths``, i.e. when no clip in the batch is padded)."""
    if lengths is None:
        return torch.ones(batch, frames, dtype=torch.bool, device=device)
    centres = torch.arange(frames, device=device) * hop
    return centres[None, :] < lengths.to(device)[:, None]


class ChannelNorm(nn.LayerNorm):
    """LayerNorm over the channels of each frame of ``[batch, channels, frames]``: unlike a
    norm over time, it gives a frame the same value whether or not the batch is padded."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel_size, padding=dilation * (kernel_size - 1) // 2,
                              dilation=dilation)
        self.norm = ChannelNorm(channels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.dropout(F.gelu(self.norm(self.conv(x))))


@dataclass
class MOSOutput:
    pesq: torch.Tensor  # [batch] clip PESQ-wb estimate
    stoi: torch.Tensor  # [batch] clip STOI estimate
    frame_pesq: torch.Tensor  # [batch, frames]
    frame_stoi: torch.Tensor  # [batch, frames]
    mask: torch.Tensor  # [batch, frames] valid frames


class MOSNet(nn.Module):
    def __init__(self, config: MOSConfig):
        super().__init__()
        self.config = config
        self.features = MOSFeatures(config)
        hidden = config.hidden_channels
        self.input = nn.Conv1d(config.in_channels, hidden, config.kernel_size, padding=config.kernel_size // 2)
        self.blocks = nn.ModuleList(ResidualBlock(hidden, config.kernel_size, d, config.dropout)
                                    for d in config.dilations)
        self.frame_head = nn.Conv1d(hidden, 2, 1)  # PESQ and STOI logits per frame
        if config.pooling == "attention":
            self.attention = nn.Conv1d(hidden, 1, 1)
        elif config.pooling == "statistics":
            self.clip_head = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.GELU(), nn.Linear(hidden, 2))
        else:
            raise ValueError(f"pooling must be 'statistics' or 'attention', got {config.pooling!r}")

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor | None = None) -> MOSOutput:
        """``waveform`` [batch, samples] (zero-padded past ``lengths``, if given)."""
        features = self.features(waveform, lengths)
        mask = frame_mask(lengths, features.shape[0], features.shape[-1], self.config.hop_length, features.device)
        return self.score_features(features, mask)

    def score_features(self, features: torch.Tensor, mask: torch.Tensor) -> MOSOutput:
        """The network after its (parameter-free) features: training computes those once.

        Frames past a clip's end are zeroed after every layer, which is exactly what a
        convolution's zero padding does at the end of an unpadded clip: a clip scores
        the same alone or padded in a batch."""
        keep = mask[:, None].to(features.dtype)
        x = F.gelu(self.input(features * keep)) * keep
        for block in self.blocks:
            x = block(x) * keep
        logits = self.frame_head(x)
        low, high = PESQ_RANGE
        frame_pesq = low + (high - low) * torch.sigmoid(logits[:, 0])
        frame_stoi = torch.sigmoid(logits[:, 1])
        if self.config.pooling == "attention":
            weights = self.attention(x)[:, 0].masked_fill(~mask, float("-inf")).softmax(dim=-1)
            pesq, stoi = (weights * frame_pesq).sum(dim=-1), (weights * frame_stoi).sum(dim=-1)
        else:
            count = keep.sum(dim=-1)
            mean = x.sum(dim=-1) / count
            spread = (((x - mean[..., None]) * keep) ** 2).sum(dim=-1) / count
            clip = self.clip_head(torch.cat([mean, (spread + 1e-6).sqrt()], dim=1))
            pesq, stoi = low + (high - low) * torch.sigmoid(clip[:, 0]), torch.sigmoid(clip[:, 1])
        return MOSOutput(pesq=pesq, stoi=stoi, frame_pesq=frame_pesq, frame_stoi=frame_stoi, mask=mask)

    def save_pretrained(self, directory: str | Path, half: bool = False) -> None:
        """``half``: store fp16 weights (what ships; loading casts them back)."""
        save_checkpoint(self, self.config.to_dict(), directory, half)

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str | torch.device = "cpu") -> MOSNet:
        return load_checkpoint(lambda values: cls(MOSConfig.from_dict(values)), directory,
                               "quality estimator", device)


@dataclass
class MOSScore:
    """Estimated PESQ-wb (1.04-4.64, higher = better) and STOI (0-1) of a clip, with the
    per-frame curves (frame i centred at ``frame_times[i]``)."""

    pesq: float
    stoi: float
    frame_pesq: np.ndarray
    frame_times: np.ndarray


def checked_mono(samples: np.ndarray) -> np.ndarray:
    """float32 mono samples fit to score, or the AudioError that says why not."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise AudioError(f"expected mono samples, got shape {samples.shape}")
    if samples.size == 0:
        raise AudioError("cannot score empty audio")
    if not np.all(np.isfinite(samples)):
        raise AudioError("audio contains NaN or infinite samples")
    return samples


def default_mos_model_dir() -> Path:
    from emotrack.resources import resource_path

    return resource_path("models", "quality-mos")


def holds_estimator(directory: str | Path) -> bool:
    """Whether ``directory`` looks like an estimator folder: one network or an ensemble."""
    directory = Path(directory)
    return (directory / "config.json").is_file() or (directory / ENSEMBLE_FILE).is_file()


class MOSEstimator:
    """Scores 16 kHz mono audio with one trained :class:`MOSNet` or the mean of several.

    A model folder holds one network (``config.json`` + ``model.safetensors``) or an
    ensemble: ``ensemble.json`` naming member subfolders (``{"members": ["a", "b"]}``),
    whose clip scores and frame curves are averaged. Members must share their front end
    (sample rate and hop), so their frame curves line up."""

    def __init__(self, model: MOSNet | Sequence[MOSNet], device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        members = [model] if isinstance(model, MOSNet) else list(model)
        if not members:
            raise ModelError("a quality estimator needs at least one network")
        timing = {(m.config.sample_rate, m.config.hop_length) for m in members}
        if len(timing) > 1:
            raise ModelError(f"the quality estimator's members disagree on sample rate and hop: {sorted(timing)}")
        self.members = [m.to(self.device).eval() for m in members]

    @classmethod
    def from_pretrained(cls, directory: str | Path | None = None, device: str | None = None) -> MOSEstimator:
        """Load from ``directory`` or the bundled ``resources/models/quality-mos``;
        ``device``: "auto" (default), "cpu", "cuda", "cuda:N"."""
        resolved = resolve_device(device)
        folder = Path(directory or default_mos_model_dir())
        ensemble = folder / ENSEMBLE_FILE
        if not ensemble.is_file():
            return cls(MOSNet.from_pretrained(folder, resolved), resolved)
        try:
            names = json.loads(ensemble.read_text())["members"]
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise TypeError("members must be a list of folder names")
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ModelError(f"unreadable {ensemble}: {error}") from error
        return cls([MOSNet.from_pretrained(folder / name, resolved) for name in names], resolved)

    @property
    def model(self) -> MOSNet:
        return self.members[0]

    @cached_property
    def config(self) -> MOSConfig:
        return self.model.config

    def score(self, samples_16k: np.ndarray) -> MOSScore:
        samples = checked_mono(samples_16k)
        with torch.inference_mode():
            waveform = torch.from_numpy(samples).to(self.device)[None]
            outputs = [member(waveform) for member in self.members]
        pesq = float(np.mean([float(o.pesq[0]) for o in outputs]))
        stoi = float(np.mean([float(o.stoi[0]) for o in outputs]))
        frames = np.mean([o.frame_pesq[0].float().cpu().numpy().astype(np.float64) for o in outputs], axis=0)
        return MOSScore(pesq=pesq, stoi=stoi, frame_pesq=frames,
                        frame_times=np.arange(frames.size) * self.config.hop_length / self.config.sample_rate)
