"""VQScore: reference-free speech quality from a VQ-VAE trained on clean speech only.

Method of Fu et al., "Self-supervised speech quality estimation and enhancement using
only clean speech" (ICLR 2024; US 2025/0266052; reference code JasonSWFu/VQscore).
A 1-D convolutional VQ-VAE learns to reconstruct clean magnitude spectra through a
cosine-similarity codebook. Frames unlike clean speech land far from every code, so the
cosine between a frame's encoding ``z_t`` and its nearest code ``zq_t`` measures how
speech-like (clean) that frame is; VQScore is the mean of that cosine over frames.

This file is self-contained in the transformers manner: ``VQScoreConfig`` holds every
hyperparameter, ``VQScoreModel`` reads only its config, ``save_pretrained`` /
``from_pretrained`` round-trip a directory holding ``config.json`` + ``model.safetensors``.
``QualityEstimator`` wraps a model for numpy-in, numbers-out scoring.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emotrack.ml.checkpoint import DataclassConfig, load_checkpoint, save_checkpoint
from emotrack.ml.device import resolve_device
from emotrack.ml.quality.mos_estimator import MOSEstimator, checked_mono, default_mos_model_dir, holds_estimator


@dataclass
class VQScoreConfig(DataclassConfig):
    """Hyperparameters of the quality VQ-VAE (defaults = the reference QE settings)."""

    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 256
    # Channels of the first four encoder convs; the last two output ``codebook_dim``.
    hidden_channels: tuple[int, int, int, int] = (128, 128, 64, 64)
    kernel_size: int = 7
    leaky_relu_slope: float = 0.3
    codebook_size: int = 2048
    codebook_dim: int = 32
    ema_decay: float = 0.8
    kmeans_iterations: int = 10
    commitment_weight: float = 1.0
    reconstruction_weight: float = 45.0
    # Frame-score threshold under which audio is flagged as degraded; calibrated on
    # held-out speech after training (see the model card) and used as the CLI default.
    flag_threshold: float = 0.5
    model_type: str = "vqscore"

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1


def magnitude_spectrogram(waveform: torch.Tensor, config: VQScoreConfig) -> torch.Tensor:
    """Linear magnitude STFT, [batch, samples] -> [batch, bins, frames].

    Linear (not log) magnitude with a 1e-7 floor under the power, as in the reference:
    the floor keeps sqrt differentiable on digital silence.
    """
    window = torch.hann_window(config.n_fft, device=waveform.device, dtype=waveform.dtype)
    spectrum = torch.stft(waveform, n_fft=config.n_fft, hop_length=config.hop_length,
                          win_length=config.n_fft, window=window, center=True,
                          return_complex=True)
    return torch.sqrt(torch.clamp(spectrum.real ** 2 + spectrum.imag ** 2, min=1e-7))


def _conv(in_channels: int, out_channels: int, kernel_size: int) -> nn.Conv1d:
    return nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)


class VQScoreEncoder(nn.Module):
    """Six convs 257→128→128→64→64→d→d; LeakyReLU + InstanceNorm after all but the last.

    Residual sums (conv1+conv2 feeds conv3, conv3+conv4 feeds conv5) follow the reference.
    """

    def __init__(self, config: VQScoreConfig):
        super().__init__()
        c1, c2, c3, c4 = config.hidden_channels
        d = config.codebook_dim
        k = config.kernel_size
        self.input_norm = nn.InstanceNorm1d(config.n_bins)
        self.convs = nn.ModuleList([_conv(config.n_bins, c1, k), _conv(c1, c2, k),
                                    _conv(c2, c3, k), _conv(c3, c4, k),
                                    _conv(c4, d, k), _conv(d, d, k)])
        self.norms = nn.ModuleList([nn.InstanceNorm1d(c) for c in (c1, c2, c3, c4, d)])
        self.activation = nn.LeakyReLU(config.leaky_relu_slope)

    def _block(self, index: int, x: torch.Tensor) -> torch.Tensor:
        return self.norms[index](self.activation(self.convs[index](x)))

    def forward(self, magnitude: torch.Tensor) -> torch.Tensor:
        x = self.input_norm(magnitude)
        h1 = self._block(0, x)
        h2 = self._block(1, h1)
        h3 = self._block(2, h1 + h2)
        h4 = self._block(3, h3)
        h5 = self._block(4, h3 + h4)
        return self.convs[5](h5)


class VQScoreDecoder(nn.Module):
    """Mirror of the encoder (d→d→64→64→128→128→257), no normalisation, ReLU output.

    Residual sums join the equal-width pairs (64+64 feeds the first 128 conv, 128+128
    feeds the output conv), mirroring the encoder's.
    """

    def __init__(self, config: VQScoreConfig):
        super().__init__()
        c1, c2, c3, c4 = config.hidden_channels
        d = config.codebook_dim
        k = config.kernel_size
        self.convs = nn.ModuleList([_conv(d, d, k), _conv(d, c4, k), _conv(c4, c3, k),
                                    _conv(c3, c2, k), _conv(c2, c1, k),
                                    _conv(c1, config.n_bins, k)])
        self.activation = nn.LeakyReLU(config.leaky_relu_slope)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        h1 = self.activation(self.convs[0](codes))
        h2 = self.activation(self.convs[1](h1))
        h3 = self.activation(self.convs[2](h2))
        h4 = self.activation(self.convs[3](h2 + h3))
        h5 = self.activation(self.convs[4](h4))
        # Magnitudes are non-negative.
        return F.relu(self.convs[5](h4 + h5))


def cosine_kmeans(vectors: torch.Tensor, n_clusters: int, iterations: int,
                  generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Spherical k-means: unit-norm centroids [n_clusters, dim] and cluster sizes.

    ``vectors`` must be L2-normalised. A cluster left empty keeps its previous centroid.
    """
    count = vectors.shape[0]
    if count >= n_clusters:
        start = torch.randperm(count, generator=generator)[:n_clusters]
    else:
        start = torch.randint(count, (n_clusters,), generator=generator)
    centroids = vectors[start].clone()
    sizes = torch.zeros(n_clusters, dtype=vectors.dtype)
    for _ in range(iterations):
        assignment = (vectors @ centroids.T).argmax(dim=1)
        sizes = torch.bincount(assignment, minlength=n_clusters).to(vectors.dtype)
        sums = torch.zeros_like(centroids).index_add_(0, assignment, vectors)
        updated = F.normalize(sums, dim=1)
        centroids = torch.where((sizes > 0)[:, None], updated, centroids)
    return centroids, sizes


class CosineCodebook(nn.Module):
    """Vector quantiser with cosine lookup, k-means init and EMA updates (no gradients).

    Codes and inputs are L2-normalised, so the nearest code is the one of highest cosine.
    """

    def __init__(self, size: int, dim: int, ema_decay: float, kmeans_iterations: int,
                 commitment_weight: float):
        super().__init__()
        self.decay = ema_decay
        self.kmeans_iterations = kmeans_iterations
        self.commitment_weight = commitment_weight
        self.register_buffer("embed", F.normalize(torch.randn(size, dim), dim=1))
        self.register_buffer("embed_sum", self.embed.clone())
        self.register_buffer("cluster_size", torch.zeros(size))
        # Stored as a tensor so a saved checkpoint remembers it was initialised.
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def kmeans_init(self, unit_vectors: torch.Tensor) -> None:
        centroids, sizes = cosine_kmeans(unit_vectors, self.embed.shape[0],
                                         self.kmeans_iterations)
        self.embed.copy_(centroids)
        self.embed_sum.copy_(centroids)
        self.cluster_size.copy_(sizes)
        self.initialized.fill_(True)

    @torch.no_grad()
    def ema_update(self, unit_vectors: torch.Tensor, indices: torch.Tensor) -> None:
        counts = torch.bincount(indices, minlength=self.embed.shape[0]).to(unit_vectors.dtype)
        sums = torch.zeros_like(self.embed).index_add_(0, indices, unit_vectors)
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        # Dividing by the cluster size would not change the direction. An unused code's
        # sum shrinks but keeps its direction; after ~400 unused steps it underflows to
        # zero and the code (cosine 0 to everything) is effectively retired.
        self.embed.copy_(F.normalize(self.embed_sum, dim=1))

    def forward(self, latents: torch.Tensor) -> dict[str, torch.Tensor]:
        """Quantise [batch, dim, frames] latents.

        Returns ``quantized`` (straight-through, [batch, dim, frames]), ``indices``
        [batch, frames], ``frame_cosine`` [batch, frames] = cos(z_t, zq_t),
        ``code_similarity`` [batch, frames, codes] (cosine to every code, differentiable
        in z: the enhancer's adversarial training uses it as logits), and
        ``commitment_loss`` (MSE between normalised z and the stop-gradient code).
        """
        batch, dim, frames = latents.shape
        unit = F.normalize(latents.transpose(1, 2).reshape(-1, dim), dim=1)
        if self.training and not bool(self.initialized):
            self.kmeans_init(unit.detach())
        similarity = unit @ self.embed.T
        frame_cosine, indices = similarity.max(dim=1)
        codes = self.embed[indices]
        if self.training:
            self.ema_update(unit.detach(), indices)
        commitment = F.mse_loss(unit, codes.detach()) * self.commitment_weight
        # Straight-through estimator: forward uses the code, backward passes to z.
        straight_through = unit + (codes - unit).detach()
        return {
            "quantized": straight_through.reshape(batch, frames, dim).transpose(1, 2),
            "indices": indices.reshape(batch, frames),
            "frame_cosine": frame_cosine.reshape(batch, frames),
            "code_similarity": similarity.reshape(batch, frames, -1),
            "commitment_loss": commitment,
        }


class VQScoreModel(nn.Module):
    """Encoder → cosine codebook → decoder over magnitude spectrograms."""

    def __init__(self, config: VQScoreConfig):
        super().__init__()
        self.config = config
        self.encoder = VQScoreEncoder(config)
        self.quantizer = CosineCodebook(config.codebook_size, config.codebook_dim,
                                        config.ema_decay, config.kmeans_iterations,
                                        config.commitment_weight)
        self.decoder = VQScoreDecoder(config)

    def forward(self, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        """[batch, samples] waveform -> losses, frame cosines and reconstruction."""
        magnitude = magnitude_spectrogram(waveform, self.config)
        latents = self.encoder(magnitude)
        quantized = self.quantizer(latents)
        reconstruction = self.decoder(quantized["quantized"])
        # The reference loss: negative mean per-frame cosine between X and X̂ (over bins).
        reconstruction_cosine = F.cosine_similarity(reconstruction, magnitude, dim=1).mean()
        loss = (-self.config.reconstruction_weight * reconstruction_cosine
                + quantized["commitment_loss"])
        return {
            "loss": loss,
            "reconstruction_cosine": reconstruction_cosine,
            "commitment_loss": quantized["commitment_loss"],
            "frame_cosine": quantized["frame_cosine"],
            "indices": quantized["indices"],
            "reconstruction": reconstruction,
            "magnitude": magnitude,
        }

    @torch.no_grad()
    def frame_scores(self, waveform: torch.Tensor) -> torch.Tensor:
        """[batch, samples] -> [batch, frames] cos(z_t, zq_t), without touching the codebook."""
        latents = self.encoder(magnitude_spectrogram(waveform, self.config))
        unit = F.normalize(latents, dim=1)
        # [batch, frames, codes], reduced along its contiguous last axis: 4x faster on CPU
        # than reducing [batch, codes, frames] along the codes.
        return (unit.transpose(1, 2) @ self.quantizer.embed.T).amax(dim=2)

    def save_pretrained(self, directory: str | Path) -> None:
        save_checkpoint(self, self.config.to_dict(), directory)

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str | torch.device = "cpu"
                        ) -> VQScoreModel:
        return load_checkpoint(lambda values: cls(VQScoreConfig.from_dict(values)), directory,
                               "quality model", device)


@dataclass
class QualityScore:
    """VQScore of a clip, with the per-frame curve it averages, and the supervised
    estimator's PESQ-wb and STOI estimates (None without that model)."""

    vqscore: float
    frame_scores: np.ndarray  # cos(z_t, zq_t) per STFT frame, in [-1, 1]
    frame_times: np.ndarray  # centre time of each frame, seconds
    estimated_pesq: float | None = None
    estimated_stoi: float | None = None


def default_quality_model_dir() -> Path:
    from emotrack.resources import resource_path

    return resource_path("models", "quality")


class QualityEstimator:
    """Scores 16 kHz mono audio: VQScore per frame (``model``) and, when ``mos`` is given,
    the supervised estimator's PESQ-wb and STOI (``mos_estimator``), the product's
    quality figure. One object, so every caller (CLI, app, batch) reports both."""

    def __init__(self, model: VQScoreModel, device: torch.device | str = "cpu", mos: MOSEstimator | None = None):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.mos = mos

    @property
    def sample_rate(self) -> int:
        return self.model.config.sample_rate

    @classmethod
    def from_pretrained(cls, directory: str | Path | None = None, device: str | None = None,
                        mos_directory: str | Path | None = None) -> QualityEstimator:
        """VQScore from ``directory`` or, by default, the bundled ``resources/models/quality``;
        the supervised estimator from ``mos_directory`` or the bundled
        ``resources/models/quality-mos`` (left out if neither exists).

        ``device``: "auto" (default), "cpu", "cuda", "cuda:N".
        """
        resolved = resolve_device(device)
        model = VQScoreModel.from_pretrained(directory or default_quality_model_dir(), resolved)
        if mos_directory is None and holds_estimator(default_mos_model_dir()):
            mos_directory = default_mos_model_dir()
        mos = MOSEstimator.from_pretrained(mos_directory, resolved) if mos_directory is not None else None
        return cls(model, resolved, mos)

    def score(self, samples_16k: np.ndarray) -> QualityScore:
        samples = checked_mono(samples_16k)
        waveform = torch.from_numpy(samples).to(self.device)[None]
        frames = self.model.frame_scores(waveform)[0].cpu().numpy().astype(np.float64)
        hop = self.model.config.hop_length
        # center=True: frame t is centred on sample t * hop.
        times = np.arange(frames.size) * hop / self.sample_rate
        estimate = self.mos.score(samples) if self.mos is not None else None
        return QualityScore(vqscore=float(frames.mean()), frame_scores=frames, frame_times=times,
                            estimated_pesq=None if estimate is None else estimate.pesq,
                            estimated_stoi=None if estimate is None else estimate.stoi)
