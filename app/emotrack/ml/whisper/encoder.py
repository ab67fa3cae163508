"""One pass of Whisper's encoder over a whole clip, as frame features at 50 Hz.

Whisper was trained on 30 s inputs; its encoder still works on shorter ones when the
positional table is cut to the input's length (the classifier heads trained on top of
it see the same cut). A clip is therefore encoded in equal chunks of at most
``config.max_source_positions`` frames, each chunk at its own length (no padding to
30 s, which would cost 10x on a 3 s line), and the chunks' frames are concatenated.

Analysis windows then pool frames from this one encoding instead of encoding every
overlapping window again: with 0.9 s windows at 0.45 s hop that halves the work, and
the same encoding can feed every model that listens to the clip.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from transformers.models.whisper.modeling_whisper import WhisperEncoder

SAMPLE_RATE = 16000
MEL_HOP = 160  # samples per mel frame (10 ms)
FRAME_SAMPLES = 2 * MEL_HOP  # samples per encoder frame (20 ms): conv2 has stride 2
N_FFT = 400
# Chunks kept in memory by content (at most 10 s each, ~7 MB in fp32 for Whisper base):
# two minutes of dialogue, so a line analysed for emotion is not encoded again for the face.
MEMO_CHUNKS = 12


def frame_count(n_samples: int) -> int:
    """Encoder frames that cover ``n_samples`` (the last one may be partly past the end)."""
    return max(1, math.ceil(n_samples / FRAME_SAMPLES))


@dataclass
class ClipEncoding:
    """Hidden states of the encoder for (part of) a clip: ``[layers + 1, frames, d_model]``
    (index 0 is the input embedding, the last is after the final layer norm, as in
    ``transformers``' ``output_hidden_states``). Row ``i`` is the clip's frame
    ``first_frame + i``; frame ``f`` covers samples ``[320 f, 320 (f + 1))``."""

    hidden_states: torch.Tensor
    n_samples: int
    first_frame: int = 0

    @property
    def n_frames(self) -> int:
        return self.hidden_states.shape[1]

    def frame_range(self, start: int, window: int) -> tuple[int, int]:
        """Rows ``[first, last)`` that a window of ``window`` samples at ``start`` overlaps
        (at least one, the nearest, for a window wholly outside the encoded frames)."""
        first = min(max(0, start // FRAME_SAMPLES - self.first_frame), self.n_frames - 1)
        end = -(-(start + window) // FRAME_SAMPLES) - self.first_frame
        return first, max(first + 1, min(self.n_frames, end))


def chunk_plan(n_samples: int, chunk_frames: int) -> list[tuple[int, int, int]]:
    """How a clip is cut for the encoder: ``(chunk_start, chunk_frames, keep_from)``
    per chunk, in frames. Chunks lie on a fixed grid from the clip's start, so encoding
    any span of the clip gives the same frames as encoding all of it. A last chunk
    shorter than half a chunk is instead encoded as a full chunk ending at the clip's
    end (keeping only its new frames): a runt of a few frames would lack context."""
    total = frame_count(n_samples)
    plan = []
    for begin in range(0, total, chunk_frames):
        length = min(chunk_frames, total - begin)
        if begin > 0 and length < chunk_frames // 2:
            plan.append((total - chunk_frames, chunk_frames, begin))
        else:
            plan.append((begin, length, begin))
    return plan


class WhisperClipEncoder(nn.Module):
    """Log-mel front end + ``WhisperEncoder``, run chunk by chunk over a whole clip."""

    def __init__(self, encoder: WhisperEncoder, mel_filters: np.ndarray) -> None:
        """``mel_filters``: ``[n_fft // 2 + 1, n_mels]``, as ``WhisperFeatureExtractor.mel_filters``."""
        super().__init__()
        self.encoder = encoder
        self.register_buffer("mel_filters", torch.from_numpy(np.asarray(mel_filters, np.float32).T.copy()),
                             persistent=False)
        self.register_buffer("stft_window", torch.hann_window(N_FFT), persistent=False)
        # The chunks encoded last, by content: consecutive spans of a long clip share the
        # chunk at their boundary, and the face reads the very chunks that the emotion
        # analysis has just encoded, so each is encoded once. Guarded by a lock because
        # the app's analysis and face workers share one model.
        self._memo: OrderedDict[bytes, torch.Tensor] = OrderedDict()
        self._memo_lock = threading.Lock()

    @property
    def max_frames(self) -> int:
        return self.encoder.config.max_source_positions

    @property
    def chunk_samples(self) -> int:
        return self.max_frames * FRAME_SAMPLES

    def log_mel(self, chunks: torch.Tensor) -> torch.Tensor:
        """Whisper's log-mel spectrogram of ``[batch, samples]`` audio: ``[batch, n_mels, samples / 160]``,
        clamped to 8 (log10) below each chunk's peak and scaled as Whisper expects."""
        stft = torch.stft(chunks, N_FFT, MEL_HOP, window=self.stft_window, return_complex=True)
        power = stft[..., :-1].abs() ** 2
        mel = torch.clamp(self.mel_filters @ power, min=1e-10).log10()
        peak = mel.amax(dim=(-2, -1), keepdim=True)
        return (torch.maximum(mel, peak - 8.0) + 4.0) / 4.0

    def forward_chunks(self, chunks: torch.Tensor, n_layers: int | None = None) -> torch.Tensor:
        """Hidden states ``[layers + 1, batch, frames, d_model]`` of equal-length chunks
        ``[batch, samples]`` (samples a multiple of 320, at most ``max_frames`` frames).
        ``n_layers`` stops early: states past it are not computed (nor returned)."""
        encoder = self.encoder
        mel = self.log_mel(chunks)
        x = nn.functional.gelu(encoder.conv1(mel))
        x = nn.functional.gelu(encoder.conv2(x)).permute(0, 2, 1)
        if x.shape[1] > self.max_frames:
            raise ValueError(f"chunk of {x.shape[1]} frames exceeds the encoder's {self.max_frames}")
        return self.extend_states((x + encoder.embed_positions.weight[: x.shape[1]])[None], n_layers)

    def extend_states(self, states: torch.Tensor, n_layers: int | None = None) -> torch.Tensor:
        """``states`` ``[k + 1, batch, frames, d_model]`` (the input embedding and the first
        ``k`` layers' outputs) run on through the layers after them, up to ``n_layers``
        (default: all; the last layer's output then gets the final layer norm, as in
        ``transformers``). States already that deep come back cut to ``n_layers``."""
        encoder = self.encoder
        n_layers = len(encoder.layers) if n_layers is None else n_layers
        known = states.shape[0] - 1
        if n_layers <= known:
            return states[:n_layers + 1]
        x, more = states[-1], []
        for layer in encoder.layers[known:n_layers]:
            x = layer(x, None)
            more.append(x)
        if n_layers == len(encoder.layers):
            more[-1] = encoder.layer_norm(x)
        return torch.cat([states, torch.stack(more)])

    def encode(self, samples: np.ndarray | torch.Tensor, first_sample: int = 0,
               end_sample: int | None = None, n_layers: int | None = None) -> ClipEncoding:
        """Hidden states of a mono 16 kHz clip for the frames that cover samples
        ``[first_sample, end_sample)`` (default: all), chunked by :func:`chunk_plan`."""
        device = self.stft_window.device
        dtype = self.encoder.conv1.weight.dtype
        samples = torch.as_tensor(np.asarray(samples, dtype=np.float32)).to(device)
        n_samples = len(samples)
        end_sample = n_samples if end_sample is None else min(end_sample, n_samples)
        first_frame = min(max(0, first_sample) // FRAME_SAMPLES, frame_count(n_samples) - 1)
        end_frame = max(first_frame + 1, -(-end_sample // FRAME_SAMPLES))
        pieces = []
        for begin, length, keep_from in chunk_plan(n_samples, self.max_frames):
            if begin + length <= first_frame or keep_from >= end_frame:
                continue
            chunk = samples[begin * FRAME_SAMPLES:(begin + length) * FRAME_SAMPLES]
            chunk = nn.functional.pad(chunk, (0, length * FRAME_SAMPLES - len(chunk)))
            states = self._encode_chunk(chunk.to(dtype), n_layers)
            lo, hi = max(keep_from, first_frame), min(begin + length, end_frame)
            pieces.append(states[:, lo - begin:hi - begin])
        return ClipEncoding(torch.cat(pieces, dim=1), n_samples, first_frame)

    def forget(self) -> None:
        """Drop the remembered chunks (a benchmark timing the encoder, not the memo)."""
        with self._memo_lock:
            self._memo.clear()

    def _weights_version(self) -> bytes | None:
        """Changes whenever the encoder's weights do (an optimizer step, load_state_dict,
        a move to another device), so that the memo never returns stale states; None
        when that cannot be told (weights created in inference mode have no version)."""
        try:
            return repr([(p.data_ptr(), p._version) for p in self.encoder.parameters()]).encode()
        except RuntimeError:
            return None

    def _encode_chunk(self, chunk: torch.Tensor, n_layers: int | None) -> torch.Tensor:
        """The chunk's states up to ``n_layers``. The memo keeps the deepest states computed
        for a chunk, so a caller that needs more layers (the face, after an emotion analysis
        that stopped at the layers its heads read) runs only the layers still missing."""
        n_layers = len(self.encoder.layers) if n_layers is None else n_layers
        weights = self._weights_version()
        key = None if weights is None else hashlib.sha1(chunk.detach().cpu().numpy().tobytes()).digest() + weights
        remember = key is not None and not torch.is_grad_enabled()
        known = None
        if remember:
            with self._memo_lock:
                known = self._memo.get(key)
                if known is not None:
                    self._memo.move_to_end(key)
        if known is not None and known.shape[0] > n_layers:
            return known[:n_layers + 1]
        if known is None:
            states = self.forward_chunks(chunk[None], n_layers)[:, 0]
        else:
            states = self.extend_states(known[:, None], n_layers)[:, 0]
        if remember:
            with self._memo_lock:
                stored = self._memo.get(key)
                # Another thread (the face beside an analysis) may have stored deeper states meanwhile.
                if stored is None or stored.shape[0] < states.shape[0]:
                    self._memo[key] = states
                self._memo.move_to_end(key)
                while len(self._memo) > MEMO_CHUNKS:
                    self._memo.popitem(last=False)
        return states
