"""Window probabilities from Whisper-based classifiers: encode the clip once, pool windows.

A ``WhisperForAudioClassification`` checkpoint classifies a whole input as
``classifier(mean_t(projector(h_t)))``, where ``h_t`` is the last hidden state or,
with ``use_weighted_layer_sum``, a softmax-weighted sum of all of them. Here the same
head runs on the frames of one analysis window at a time, and all windows share one
encoding of the clip (``emotrack.ml.whisper.encoder``): overlapping windows cost
nothing extra, and the encoder hears each window in the context of its sentence.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from transformers import WhisperForAudioClassification

from emotrack.ml.device import autocast
from emotrack.ml.whisper.encoder import ClipEncoding, WhisperClipEncoder


def weighed_states(model: WhisperForAudioClassification) -> tuple[int, ...]:
    """The hidden states (0 = the input embedding) a checkpoint's own head gives any weight:
    those of its weighted layer sum whose softmax weight is not 0, or the last one."""
    config = model.config
    if not getattr(config, "use_weighted_layer_sum", False):
        return (int(config.encoder_layers),)
    weights = torch.softmax(model.layer_weights.detach().float(), dim=-1)
    return tuple(int(i) for i in torch.nonzero(weights).flatten())


class WhisperWindowScorer:
    """Logits of analysis windows for a loaded ``WhisperForAudioClassification``."""

    def __init__(self, model: WhisperForAudioClassification, mel_filters: np.ndarray) -> None:
        self.model = model
        self.clip_encoder = WhisperClipEncoder(model.encoder, mel_filters).to(model.device)

    @property
    def device(self) -> torch.device:
        return self.model.device

    def encode(self, samples: np.ndarray, first_sample: int = 0, end_sample: int | None = None,
               n_layers: int | None = None) -> ClipEncoding:
        """The clip's hidden states for the frames that cover ``[first_sample, end_sample)``,
        through the first ``n_layers`` encoder layers (default: all)."""
        with autocast(self.device):
            return self.clip_encoder.encode(samples, first_sample, end_sample, n_layers)

    def layers_read(self) -> int:
        """How many encoder layers the checkpoint's own head reads: up to the deepest hidden
        state it gives any weight."""
        return max(weighed_states(self.model))

    def frame_features(self, encoding: ClipEncoding) -> torch.Tensor:
        """``projector(h_t)`` for every frame: ``[frames, classifier_proj_size]`` (the head
        runs in fp32 on fp32 states, also when the encoder ran under fp16 autocast)."""
        config = self.model.config
        states = encoding.hidden_states.float()
        if config.use_weighted_layer_sum:
            weights = torch.softmax(self.model.layer_weights.float(), dim=-1)
            if self.layers_read() >= len(states):
                raise ValueError(f"the head reads {self.layers_read()} encoder layers; this encoding has "
                                 f"{len(states) - 1}")
            hidden = torch.einsum("l,ltd->td", weights[:len(states)], states)
        else:
            hidden = states[-1]
        return self.model.projector(hidden)

    def window_groups(self, starts: Sequence[int], window: int) -> Iterator[tuple[int, int]]:
        """``(begin, end)`` index ranges of ``starts`` to encode together: consecutive
        windows spanning at most four encoder chunks, so memory stays bounded on hour-long
        clips. The chunk grid is fixed from the clip's start, so grouping does not change
        any result."""
        span = self.clip_encoder.chunk_samples * 4
        begin, total = 0, len(starts)
        while begin < total:
            end = begin + 1
            while end < total and starts[end] + window - starts[begin] <= span:
                end += 1
            yield begin, end
            begin = end

    def encode_windows(self, samples: np.ndarray, starts: Sequence[int], window: int,
                       n_layers: int | None = None) -> ClipEncoding:
        """The clip's hidden states for the frames that the windows at ``starts`` cover."""
        starts = np.asarray(starts, dtype=np.int64)
        return self.encode(samples, int(max(0, starts.min())), int(starts.max()) + window, n_layers)

    def logits_from_encoding(self, encoding: ClipEncoding, starts: Sequence[int], window: int) -> torch.Tensor:
        """Mean of each window's frame features, through the classifier."""
        return self.model.classifier(window_pool(self.frame_features(encoding), encoding, starts, window))

    def window_means(self, encoding: ClipEncoding, starts: Sequence[int], window: int,
                     layers: Sequence[int]) -> torch.Tensor:
        """``[len(starts), d_model * len(layers)]``: each window's means of the hidden
        states ``layers``, concatenated (fp32)."""
        states = torch.cat([encoding.hidden_states[layer].float() for layer in layers], dim=-1)
        return window_pool(states, encoding, starts, window)

    def head_logits(self, samples: np.ndarray, starts: Sequence[int], window: int, head: torch.nn.Module,
                    reference: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of a window-mean head (``emotrack.ml.emotion.window_mean_head``) for the
        windows at ``starts``, relative to ``reference`` when given."""
        encoding = self.encode_windows(samples, starts, window, max(head.config.layers))
        return self.head_logits_from_encoding(encoding, starts, window,
                                              head, reference)

    def head_logits_from_encoding(self, encoding: ClipEncoding, starts: Sequence[int], window: int,
                                  head: torch.nn.Module, reference: torch.Tensor | None = None) -> torch.Tensor:
        return head(self.window_means(encoding, starts, window, head.config.layers), reference)


def window_pool(frames: torch.Tensor, encoding: ClipEncoding, starts: Sequence[int], window: int) -> torch.Tensor:
    """Mean of ``frames`` (``[encoded frames, channels]``) over each window's frames, via a
    running sum so that overlapping windows cost one pass."""
    running = torch.cat([frames.new_zeros(1, frames.shape[1]), frames.cumsum(dim=0)])
    bounds = torch.tensor([encoding.frame_range(int(s), window) for s in starts],
                          dtype=torch.long, device=frames.device).reshape(-1, 2)
    return (running[bounds[:, 1]] - running[bounds[:, 0]]) / (bounds[:, 1] - bounds[:, 0]).unsqueeze(1)
